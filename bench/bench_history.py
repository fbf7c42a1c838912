"""The status page's history: memory of the rings for 1000 devices, and what they cost.

Every device's ring is filled to the hour (SLOTS samples) through the store's watcher, as
the runtime would fill it over an hour, then measured two ways: tracemalloc (every byte
Python allocated for the history, objects included) and the sum of ``sys.getsizeof`` of
the rings and their arrays. Also timed: one store update with and without the history
watching (the cost per reading), the page and the ``?history=1h`` document for all of them,
in CPU time: the machine may be shared, and CPU time is what the exporter spends.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc

from power_exporter.model import DeviceIdentity, Flag, Measure, Reading
from power_exporter.status.api import DevicesApi
from power_exporter.status.history import SLOTS, STEP, WINDOW, History, Ring
from power_exporter.status.page import render
from power_exporter.store import Store

T0 = 1_700_000_000.0
INTERVAL = 5.0


def reading(name: str, when: float, index: int) -> Reading:
    return Reading(
        identity=DeviceIdentity(name=name, source="bench", vendor="Acme", model="X"),
        taken_at=when,
        measures={
            Measure.BATTERY_CHARGE: 1.0 - (index % 50) / 100,
            Measure.LOAD: 0.3 + (index % 7) / 100,
            Measure.OUTPUT_POWER: 400.0 + index % 13,
            Measure.BATTERY_RUNTIME: 1500.0,
        },
        flags=frozenset({Flag.ONLINE}),
        known_flags=frozenset({Flag.ONLINE, Flag.ON_BATTERY}),
    )


def filled(devices: int) -> tuple[Store, History, float, int]:
    """A store whose devices have a full hour of history; (store, history, bytes, blocks)."""
    store = Store()
    names = [f"ups-{number:04d}" for number in range(devices)]
    for name in names:
        store.register(name, source="bench", unit=name, interval=INTERVAL)
    readings = [[reading(name, T0 + i * STEP, i) for name in names] for i in range(SLOTS)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    history = History(store)
    for batch in readings:
        for one in batch:
            store.update(one, unit=one.device, interval=INTERVAL)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = [
        stat
        for stat in after.compare_to(before, "filename")
        if stat.traceback[0].filename.endswith("status/history.py")
    ]
    size = sum(stat.size_diff for stat in stats)
    blocks = sum(stat.count_diff for stat in stats)
    return store, history, size, blocks


def getsizeof_ring(ring: Ring) -> int:
    """The ring object and its two arrays, as sys.getsizeof counts them."""
    return sys.getsizeof(ring) + sys.getsizeof(ring._times) + sys.getsizeof(ring._values)  # noqa: SLF001


def update_cost(devices: int, *, watched: bool) -> float:
    """Microseconds per store.update, with or without the history watching."""
    store = Store()
    if watched:
        History(store)
    names = [f"ups-{number:04d}" for number in range(devices)]
    batches = [[reading(name, T0 + i * INTERVAL, i) for name in names] for i in range(20)]
    started = time.process_time()
    for batch in batches:
        for one in batch:
            store.update(one, unit=one.device, interval=INTERVAL)
    return (time.process_time() - started) / (20 * devices) * 1e6


def run(devices: int = 1000) -> list[str]:
    store, history, traced, _blocks = filled(devices)
    rings = [history._rings[state.name] for state in store]  # noqa: SLF001
    full = sum(len(ring) == SLOTS for ring in rings)
    sized = sum(getsizeof_ring(ring) for ring in rings)
    api = DevicesApi(store, history)
    now = T0 + SLOTS * STEP
    started = time.process_time()
    page = render(api.views(WINDOW, now), now, INTERVAL)
    page_ms = (time.process_time() - started) * 1000
    started = time.process_time()
    document = json.dumps(api.devices(WINDOW, now), separators=(",", ":"))
    api_ms = (time.process_time() - started) * 1000
    plain, watched = update_cost(devices, watched=False), update_cost(devices, watched=True)
    return [
        f"### Status page history: {devices} devices, each ring full ({SLOTS} samples, 1 h)",
        "",
        "Goal: the history of 1000 devices within 10 MB.",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| rings full | {full} of {devices} |",
        f"| memory, tracemalloc (everything the history allocated) | {traced / 2**20:.2f} MB |",
        f"| per device, tracemalloc | {traced / devices / 1024:.2f} KiB |",
        f"| per device, sys.getsizeof of ring and arrays | {sized / devices / 1024:.2f} KiB |",
        f"| store.update without the history, CPU per reading | {plain:.1f} us |",
        f"| store.update with the history watching, CPU per reading | {watched:.1f} us |",
        (
            f"| page `/` for all devices (1 h of sparklines), CPU and size | {page_ms:.0f} ms, "
            f"{len(page) / 2**20:.1f} MB |"
        ),
        (
            f"| `/api/v1/devices?history=1h` built and encoded, CPU and size | {api_ms:.0f} ms, "
            f"{len(document) / 2**20:.1f} MB |"
        ),
        "",
        f"Goal (<= 10 MB for 1000 devices): {'met' if traced <= 10 * 2**20 else 'NOT met'}.",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
