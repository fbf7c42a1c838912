"""The tripplite kind under the real runtime: unplugged is up 0, plugged back is up 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

from power_exporter.runtime import Runtime
from power_exporter.sources.tripplite import source as source_module
from power_exporter.store import Store
from tests.sources.tripplite.replay import ReplayTransport, ReplayUps, info
from tests.sources.tripplite.test_source import config
from tests.support import until

if TYPE_CHECKING:
    import pytest


async def test_unplug_and_plug_back_without_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pulled UPS goes down, the other stays up; plugged back it is up again, same name."""
    a = ReplayUps(info("/dev/hidraw0", serial="AAA"))
    b = ReplayUps(info("/dev/hidraw1", serial="BBB"))
    transport = ReplayTransport(a, b)
    monkeypatch.setattr(source_module, "HidapiTransport", lambda: transport)
    store = Store()
    runtime = Runtime([config(interval="50ms", timeout="2s")], store)

    def up(name: str) -> bool:
        state = store.get(name)
        return state is not None and state.up

    runtime.start()
    try:
        await until(lambda: up("ups/AAA") and up("ups/BBB"))
        assert "ups" not in store  # the placeholder gave way to the UPSes found
        transport.unplug("/dev/hidraw0")
        await until(lambda: not up("ups/AAA"))
        state = store.get("ups/AAA")
        assert state is not None
        assert state.reading is None
        assert state.errors.get("connect", 0) >= 1
        assert "not on the USB bus" in state.last_error
        assert up("ups/BBB")
        transport.plug("/dev/hidraw0", at="/dev/hidraw5")
        await until(lambda: up("ups/AAA"))
        state = store.get("ups/AAA")
        assert state is not None
        assert state.reading is not None
        assert state.reading.text["device_id"] == "/dev/hidraw5"
    finally:
        await runtime.stop()
    assert (a.closes, b.closes) == (a.opens, b.opens)
