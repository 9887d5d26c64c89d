"""`clickstream dashboard` and `clickstream report`: read-only pages, a JSON API and a self-contained
HTML report over the serving collections. Presentation above the stages: no stage imports it."""
