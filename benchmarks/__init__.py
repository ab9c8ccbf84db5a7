"""Benchmarks and the real-audio harness: run each as ``python -m benchmarks.NAME``."""
