"""power-exporter: one Prometheus exporter for every kind of power equipment."""

__version__ = "0.1.0"
