"""A synthetic fleet for benchmarks: N devices of about 40 series each."""

from __future__ import annotations

import random
import time

from power_exporter.model import DeviceIdentity, Flag, Measure, Reading
from power_exporter.store import Store

FLAGS = frozenset(Flag)


def reading(name: str, rng: random.Random) -> Reading:
    """A reading with every measure and every flag known: 19 + 17 series, plus 4 per device."""
    measures = {m: rng.uniform(0.0, 1.0) for m in Measure}
    return Reading(
        identity=DeviceIdentity(name=name, source="bench", vendor="ACME", model="X1", serial=name),
        taken_at=time.time(),
        measures=measures,
        flags=frozenset({Flag.ONLINE, Flag.CHARGING}),
        known_flags=FLAGS,
    )


def fleet(devices: int, seed: int = 1) -> tuple[Store, list[str]]:
    """A store with ``devices`` devices, each with a fresh reading."""
    rng = random.Random(seed)
    store = Store()
    names = [f"ups-{i:05d}" for i in range(devices)]
    for name in names:
        store.update(reading(name, rng), unit=name, interval=15.0)
    return store, names


def touch(store: Store, names: list[str], fraction: float, rng: random.Random) -> None:
    """Give a fraction of the devices a new reading, as polls between two scrapes would."""
    for name in rng.sample(names, int(len(names) * fraction)):
        store.update(reading(name, rng), unit=name, interval=15.0)


def series_per_device(store: Store) -> float:
    """How many series one device renders to (measured, not assumed)."""
    from power_exporter.exposition.text import Renderer  # noqa: PLC0415
    from power_exporter.sources.base import NoRawNaming  # noqa: PLC0415

    page = Renderer(store, lambda _k: NoRawNaming()).render().decode()
    samples = sum(1 for line in page.splitlines() if line.startswith(("power_",)))
    return samples / len(store)
