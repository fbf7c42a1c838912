"""Every dump of the NUT device library through a real upsd: ``python -m bench.nut_sweep``.

The 684 dumps (``tests/fixtures/nut-ddl-library/dumps.tar.xz``) are unpacked into a temporary
folder and served in batches by one upsd each, a dummy-ups per dump; a ``ups: "*"`` NutSource
reads every UPS of the batch. For each batch the page the exporter would serve must pass
``promtool check metrics``, and no ``power_*`` sample may hold a sentinel or an impossible
value (the same limits as ``tests/sources/nut/test_sweep.py``, which does this through
``source: replay`` in a few seconds). A dump dummy-ups cannot serve is reported, not hidden.

Options: ``--batch N`` (default 60 dumps per upsd), ``--limit N`` (only the first N dumps).
Exit status 1 when any check fails. Takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from tests.peers.promtool import check_metrics
from tests.peers.upsd import Upsd
from tests.sources.nut.test_sweep import plausible, samples, unpack

from power_exporter.errors import StaleError
from power_exporter.exposition.text import Renderer
from power_exporter.model import DeviceFault, Reading
from power_exporter.sources.nut.config import NutConfig
from power_exporter.sources.nut.source import NutSource
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store

READY_SECONDS = 30.0


async def read_batch(upsd: Upsd) -> tuple[Store, dict[str, str]]:
    """Poll every UPS of the upsd until each has data (or the wait ends); store the readings."""
    cfg = NutConfig.model_validate(
        {"name": "sweep", "source": "nut", "server": upsd.server, "ups": "*", "timeout": "20s"}
    )
    store = Store()
    faults: dict[str, str] = {}
    deadline = time.monotonic() + READY_SECONDS
    async with NutSource(cfg) as source:
        while True:
            events = await source.read()
            waiting = [
                e for e in events if isinstance(e, DeviceFault) and isinstance(e.error, StaleError)
            ]
            if not waiting or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    for event in events:
        if isinstance(event, Reading):
            store.update(event, unit=event.device, interval=15)
        elif isinstance(event, DeviceFault):
            faults[event.device] = str(event.error)
    return store, faults


def sweep_batch(root: Path, dumps: list[Path], first: int) -> list[str]:
    """Serve one batch, read it, check it; return the problems found."""
    upses = {f"u{first + number:03}": path for number, path in enumerate(dumps)}
    upsd = Upsd(root / f"batch{first:03}", upses)
    upsd.write_config()
    upsd.start_drivers()
    upsd.start_upsd()
    problems: list[str] = []
    try:
        store, faults = asyncio.run(read_batch(upsd))
    finally:
        upsd.stop()
    names = {f"sweep/{ups}": path.name for ups, path in upses.items()}
    problems.extend(f"{names[d]}: no reading: {why}" for d, why in sorted(faults.items()))
    page = Renderer(store, lambda kind: KINDS[kind].naming).render()
    try:
        check_metrics(page)
    except AssertionError as exc:
        problems.append(f"batch from {dumps[0].name}: {exc}")
    problems.extend(
        f"{names.get(labels.get('device', ''), '?')}: {name} {value}"
        for name, labels, value in samples(page.decode())
        if name.startswith("power_")
        and not name.startswith(("power_exporter_", "power_device_", "power_status"))
        and not plausible(name, value)
    )
    print(f"  {first:3}-{first + len(dumps) - 1:3}: {len(store)} read, {len(faults)} not")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the sweep; print what failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.nut_sweep", description=__doc__)
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nut-sweep-") as folder:
        root = Path(folder)
        dumps = unpack(root)
        if args.limit:
            dumps = dumps[: args.limit]
        print(f"{len(dumps)} dumps, {args.batch} per upsd")
        problems: list[str] = []
        for first in range(0, len(dumps), args.batch):
            problems.extend(sweep_batch(root, dumps[first : first + args.batch], first))
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"{len(dumps)} dumps, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
