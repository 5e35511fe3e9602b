// TidemarkCulprits: which update broke the fleet. From the fleet's own evidence first (signals
// ranked into suspects in seconds), then by proof (bisection on a root, each step installed
// exactly by zypper from the archive).
//
//   SuspectFinder.swift  gathers signals, changes and states from the stores for SuspectRanking
//   BisectRunner.swift   starts, runs, resumes and resets a stored bisection on a root
//
// The search itself (`BisectSearch`) and the ranking (`SuspectRanking`) are pure, in TidemarkCore;
// turning openQA jobs into signals is in TidemarkOpenQA (`OpenQASignals`).
