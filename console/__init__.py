"""Operator and unit surfaces: the `duban` CLI, the web console and its API."""
