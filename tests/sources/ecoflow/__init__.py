"""Tests of the EcoFlow source."""
