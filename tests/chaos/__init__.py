"""Fault injection against real peers."""
