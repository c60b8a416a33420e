"""Helpers of the performance benchmark (benchmarks/run.py); not part of the service."""
