"""Pydantic models that cross a service boundary."""
