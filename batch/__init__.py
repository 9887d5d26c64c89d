"""The orchestration above the stages: `clickstream run` (the cron-ready batch runner) and
`clickstream demo`. It calls ingest's watermarks, the mr jobs and the loaders; no stage imports it,
and it is never shipped to task nodes."""
