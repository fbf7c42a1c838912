"""Tests of the device sources."""
