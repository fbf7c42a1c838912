"""The scraping side of the chaos runs: a thread that scrapes a real exporter without pause."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.exporter import value_of

if TYPE_CHECKING:
    from bench.exporter import Exporter


@dataclass(eq=False)
class Scraper(threading.Thread):
    """Scrapes without pause, keeping the last page and counting failures."""

    exporter: Exporter
    devices: tuple[str, ...] = ()  # the names whose power_device_up is watched
    scrapes: int = 0
    down_pages: Counter[str] = field(default_factory=Counter)  # device -> scrapes showing it down
    failures: list[str] = field(default_factory=list)
    page: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        super().__init__(daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status, body = self.exporter.get(timeout=5)
            except OSError as exc:
                self.failures.append(f"scrape {self.scrapes}: {exc!r}")
            else:
                if status != 200:
                    self.failures.append(f"scrape {self.scrapes}: HTTP {status}")
                self.page = body.decode()
                self.down_pages.update(
                    name for name, up in zip(self.devices, self.up(), strict=True) if up != 1.0
                )
            self.scrapes += 1
            time.sleep(0.01)

    def up(self) -> list[float | None]:
        page = self.page
        return [value_of(page, f'power_device_up{{device="{name}"}}') for name in self.devices]

    def wait(self, value: float, timeout: float = 30.0) -> float:
        """Seconds until every device shows ``power_device_up`` == value."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if all(up == value for up in self.up()):
                return time.monotonic() - started
            time.sleep(0.01)
        raise TimeoutError(f"devices not all at up={value} within {timeout} s: {self.up()}")


def steady_fds(exporter: Exporter) -> int:
    """Descriptors, less the scraper's connection that comes and goes (the least of 10 looks)."""
    counts = []
    for _ in range(10):
        counts.append(exporter.fds())
        time.sleep(0.005)
    return min(counts)
