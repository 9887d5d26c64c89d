"""`clickstream run`: the cron-ready batch runner. It sits above the stages (mr jobs, loaders)
and calls them per hour partition; no stage imports it."""
