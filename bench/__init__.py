"""Benchmarks of duban against the naive one-workflow-per-unit design and the SMTP floor (issue 9).

Run `python -m bench --help`; see bench/README.md for the scenarios and the latest table.
"""
