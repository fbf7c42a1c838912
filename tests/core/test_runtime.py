"""The supervisor: transitions, backoff, staleness, fan-out, probes, bugs, shutdown."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from power_exporter.errors import ConnectError, DecodeError, OfflineError
from power_exporter.model import DeviceFault, Measure, Roster
from power_exporter.runtime import Backoff, Runtime
from power_exporter.store import Store
from tests import scripted
from tests.scripted import SCRIPTS, Script, config, reading
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from power_exporter.model import Event
    from tests.scripted import Step


@pytest.fixture(autouse=True)
def _clean_scripts() -> Iterator[None]:
    SCRIPTS.clear()
    yield
    SCRIPTS.clear()


def runtime_for(*configs: scripted.ScriptedConfig, backoff_max: float = 0.2) -> Runtime:
    return Runtime(configs, Store(), backoff_max=backoff_max, kinds=scripted.KINDS)


class TestBackoff:
    def test_grows_to_the_cap_with_jitter(self) -> None:
        """Delays double from the base, stay within 75..100 % of the nominal value, and cap."""
        backoff = Backoff(base=1.0, cap=5.0)
        delays = [backoff.next() for _ in range(6)]
        for delay, nominal in zip(delays, [1, 2, 4, 5, 5, 5], strict=True):
            assert nominal * 0.75 <= delay <= nominal
        backoff.reset()
        assert backoff.next() <= 1.0


class TestPolled:
    async def test_up_then_down_then_up_again(self) -> None:
        """A failing read takes the device down and counts the reason; the next good read heals."""
        SCRIPTS["ups"] = Script(
            steps=[
                [reading("ups")],
                ConnectError("refused"),
                ConnectError("refused"),
                [reading("ups", 0.9)],
            ]
        )
        rt = runtime_for(config("ups"))
        rt.start()
        try:
            state = rt.store.get("ups")
            assert state is not None
            await until(lambda: state.errors.get("connect", 0) >= 1)
            assert not state.up
            assert state.reading is None
            await until(lambda: state.up)
            assert state.reading is not None
            assert state.errors == {"connect": 2}
        finally:
            await rt.stop()
        assert SCRIPTS["ups"].opens == SCRIPTS["ups"].closes == 1

    async def test_a_bug_is_contained_and_the_source_reopened(self) -> None:
        """An unexpected exception counts as reason "bug", closes the source and reopens it."""
        SCRIPTS["ups"] = Script(steps=[RuntimeError("boom"), [reading("ups")]])
        rt = runtime_for(config("ups"))
        rt.start()
        try:
            state = rt.store.get("ups")
            assert state is not None
            await until(lambda: state.up)
            assert state.errors == {"bug": 1}
            assert SCRIPTS["ups"].opens == 2
            assert len(SCRIPTS["ups"].instances) == 2  # a fresh source after a bug
        finally:
            await rt.stop()

    async def test_a_slow_read_times_out(self) -> None:
        """A read that outlives the timeout is a "timeout" error, not a hang."""

        class Slow(BaseException):
            pass

        SCRIPTS["ups"] = Script(steps=[[reading("ups")]])
        rt = runtime_for(config("ups", timeout=0.05))
        original = scripted.ScriptedSource.read

        async def slow_read(self: scripted.ScriptedSource) -> object:
            await asyncio.sleep(1)
            return await original(self)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scripted.ScriptedSource, "read", slow_read)
            rt.start()
            try:
                state = rt.store.get("ups")
                assert state is not None
                await until(lambda: state.errors.get("timeout", 0) >= 1)
                assert not state.up
            finally:
                await rt.stop()

    async def test_one_device_failing_leaves_the_other_alone(self) -> None:
        """Faults never cross devices."""
        SCRIPTS["good"] = Script(steps=[[reading("good")]])
        SCRIPTS["bad"] = Script(steps=[ConnectError("no route")])
        rt = runtime_for(config("good"), config("bad"))
        rt.start()
        try:
            good, bad = rt.store.get("good"), rt.store.get("bad")
            assert good is not None
            assert bad is not None
            await until(lambda: bad.errors.get("connect", 0) >= 3)
            assert good.up
            assert good.errors == {}
        finally:
            await rt.stop()

    async def test_fan_out_replaces_the_placeholder(self) -> None:
        """An entry that serves several devices shows its name until the first readings arrive."""
        SCRIPTS["rack"] = Script(
            steps=[
                [reading("rack/a"), reading("rack/b")],
                [reading("rack/a"), DeviceFault("rack/b", OfflineError("gone"))],
            ]
        )
        rt = runtime_for(config("rack"))
        assert "rack" in rt.store
        rt.start()
        try:
            await until(lambda: "rack/a" in rt.store and "rack/b" in rt.store)
            assert "rack" not in rt.store
            b = rt.store.get("rack/b")
            assert b is not None
            await until(lambda: not b.up)
            assert b.errors == {"offline": 1}
            a = rt.store.get("rack/a")
            assert a is not None
            assert a.up
        finally:
            await rt.stop()

    async def test_a_fan_out_device_failing_from_the_start_still_appears(self) -> None:
        """A device whose first event is a fault is registered, down, with its error counted."""
        SCRIPTS["rack"] = Script(
            steps=[[reading("rack/a"), DeviceFault("rack/c", OfflineError("offline"))]]
        )
        rt = runtime_for(config("rack"))
        rt.start()
        try:
            await until(lambda: "rack/c" in rt.store)
            c = rt.store.get("rack/c")
            assert c is not None
            assert not c.up
            assert c.errors.get("offline", 0) >= 1
            assert "rack" not in rt.store
        finally:
            await rt.stop()

    async def test_a_device_gone_from_the_roster_is_retired_and_may_return(self) -> None:
        """Missing from the entry's device list for retire_after: gone; listed again: back."""
        both: list[Event] = [Roster("rack", frozenset({"rack/a", "rack/b"}))]
        only_a: list[Event] = [Roster("rack", frozenset({"rack/a"})), reading("rack/a")]
        steps: list[Step] = [[*both, reading("rack/a"), reading("rack/b")]]
        steps += [only_a] * 40
        steps.append([*both, reading("rack/a"), reading("rack/b")])
        SCRIPTS["rack"] = Script(steps=steps)
        rt = runtime_for(config("rack", retire_after=0.3, timeout=5))  # never stale here
        rt.start()
        try:
            await until(lambda: "rack/b" in rt.store)
            # The watchdog retires it once it has been missing for 0.3 s...
            await until(lambda: "rack/b" not in rt.store, timeout=5)
            a = rt.store.get("rack/a")
            assert a is not None
            assert a.up  # ...and its sibling is untouched.
            await until(lambda: "rack/b" in rt.store, timeout=10)
        finally:
            await rt.stop()

    async def test_an_unreadable_entry_retires_nothing(self) -> None:
        """When the entry cannot be read at all, its devices stay (down), not retired."""
        SCRIPTS["rack"] = Script(
            steps=[
                [Roster("rack", frozenset({"rack/a"})), reading("rack/a")],
                ConnectError("refused"),
            ]
        )
        rt = runtime_for(config("rack", retire_after=0.2))
        rt.start()
        try:
            await until(lambda: "rack/a" in rt.store)
            a = rt.store.get("rack/a")
            assert a is not None
            await until(lambda: a.errors.get("connect", 0) >= 3)
            await asyncio.sleep(1.5)  # several watchdog turns past retire_after
            assert rt.store.get("rack/a") is a
            assert not a.up
        finally:
            await rt.stop()

    async def test_entries_without_a_roster_keep_their_devices(self) -> None:
        """A fan-out whose source sends no roster never retires what it stopped reporting."""
        SCRIPTS["rack"] = Script(
            steps=[[reading("rack/a"), reading("rack/b")], [reading("rack/a")]]
        )
        rt = runtime_for(config("rack", retire_after=0.1))
        rt.start()
        try:
            await until(lambda: "rack/b" in rt.store)
            await asyncio.sleep(1.5)
            assert "rack/b" in rt.store
        finally:
            await rt.stop()

    async def test_probe_reads_afresh_apart_from_the_store(self) -> None:
        """A probe reads the device now and answers the new value; the store keeps its own."""
        SCRIPTS["ups"] = Script(steps=[[reading("ups", 0.1)], [reading("ups", 0.7)]])
        rt = runtime_for(config("ups", interval=3600))
        rt.start()
        try:
            state = rt.store.get("ups")
            assert state is not None
            await until(lambda: state.up)
            body = await rt.probe("ups", 1.0)
            assert body is not None
            assert b'power_battery_charge_ratio{device="ups"} 0.7\n' in body
            assert state.reading is not None
            assert state.reading.measures[Measure.BATTERY_CHARGE] == 0.1
            assert await rt.probe("ups", 1.0, fresh=False) is None  # the caller serves the store
            with pytest.raises(KeyError):
                await rt.probe("nope", 1.0)
        finally:
            await rt.stop()


class TestStreaming:
    async def test_bad_messages_count_but_keep_the_device_up(self) -> None:
        """A decode fault in a stream is counted; only staleness or a real fault takes it down."""
        SCRIPTS["meter"] = Script(
            stream=True,
            steps=[[reading("meter"), DeviceFault("meter", DecodeError("garbage"))]],
        )
        rt = runtime_for(config("meter", stale_after=0.3))
        rt.start()
        try:
            state = rt.store.get("meter")
            assert state is not None
            await until(lambda: state.errors.get("decode", 0) == 1)
            assert state.up
        finally:
            await rt.stop()

    async def test_staleness_takes_a_silent_device_down(self) -> None:
        """No message within stale_after: down, counted as "stale"."""
        SCRIPTS["meter"] = Script(stream=True, steps=[[]])
        rt = runtime_for(config("meter", stale_after=10))
        rt.start()
        try:
            await until(lambda: SCRIPTS["meter"].opens == 1)
            rt.store.update(reading("meter", taken_at=1000.0), unit="meter", interval=1)
            rt.check_staleness(1005.0)
            state = rt.store.get("meter")
            assert state is not None
            assert state.up
            rt.check_staleness(1011.0)
            assert not state.up
            assert state.errors == {"stale": 1}
        finally:
            await rt.stop()

    async def test_stream_ending_is_reconnected(self) -> None:
        """A stream that ends is reopened after backoff."""
        SCRIPTS["meter"] = Script(stream=True, ends=True, steps=[[reading("meter")]])
        rt = runtime_for(config("meter"))
        rt.start()
        try:
            await until(lambda: SCRIPTS["meter"].opens >= 2)
            assert len(SCRIPTS["meter"].instances) == 1  # the same source, entered again
            state = rt.store.get("meter")
            assert state is not None
            assert state.errors.get("connect", 0) >= 1
        finally:
            await rt.stop()


class TestLogging:
    async def test_transitions_are_logged_not_every_failure(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Five failed polls in a row give one "down" line; recovery gives one "up" line."""
        steps: list[scripted.Step] = [ConnectError("refused") for _ in range(5)]
        steps.append([reading("ups")])
        SCRIPTS["ups"] = Script(steps=steps)
        rt = runtime_for(config("ups"), backoff_max=0.05)
        with caplog.at_level("INFO", logger="power_exporter.runtime"):
            rt.start()
            try:
                state = rt.store.get("ups")
                assert state is not None
                await until(lambda: state.up)
            finally:
                await rt.stop()
        messages = [r.getMessage() for r in caplog.records]
        assert sum("down" in m for m in messages) == 1
        assert sum(m == "device ups is up" for m in messages) == 1
        assert state.errors == {"connect": 5}
