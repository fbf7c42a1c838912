"""power-exporter: one Prometheus exporter for every kind of power equipment."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("power-exporter")  # set from CHANGELOG.md's newest release heading
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
