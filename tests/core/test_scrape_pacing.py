"""What keeps work off a scrape: rendering after the page is sent, collections deferred."""

from __future__ import annotations

import asyncio
import gc

import pytest

from power_exporter.exposition import pauses, text
from power_exporter.exposition.pauses import freeze_when_settled, no_collection, settled
from power_exporter.exposition.text import Renderer
from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.base import NoRawNaming
from power_exporter.store import Store


def reading(name: str, charge: float) -> Reading:
    return Reading(
        identity=DeviceIdentity(name=name, source="demo"),
        taken_at=1700000000.0,
        measures={Measure.BATTERY_CHARGE: charge},
    )


def fleet(devices: int) -> tuple[Store, Renderer]:
    store = Store()
    renderer = Renderer(store, lambda _kind: NoRawNaming())
    for i in range(devices):
        store.update(reading(f"ups-{i}", 0.5), unit=f"ups-{i}", interval=15.0)
    renderer.render()  # every device rendered once
    return store, renderer


async def turns(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_a_change_renders_on_the_next_turn_of_the_loop() -> None:
    store, renderer = fleet(3)
    store.update(reading("ups-1", 0.25), unit="ups-1", interval=15.0)
    assert renderer.waiting == 1
    await turns()
    assert renderer.waiting == 0
    assert b'power_battery_charge_ratio{device="ups-1"} 0.25\n' in renderer.render()


async def test_changes_wait_while_a_page_is_sent_then_render() -> None:
    store, renderer = fleet(3)
    with renderer.sending():
        store.update(reading("ups-2", 0.75), unit="ups-2", interval=15.0)
        await turns()
        assert renderer.waiting == 1  # not rendered between the page's writes
        with renderer.sending():  # a second scrape overlapping the first
            await turns()
        assert renderer.waiting == 1
    await turns()
    assert renderer.waiting == 0
    assert b'power_battery_charge_ratio{device="ups-2"} 0.75\n' in renderer.render()


async def test_a_slow_page_holds_the_rendering_back_for_a_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text, "_HOLD_MAX", 0.0)
    store, renderer = fleet(3)
    with renderer.sending():
        store.update(reading("ups-0", 0.125), unit="ups-0", interval=15.0)
        await asyncio.sleep(0.01)  # past the hold: rendering goes on while still sending
        assert renderer.waiting == 0


async def test_rendering_in_slices_renders_everything_and_the_same_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(text, "_SLICE", 0.0)  # one device per slice
    store, renderer = fleet(40)
    for i in range(40):
        store.update(reading(f"ups-{i}", i / 100), unit=f"ups-{i}", interval=15.0)
    await asyncio.sleep(0)
    assert 0 < renderer.waiting < 40  # a slice rendered some and left the rest to later turns
    for _ in range(100):
        if not renderer.waiting:
            break
        await asyncio.sleep(0)
    assert renderer.waiting == 0
    fresh = Renderer(store, lambda _kind: NoRawNaming())
    assert renderer.render() == fresh.render()


async def test_the_scrape_renders_what_is_still_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "_SLICE", 0.0)
    store, renderer = fleet(10)
    with renderer.sending():
        for i in range(10):
            store.update(reading(f"ups-{i}", 0.0625), unit=f"ups-{i}", interval=15.0)
        page = renderer.render()  # a second scrape while the first is sent: nothing stale
    assert page.count(b"} 0.0625\n") == 10


def test_no_collection_raises_the_thresholds_and_puts_them_back() -> None:
    before = gc.get_threshold()
    with no_collection():
        raised = gc.get_threshold()
        with no_collection():
            assert gc.get_threshold() == raised
        assert gc.get_threshold() == raised
    assert gc.get_threshold() == before
    assert raised == tuple(threshold * pauses._DEFER for threshold in before)


def test_shorter_pauses_lowers_only_the_middle_threshold() -> None:
    before = gc.get_threshold()
    try:
        pauses.shorter_pauses()
        assert gc.get_threshold() == (before[0], pauses.MIDDLE_THRESHOLD, before[2])
    finally:
        gc.set_threshold(*before)


def test_no_collection_puts_them_back_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(ConnectionResetError), no_collection():
        raise ConnectionResetError
    assert gc.get_threshold() == before


async def test_freeze_once_every_device_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pauses, "_SETTLE_CHECK", 0.001)
    store = Store()
    store.register("ups-0", source="demo", unit="ups-0", interval=15.0)
    store.register("ups-1", source="demo", unit="ups-1", interval=15.0)
    frozen = gc.get_freeze_count()
    task = asyncio.create_task(freeze_when_settled(store))
    try:
        store.update(reading("ups-0", 0.5), unit="ups-0", interval=15.0)
        await turns()
        assert not settled(store)
        assert not task.done()  # ups-1 never answered yet
        store.count_error("ups-1", "connect", "refused")  # an error is an answer too
        await asyncio.wait_for(task, 5)
        assert gc.get_freeze_count() > frozen
    finally:
        task.cancel()
        gc.unfreeze()
