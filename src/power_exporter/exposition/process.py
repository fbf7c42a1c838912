"""The exporter's own ``process_*`` series, read from ``/proc`` (Linux; elsewhere none).

The same six series, names and meanings as the process collector of the Prometheus client
libraries (dashboards and alerts written for any exporter work unchanged), without importing
a client library to serve them.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Final

_PROC: Final = Path("/proc/self")
# (name, type, help) in the order the client libraries give them.
_FAMILIES: Final = (
    ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes."),
    ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes."),
    (
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
    ),
    ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds."),
    ("process_open_fds", "gauge", "Number of open file descriptors."),
    ("process_max_fds", "gauge", "Maximum number of open file descriptors."),
)


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


class ProcessSeries:
    """Renders the ``process_*`` families at each call (their values change all the time)."""

    def __init__(self) -> None:
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._page = os.sysconf("SC_PAGE_SIZE")
        try:
            self._boot: float | None = _boot_time()
        except OSError:  # not Linux: no process series, as the client libraries do
            self._boot = None

    def values(self) -> list[float] | None:
        """The six values in :data:`_FAMILIES` order, or None where /proc cannot tell."""
        if self._boot is None:
            return None
        try:
            stat = (_PROC / "stat").read_text()
            open_fds = sum(1 for _ in (_PROC / "fd").iterdir())
        except OSError:
            return None
        # Fields after "(comm)": the 3rd field of proc(5) is fields[0].
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]), int(fields[12])
        return [
            float(fields[20]),
            float(int(fields[21]) * self._page),
            int(fields[19]) / self._ticks + self._boot,
            (utime + stime) / self._ticks,
            float(open_fds),
            float(resource.getrlimit(resource.RLIMIT_NOFILE)[0]),
        ]

    def render(self, *, openmetrics: bool) -> bytes:
        """The families in the text format, or OpenMetrics (its counter named without _total)."""
        values = self.values()
        if values is None:
            return b""
        lines: list[str] = []
        for (name, kind, help_text), value in zip(_FAMILIES, values, strict=True):
            family = name.removesuffix("_total") if openmetrics and kind == "counter" else name
            lines.append(f"# HELP {family} {help_text}\n# TYPE {family} {kind}\n{name} {value!r}\n")
        return "".join(lines).encode()
