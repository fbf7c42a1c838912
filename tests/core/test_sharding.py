"""Sharding: the consistent hash, this replica's shard, and the runtime keeping its part."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

from power_exporter import config as config_module
from power_exporter.errors import ConfigError, ConnectError
from power_exporter.exposition.text import Renderer
from power_exporter.http import Fleet, SdTarget, make_app
from power_exporter.model import Roster
from power_exporter.runtime import Runtime
from power_exporter.sharding import Shard, first_int, owner, resolve
from power_exporter.sources.base import NoRawNaming
from power_exporter.store import Store
from tests import scripted
from tests.scripted import SCRIPTS, Script, config, reading
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from power_exporter.model import Event

NAMES = [f"site{i // 100}-pdu{i % 100}" for i in range(10_000)]


@pytest.fixture(autouse=True)
def _clean_scripts() -> Iterator[None]:
    SCRIPTS.clear()
    yield
    SCRIPTS.clear()


class TestConsistentHash:
    def test_three_to_four_shards_moves_about_a_quarter(self) -> None:
        """Adding a 4th replica moves 15-35 % of 10,000 devices, every one to the new shard."""
        moved = [name for name in NAMES if owner(name, 3) != owner(name, 4)]
        share = len(moved) / len(NAMES)
        assert 0.15 <= share <= 0.35, share
        assert {owner(name, 4) for name in moved} == {3}

    def test_removing_a_replica_moves_only_its_devices(self) -> None:
        """Going from 4 to 3 moves the 4th shard's devices and nothing else."""
        moved = [name for name in NAMES if owner(name, 4) != owner(name, 3)]
        assert moved == [name for name in NAMES if owner(name, 4) == 3]

    @pytest.mark.parametrize("total", [2, 3, 5, 8])
    def test_shards_get_even_parts(self, total: int) -> None:
        """Each shard owns its share of 10,000 names within 20 % of 1/M."""
        counts = Counter(owner(name, total) for name in NAMES)
        assert sorted(counts) == list(range(total))
        even = len(NAMES) / total
        assert all(abs(count - even) < 0.2 * even for count in counts.values()), counts

    def test_every_device_has_exactly_one_owner(self) -> None:
        """The shards partition the fleet: each name is owned by one replica."""
        shards = [Shard(index, 3) for index in range(3)]
        assert all(sum(shard.owns(name) for shard in shards) == 1 for name in NAMES)

    def test_the_hash_is_stable_across_releases(self) -> None:
        """Owners are pinned: a changed hash would reshuffle a fleet mid-upgrade.

        Replicas of two versions must agree during a rolling update, so these owners
        (BLAKE2b-64 of "shard NUL name", highest wins) must never change.
        """
        assert [owner(f"ups{i}", 3) for i in range(8)] == PINNED

    def test_one_shard_owns_everything(self) -> None:
        """Unsharded, every device is this replica's."""
        assert all(Shard().owns(name) for name in NAMES[:100])


# Computed once when the hash was chosen; they must never change.
PINNED = [2, 2, 1, 0, 2, 1, 2, 0]


class TestResolve:
    def test_flags_win(self) -> None:
        """--shard and --total-shards as given."""
        assert resolve(1, 3, hostname="box") == Shard(1, 3)

    def test_unsharded_by_default(self) -> None:
        """Nothing given: shard 0 of 1, whatever the hostname."""
        assert resolve(None, None, hostname="power-exporter-2") == Shard(0, 1)

    def test_statefulset_ordinal(self) -> None:
        """--total-shards without --shard: the pod name's ordinal, as kube-state-metrics."""
        shard = resolve(None, 3, hostname="power-exporter-2.power-exporter.mon.svc")
        assert shard == Shard(2, 3)

    def test_from_hostname_needs_an_ordinal(self) -> None:
        """A hostname without -N cannot say the shard: a clear error."""
        with pytest.raises(ConfigError, match="does not end in -ORDINAL"):
            resolve(None, 3, hostname="backup-box")

    def test_hostname_and_flag_must_agree(self) -> None:
        """--shard-from-hostname with a different --shard is refused."""
        with pytest.raises(ConfigError, match="disagrees"):
            resolve(1, 3, hostname="power-exporter-2", from_hostname=True)

    def test_ordinal_beyond_the_fleet(self) -> None:
        """Pod 3 of a 3-shard fleet (scaled without --total-shards) is refused."""
        with pytest.raises(ConfigError, match=r"shard 3 is not within 0\.\.2"):
            resolve(None, 3, hostname="power-exporter-3")

    def test_environment_values_are_numbers(self) -> None:
        """POWER_EXPORTER_SHARD=two is an error naming the value; the first given wins."""
        with pytest.raises(ConfigError, match="'two' is not a whole number"):
            first_int(None, "two", 1, field="shard")
        assert first_int(None, "", "2", 0, field="shard") == 2


class TestConfigKeys:
    @pytest.fixture(autouse=True)
    def _scripted_kind(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(config_module, "KINDS", scripted.KINDS)

    def test_shard_keys(self) -> None:
        """shard, total_shards and shard_peers are top-level keys of the file."""
        data = {
            "shard": 1,
            "total_shards": 3,
            "shard_peers": "http://pe-{shard}.pe:9860",
            "devices": [{"name": "ups", "source": "scripted"}],
        }
        settings = config_module.validate(data).settings
        assert (settings.shard, settings.total_shards) == (1, 3)
        assert settings.shard_peers == "http://pe-{shard}.pe:9860"

    @pytest.mark.parametrize(
        ("key", "value", "words"),
        [
            ("shard_peers", "http://pe.pe:9860", "put {shard} where the shard number goes"),
            ("total_shards", 0, "greater than or equal to 1"),
            ("shard", -1, "greater than or equal to 0"),
        ],
    )
    def test_bad_shard_keys(self, key: str, value: object, words: str) -> None:
        """A peer template without {shard}, no shards, a negative shard: located errors."""
        data = {key: value, "devices": [{"name": "ups", "source": "scripted"}]}
        with pytest.raises(ConfigError) as caught:
            config_module.validate(data)
        assert caught.value.field == key
        assert words in str(caught.value)


def _fleet(*configs: scripted.ScriptedConfig, total: int = 3) -> list[Runtime]:
    return [
        Runtime(configs, Store(), kinds=scripted.KINDS, shard=Shard(index, total))
        for index in range(total)
    ]


class TestRuntime:
    async def test_entries_run_on_their_owner_only(self) -> None:
        """Of 30 one-device entries, each is opened by exactly one of 3 replicas."""
        names = [f"ups{i}" for i in range(30)]
        for name in names:
            SCRIPTS[name] = Script(steps=[[reading(name)]])
        fleet = _fleet(*(config(name) for name in names))
        for runtime in fleet:
            runtime.start()
        try:
            await until(lambda: all(SCRIPTS[name].reads for name in names))
            assert all(SCRIPTS[name].opens == 1 for name in names)
            served = [{state.name for state in runtime.store} for runtime in fleet]
            assert sum(len(part) for part in served) == len(names)
            assert set().union(*served) == set(names)
            for index, part in enumerate(served):
                assert part == {name for name in names if owner(name, 3) == index}
        finally:
            for runtime in fleet:
                await runtime.stop()

    async def test_fan_out_is_sharded_per_device(self) -> None:
        """A fan-out entry runs on every replica; each keeps, and is told, its own devices."""
        devices = [f"rack/u{i}" for i in range(12)]
        events: list[Event] = [Roster("rack", frozenset(devices))]
        events += [reading(name) for name in devices]
        SCRIPTS["rack"] = Script(steps=[events])
        fleet = _fleet(config("rack", fan_out=True))
        placeholders = [("rack" in runtime.store) for runtime in fleet]
        assert placeholders.count(True) == 1  # one replica shows the entry until it lists
        for runtime in fleet:
            runtime.start()
        try:
            await until(lambda: sum(len(runtime.store) for runtime in fleet) == len(devices))
            for index, runtime in enumerate(fleet):
                mine = {name for name in devices if owner(name, 3) == index}
                assert {state.name for state in runtime.store} == mine
                expected = [(name, owner(name, 3)) for name in sorted(devices)]
                assert runtime.fleet() == expected
            predicates = SCRIPTS["rack"].owns
            assert len(predicates) == SCRIPTS["rack"].opens == 3
            assert all(sum(owns(name) for owns in predicates) == 1 for name in devices)
        finally:
            for runtime in fleet:
                await runtime.stop()

    async def test_listed_devices_open_only_where_owned(self) -> None:
        """An entry listing its devices opens only on replicas owning one; each shows its own.

        Before any read, each owning replica shows its listed devices (down, never read), so
        an entry that cannot log in is seen there; replicas owning none never open it.
        """
        names = [f"acct/sn{i}" for i in range(40)]
        devices = [n for n in names if owner(n, 3) == 0][:2] + [
            n for n in names if owner(n, 3) == 1
        ][:2]
        SCRIPTS["acct"] = Script(steps=[ConnectError("login refused")])
        fleet = _fleet(config("acct", fan_out=True, listed=tuple(devices)))
        for runtime in fleet:
            runtime.start()
        try:
            await until(lambda: SCRIPTS["acct"].opens >= 2)  # both owners tried to log in
            await until(lambda: SCRIPTS["acct"].reads >= 6)  # ...and went on trying
            assert SCRIPTS["acct"].opens == 2
            for index, runtime in enumerate(fleet):
                shown = {state.name: state for state in runtime.store}
                assert set(shown) == {name for name in devices if owner(name, 3) == index}
                assert all(not state.up for state in shown.values())
            assert fleet[2].entries == 0
            assert [name for name, _ in fleet[2].fleet()] == sorted(devices)
        finally:
            for runtime in fleet:
                await runtime.stop()

    async def test_unsharded_runs_everything_unrestricted(self) -> None:
        """One replica: every entry runs and no source is restricted."""
        SCRIPTS["rack"] = Script(steps=[[reading("rack/a"), reading("rack/b")]])
        runtime = Runtime([config("rack", fan_out=True)], Store(), kinds=scripted.KINDS)
        runtime.start()
        try:
            await until(lambda: "rack/b" in runtime.store and "rack/a" in runtime.store)
            assert SCRIPTS["rack"].owns == []
        finally:
            await runtime.stop()

    async def test_reconfigure_keeps_to_the_shard(self) -> None:
        """A reload adds only the new entries this replica owns."""
        names = [f"ups{i}" for i in range(9)]
        for name in names:
            SCRIPTS[name] = Script(steps=[[reading(name)]])
        runtime = Runtime([config(names[0])], Store(), kinds=scripted.KINDS, shard=Shard(1, 3))
        done = await runtime.reconfigure([config(name) for name in names])
        mine = sorted(name for name in names if owner(name, 3) == 1)
        assert sorted([*done.added, *done.kept]) == mine
        assert sorted(state.name for state in runtime.store) == mine
        assert [name for name, _ in runtime.fleet()] == names


@pytest.fixture
async def replica() -> AsyncIterator[tuple[str, list[str]]]:
    """Replica 1 of 3 with 9 entries, served on 127.0.0.1; yields its URL and the names."""
    names = [f"ups{i}" for i in range(9)]
    for name in names:
        SCRIPTS[name] = Script(steps=[[reading(name)]])
    store = Store()
    runtime = Runtime(
        [config(name) for name in names], store, kinds=scripted.KINDS, shard=Shard(1, 3)
    )
    template = "https://pe-{shard}.pe.mon.svc:9860/power"
    app = make_app(
        store,
        Renderer(store, lambda _kind: NoRawNaming()),
        runtime,
        sd_target=SdTarget.from_url(template.replace("{shard}", "1")),
        fleet=Fleet.from_template(template, 1, 3, runtime.fleet),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    runtime.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", names
    finally:
        await runtime.stop()
        await runner.cleanup()


class TestServiceDiscovery:
    async def test_sd_lists_this_replicas_part(self, replica: tuple[str, list[str]]) -> None:
        """/sd: only the devices this replica owns, at its own address."""
        base, names = replica
        async with aiohttp.ClientSession() as session, session.get(f"{base}/sd") as answer:
            groups = json.loads(await answer.read())
        assert sorted(g["labels"]["device"] for g in groups) == sorted(
            name for name in names if owner(name, 3) == 1
        )
        assert {tuple(g["targets"]) for g in groups} == {("pe-1.pe.mon.svc:9860",)}

    async def test_sd_all_lists_the_fleet_at_each_owner(
        self, replica: tuple[str, list[str]]
    ) -> None:
        """/sd?all=1: every device once, at the replica owning it, with the peers' scheme/path."""
        base, names = replica
        async with aiohttp.ClientSession() as session, session.get(f"{base}/sd?all=1") as answer:
            groups = json.loads(await answer.read())
        assert [g["labels"]["device"] for g in groups] == names
        for group in groups:
            shard = owner(group["labels"]["device"], 3)
            assert group["targets"] == [f"pe-{shard}.pe.mon.svc:9860"]
            assert group["labels"]["__meta_power_exporter_shard"] == str(shard)
            assert group["labels"]["__scheme__"] == "https"
            assert group["labels"]["__metrics_path__"] == "/power/probe"

    async def test_probe_of_another_replicas_device(self, replica: tuple[str, list[str]]) -> None:
        """/probe of a device this replica does not own: 404 naming the replica that does."""
        base, names = replica
        other = next(name for name in names if owner(name, 3) == 2)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/probe", params={"target": other}) as answer,
        ):
            assert answer.status == 404
            assert "replica 2 serves it at pe-2.pe.mon.svc:9860" in await answer.text()
