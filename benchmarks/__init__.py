"""Benchmarks: each writes JSON and is run from the repository root as
``python -m benchmarks.NAME`` (see the README)."""
