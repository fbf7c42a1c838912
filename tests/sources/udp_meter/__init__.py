"""Tests of the UDP power meter source."""
