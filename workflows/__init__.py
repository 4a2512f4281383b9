"""Deterministic workflow code and the pure deadline code it calls."""
