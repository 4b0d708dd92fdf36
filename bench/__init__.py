"""Benchmarks and evaluations (``python -m bench.run_all``)."""
