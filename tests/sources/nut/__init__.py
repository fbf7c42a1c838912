"""Tests of the NUT source against a real upsd."""
