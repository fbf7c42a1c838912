"""Fuzzing every parser of outside data."""
