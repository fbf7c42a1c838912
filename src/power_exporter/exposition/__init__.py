"""Prometheus exposition: the metric contract and the only code that writes exposition text."""
