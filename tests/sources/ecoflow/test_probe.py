"""/probe of an EcoFlow REST device: coalesced, and for the probed serial only.

It never spends the cloud quota faster than ``probe_min_interval``; the local fake cloud
counts every signed call.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING, Final

from tests.served import serving, value
from tests.sources.ecoflow import data
from tests.sources.ecoflow.conftest import config
from tests.sources.ecoflow.fake_cloud import QUOTA_ALL
from tests.support import until

if TYPE_CHECKING:
    from tests.sources.ecoflow.fake_cloud import FakeCloud

DELTA2: Final = "R331ZEB4ZEAL0001"
OTHER: Final = "R331ZEB4ZEAL0002"
MIN_INTERVAL: Final = 0.5
PROBES: Final = 1000
WAVES: Final = 10  # 100 probes every 0.1 s: 1,000 in about a second
UP_LINE: Final = b'\npower_device_up{device="%s"} 1\n'


class TestProbeCoalescing:
    async def test_a_thousand_probes_in_a_second(self, cloud: FakeCloud) -> None:
        """1,000 probes in ~1 s: at most one quota/all per min interval, every probe answered."""
        cloud.add(DELTA2, data.delta2(), product="DELTA 2")
        cloud.add(OTHER, data.delta2(), product="DELTA 2")
        cfg = config(cloud, serial="*", interval=3600, probe_min_interval=MIN_INTERVAL)
        target = f"station/{DELTA2}"
        async with serving([cfg]) as served:
            await until(lambda: (state := served.store.get(target)) is not None and state.up)
            before = cloud.count(QUOTA_ALL)
            quota_paths = len(cloud.requests)
            started = time.monotonic()

            async def wave(index: int) -> list[bool]:
                await asyncio.sleep(index * 0.1)
                answers = await asyncio.gather(
                    *(served.probe(target, 10.0) for _ in range(PROBES // WAVES))
                )
                assert all(answer.status == 200 for answer in answers)
                return [UP_LINE % target.encode() in answer.body for answer in answers]

            ups = [up for batch in await asyncio.gather(*map(wave, range(WAVES))) for up in batch]
            elapsed = time.monotonic() - started
            reads = cloud.count(QUOTA_ALL) - before
            asked = {
                params.get("sn")
                for path, params in cloud.requests[quota_paths:]
                if path == QUOTA_ALL
            }
            metrics = (await served.get("/metrics")).body
        assert len(ups) == PROBES
        assert all(ups)
        # A read starts at most once per MIN_INTERVAL: within ``elapsed`` seconds, at most
        # floor(elapsed / MIN_INTERVAL) + 1 of them (the first at once).
        assert 1 <= reads <= math.floor(elapsed / MIN_INTERVAL) + 1, (reads, elapsed)
        assert asked == {DELTA2}  # quota/all of the probed serial only, never of OTHER
        assert value(metrics, "power_exporter_probe_reads_total") == reads
        served_results = sum(
            value(metrics, "power_exporter_probes_total", result=result) or 0
            for result in ("fresh", "shared", "cached")
        )
        assert served_results == PROBES
