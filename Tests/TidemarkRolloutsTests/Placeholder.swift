// Rollout tests.
