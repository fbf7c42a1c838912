"""``ups: "*"`` on a sharded replica, against the real upsd serving every nut-ddl dump."""

from __future__ import annotations

from typing import TYPE_CHECKING

from power_exporter.model import DeviceFault, Reading, Roster
from power_exporter.sharding import Shard
from power_exporter.sources.nut.source import NutSource
from tests.sources.nut.conftest import DUMPS, nut_config

if TYPE_CHECKING:
    from tests.peers.upsd import Upsd


class TestRestricted:
    async def test_lists_every_ups_reads_only_its_own(self, ddl_upsd: Upsd) -> None:
        """Shard 1 of 3: readings of its UPSes only; the roster names every UPS of the upsd."""
        shard = Shard(1, 3)
        source = NutSource(nut_config(server=ddl_upsd.server, ups="*"))
        source.restrict(shard.owns)
        every = {f"rack/{ups}" for ups in DUMPS}
        mine = {name for name in every if shard.owns(name)}
        assert 0 < len(mine) < len(every)
        async with source:
            for _ in range(2):  # the first poll lists and adds; the second reads the known
                events = await source.read()
                read = {e.device for e in events if isinstance(e, Reading | DeviceFault)}
                assert read <= mine
                (roster,) = [e for e in events if isinstance(e, Roster)]
                assert roster.devices == every
        assert read == mine

    async def test_three_replicas_share_the_upses(self, ddl_upsd: Upsd) -> None:
        """Three restricted sources read every UPS once between them."""
        read: list[set[str]] = []
        for index in range(3):
            source = NutSource(nut_config(server=ddl_upsd.server, ups="*"))
            source.restrict(Shard(index, 3).owns)
            async with source:
                events = await source.read()
            read.append({e.device for e in events if isinstance(e, Reading | DeviceFault)})
        assert sum(len(part) for part in read) == len(DUMPS)
        assert set().union(*read) == {f"rack/{ups}" for ups in DUMPS}
