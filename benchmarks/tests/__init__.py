"""Tests of the benchmark code itself (the harness's onset detector), not of the product."""
