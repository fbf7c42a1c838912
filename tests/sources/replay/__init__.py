"""Tests of the replay source."""
