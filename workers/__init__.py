"""Processes: the worker, the dev-stack supervisor, settings and logging wiring."""
