"""Pydantic models: every workflow, update, query and activity takes one and returns one."""
