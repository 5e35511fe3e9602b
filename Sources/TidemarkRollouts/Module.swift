// Gated, staged rollouts (see RolloutDriver.swift).
