// TidemarkOpenQA: reading openQA (https://open.qa) for rollouts. Read-only by design: a gate
// asks whether a build's integration tests are green (`OpenQAGate`), a health check asks which
// hosts' jobs ended incomplete (`OpenQAHostResults`); neither ever schedules or changes a job.
//
//   OpenQAClient.swift       the HTTP client (signed like openQA's own tools when given a key)
//   OpenQAModels.swift       jobs, workers and job queries as the API serves them
//   OpenQAGate.swift         the pure gate rule over a group's latest jobs for one build
//   OpenQAHostResults.swift  the pure per-host tally of finished jobs in a time window
//   OpenQASignals.swift      finished jobs as per-host failing/healthy signals for culprit finding
