"""Benchmarks: each compares a stage with a plain-Python baseline and asserts equal answers."""
