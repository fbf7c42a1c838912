"""/probe against a real upsd behind a delaying proxy, and against a upsd that never answers.

Budgets are Prometheus's: the header says 2 s, the exporter keeps 0.5 s of it for the answer
to travel (the offset) and 0.2 s to render and send, so a probe stops waiting after 1.3 s.
The tests allow 1.6 s from sending the request to the answer's last byte: 0.3 s of margin
beyond the 1.3 s wait for a loaded machine (2 cores shared with other test runs; a run at a
load average of 6 once took 1.84 s end to end with a 1.4 s wait).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import TYPE_CHECKING, Final

import pytest

from power_exporter.sources.nut.client import NutClient
from tests.peers.nut_proxy import DelayProxy, HungUpsd
from tests.peers.upsd import Upsd
from tests.served import device_lines, serving, value
from tests.sources.nut.conftest import DUMPS, nut_config
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.served import Served

HEADER: Final = 2.0  # X-Prometheus-Scrape-Timeout-Seconds
WITHIN: Final = 1.6  # seconds a probe may take end to end (see the module's docstring)
# Short names: dummy-ups's socket path (state folder + name) must fit in 108 bytes.
UPSES: Final = [f"u{n}" for n in range(10)]


@pytest.fixture
def upsd(tmp_path: Path) -> Iterator[Callable[[int], Upsd]]:
    """Start a real upsd serving the first ``n`` of UPSES, each replaying a nut-ddl dump."""
    started: list[Upsd] = []

    def make(count: int) -> Upsd:
        dumps = dict(zip(UPSES[:count], DUMPS.values(), strict=False))
        started.append(Upsd(tmp_path / f"d{len(started)}", dumps))
        return started[-1].start()

    try:
        yield make
    finally:
        for server in started:
            server.stop()


async def all_up(served: Served, names: list[str], timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Wait until the background poll has every device up."""

    def check() -> bool:
        states = [served.store.get(name) for name in names]
        return all(state is not None and state.up for state in states)

    await until(check, timeout)


class TestBudget:
    """Every probe answers within the scrape budget, lock waits and connection set-up included."""

    async def test_eight_probes_through_a_slow_upsd(self, upsd: Callable[[int], Upsd]) -> None:
        """8 concurrent probes of a upsd answering in 0.3 s: all answer in time, all up."""
        server = upsd(8)
        async with DelayProxy(("127.0.0.1", server.port), delay=0.3) as proxy:
            cfg = nut_config(name="lab", server=proxy.server, ups="*", interval=3600)
            async with serving([cfg]) as served:
                names = [f"lab/{ups}" for ups in UPSES[:8]]
                await all_up(served, names)
                answers = await asyncio.gather(*(served.probe(n, HEADER) for n in names))
        for name, answer in zip(names, answers, strict=True):
            assert answer.status == 200
            assert answer.seconds < WITHIN, (name, answer.seconds)
            # Each probe reads on a connection of its own, so none waits behind another:
            # one 0.3 s round trip each, far inside the 1.3 s wait.
            assert value(answer.body, "power_device_up", device=name) == 1, name

    async def test_eight_probes_of_a_hung_upsd(self) -> None:
        """A upsd that accepts and never answers: every probe says up 0, timeout, in time."""
        async with HungUpsd() as hung:
            cfgs = [
                nut_config(name=f"ups{n}", server=hung.server, ups=f"ups{n}", interval=3600)
                for n in range(8)
            ]
            async with serving(cfgs) as served:
                names = [cfg.name for cfg in cfgs]
                await until(lambda: all(served.runtime.probe_target(n)[1] for n in names))
                answers = await asyncio.gather(*(served.probe(n, HEADER) for n in names))
        for name, answer in zip(names, answers, strict=True):
            assert answer.status == 200
            assert answer.seconds < WITHIN, (name, answer.seconds)
            assert value(answer.body, "power_device_up", device=name) == 0
            errors = value(
                answer.body, "power_exporter_read_errors_total", device=name, reason="timeout"
            )
            assert errors == 1, name


class TestIsolation:
    """A probe reads one UPS on its own and changes nothing /metrics serves."""

    async def test_failed_probe_leaves_metrics_unchanged(self, upsd: Callable[[int], Upsd]) -> None:
        """A probe that times out: /metrics' device lines are byte for byte what they were."""
        server = upsd(2)
        async with DelayProxy(("127.0.0.1", server.port)) as proxy:
            cfg = nut_config(name="lab", server=proxy.server, ups="*", interval=3600)
            async with serving([cfg]) as served:
                names = [f"lab/{ups}" for ups in UPSES[:2]]
                await all_up(served, names)
                before = (await served.get("/metrics")).body
                connections = proxy.connections
                proxy.delay = 3.0  # longer than the probe's budget
                answer = await served.probe(names[0], HEADER)
                after = (await served.get("/metrics")).body
        assert answer.seconds < WITHIN
        assert value(answer.body, "power_device_up", device=names[0]) == 0
        assert device_lines(after) == device_lines(before)
        assert value(after, "power_exporter_probes_total", result="timeout") == 1
        assert value(after, "power_exporter_probe_reads_total") == 1
        # The probe used one connection of its own; the shared one was never dropped.
        assert proxy.connections == connections + 1

    async def test_probe_of_one_ups_asks_for_that_ups_only(
        self, upsd: Callable[[int], Upsd]
    ) -> None:
        """In a 10-UPS ``ups: "*"`` entry, a probe sends LIST VAR for its UPS and LOGOUT."""
        server = upsd(len(UPSES))
        async with DelayProxy(("127.0.0.1", server.port)) as proxy:
            cfg = nut_config(name="lab", server=proxy.server, ups="*", interval=3600)
            async with serving([cfg]) as served:
                await all_up(served, [f"lab/{ups}" for ups in UPSES])
                seen, counted = len(proxy.lines), Counter(proxy.requests)
                target = UPSES[3]
                answer = await served.probe(f"lab/{target}", HEADER)
                lines, requests = proxy.lines[seen:], proxy.requests - counted
        assert value(answer.body, "power_device_up", device=f"lab/{target}") == 1
        assert lines == [f"LIST VAR {target}", "LOGOUT"]
        assert requests == Counter({target: 1, "": 1})

    async def test_cancelled_caller_keeps_the_shared_connection(
        self, upsd: Callable[[int], Upsd]
    ) -> None:
        """A caller that gives up mid-exchange or in the lock queue does not drop the connection."""
        server = upsd(1)
        async with (
            DelayProxy(("127.0.0.1", server.port), delay=0.4) as proxy,
            NutClient("127.0.0.1", proxy.port, timeout=5.0) as client,
        ):
            slow = asyncio.create_task(client.list_vars(UPSES[0]))
            await asyncio.sleep(0.1)  # ``slow`` holds the lock, its answer on the way
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.1):  # gives up in the lock queue
                    await client.list_vars(UPSES[0])
            assert (await slow)["ups.status"]
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):  # gives up before the answer comes
                    await client.list_vars(UPSES[0])
            assert (await client.list_vars(UPSES[0]))["ups.status"]
        assert proxy.connections == 1


class TestLogs:
    """The first failed read of a device is logged once, with its reason."""

    async def test_misspelled_ups_is_logged_once(
        self, upsd: Callable[[int], Upsd], caplog: pytest.LogCaptureFixture
    ) -> None:
        """``ups: nosuch`` never comes up: one warning naming UNKNOWN-UPS, not one per poll."""
        caplog.set_level(logging.INFO, logger="power_exporter")
        server = upsd(1)
        cfg = nut_config(name="rack", server=server.server, ups="nosuch", interval=0.05)
        async with serving([cfg]) as served:
            state = served.store.get("rack")
            assert state is not None
            await until(lambda: sum(state.errors.values()) >= 4)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        message = warnings[0].getMessage()
        assert "rack" in message
        assert "UNKNOWN-UPS" in message
