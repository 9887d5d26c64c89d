"""clickstream: the core shared by every stage (event model, raw-area layout, errors)."""
