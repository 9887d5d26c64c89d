"""clickstream: the core shared by every stage (event model, raw-area layout, errors)."""

__version__ = "0.1.0"
