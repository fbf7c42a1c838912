"""The UDP meter through the core: runtime, store, exposition, promtool, the seed's environment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client.parser import text_string_to_metric_families

from power_exporter.config import from_environment
from power_exporter.exposition.text import Renderer
from power_exporter.runtime import Runtime
from power_exporter.sources.registry import KINDS
from power_exporter.sources.udp_meter.config import UdpMeterConfig
from power_exporter.sources.udp_meter.protocol import Measurement, encode_measurement
from power_exporter.sources.udp_meter.source import UdpMeterListener
from power_exporter.store import Store
from tests.peers.promtool import check_metrics
from tests.support import until

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from power_exporter.sources.base import DeviceConfig
    from tests.sources.udp_meter.standin import StandInMeter

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
SEED_COUNTER = "powerexporter_power_consumption_ampere_seconds_total"
SEED_GAUGE = "powerexporter_current_ampere"


def _render(store: Store) -> str:
    text = Renderer(store, lambda kind: KINDS[kind].naming).render().decode()
    check_metrics(text.encode())
    return text


def _samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, device: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted({"device": device, **labels}.items()))))


def _config(**keys: Any) -> UdpMeterConfig:
    return UdpMeterConfig.model_validate({"source": "udp_meter"} | keys)


def _up(store: Store, name: str) -> bool:
    return (state := store.get(name)) is not None and state.up


async def _run(devices: list[DeviceConfig], store: Store) -> Runtime:
    runtime = Runtime(devices, store)
    runtime.start()
    return runtime


class TestPolled:
    """A polled meter: the seed's series and the normalized ones, promtool-clean."""

    async def test_seed_and_normalized_series(self, meter: StandInMeter) -> None:
        """The README's sample gives 304 As and 1.6 A under both names, for device desk-meter."""
        store = Store()
        cfg = _config(name="desk-meter", address=f"127.0.0.1:{meter.port}", interval="100ms")
        runtime = await _run([cfg], store)
        try:
            await until(lambda: _up(store, "desk-meter"))
            found = _samples(_render(store))
        finally:
            await runtime.stop()
        assert _value(found, SEED_COUNTER, "desk-meter") == 304.0
        assert _value(found, SEED_GAUGE, "desk-meter") == 1.6
        assert _value(found, "power_charge_coulombs_total", "desk-meter") == 304.0
        assert _value(found, "power_input_current_amperes", "desk-meter") == 1.6
        assert _value(found, "power_device_up", "desk-meter") == 1.0

    async def test_reboot_through_the_runtime(self, meter: StandInMeter) -> None:
        """After the meter reboots, the exported counter goes on rising, never frozen."""
        store = Store()
        meter.measurement = Measurement(100_000_000, 500_000.0, 1000.0)
        cfg = _config(name="desk-meter", address=f"127.0.0.1:{meter.port}", interval="100ms")
        runtime = await _run([cfg], store)
        try:
            await until(lambda: _up(store, "desk-meter"))
            before = _value(_samples(_render(store)), SEED_COUNTER, "desk-meter")
            meter.reboot(Measurement(1_000_000, 20_000.0, 1000.0))
            await until(
                lambda: _value(_samples(_render(store)), SEED_COUNTER, "desk-meter") == 520.0
            )
        finally:
            await runtime.stop()
        assert before == 500.0

    async def test_silence_is_down(self, meter: StandInMeter) -> None:
        """A silent meter is down, counted as timeout, and its series go away."""
        store = Store()
        meter.silent = True
        cfg = _config(
            name="desk-meter", address=f"127.0.0.1:{meter.port}", interval="100ms", timeout="100ms"
        )
        runtime = await _run([cfg], store)
        try:
            await until(
                lambda: (
                    (state := store.get("desk-meter")) is not None
                    and state.errors.get("timeout", 0) >= 1
                )
            )
            found = _samples(_render(store))
        finally:
            await runtime.stop()
        assert _value(found, "power_device_up", "desk-meter") == 0.0
        assert _value(found, SEED_COUNTER, "desk-meter") is None
        assert (
            _value(found, "power_exporter_read_errors_total", "desk-meter", reason="timeout") or 0
        ) >= 1

    async def test_seed_environment(self, meter: StandInMeter) -> None:
        """DEVICE_UDP_IP and DEVICE_UDP_PORT alone give a working meter named udp-meter."""
        config = from_environment(
            {"DEVICE_UDP_IP": "127.0.0.1", "DEVICE_UDP_PORT": str(meter.port)}
        )
        [cfg] = config.devices
        assert cfg.name == "udp-meter"
        store = Store()
        runtime = await _run([cfg], store)
        try:
            await until(lambda: _up(store, "udp-meter"))
            found = _samples(_render(store))
        finally:
            await runtime.stop()
        assert _value(found, SEED_COUNTER, "udp-meter") == 304.0


class TestListening:
    """A listening meter: staleness by silence, faults counted by reason while up."""

    async def test_stale_then_back(self, meter: StandInMeter) -> None:
        """No datagram within stale_after: up 0, series gone; the next datagram brings them back."""
        store = Store()
        cfg = _config(name="bench-meter", listen="127.0.0.1:0", peer=f"127.0.0.1:{meter.port}")
        cfg = cfg.model_copy(update={"stale_after": 0.3})
        runtime = await _run([cfg], store)
        try:
            address = await _address(runtime)
            meter.send_to(address)
            await until(lambda: _up(store, "bench-meter"))
            assert _value(_samples(_render(store)), SEED_GAUGE, "bench-meter") == 1.6
            await until(lambda: not _up(store, "bench-meter"), timeout=5.0)
            gone = _samples(_render(store))
            assert _value(gone, "power_device_up", "bench-meter") == 0.0
            assert _value(gone, SEED_GAUGE, "bench-meter") is None
            assert _value(gone, "power_charge_coulombs_total", "bench-meter") is None
            meter.measurement = Measurement(2_000_000, 305_000.0, 1600.0)
            meter.send_to(address)
            await until(lambda: _up(store, "bench-meter"))
            back = _samples(_render(store))
        finally:
            await runtime.stop()
        assert _value(back, SEED_COUNTER, "bench-meter") == 305.0

    async def test_bad_and_foreign_datagrams_are_counted(
        self, meter: StandInMeter, sender: Callable[[str], socket.socket]
    ) -> None:
        """Foreign and bad datagrams count by reason; the meter stays up."""
        store = Store()
        cfg = _config(name="bench-meter", listen="127.0.0.1:0", peer=f"127.0.0.1:{meter.port}")
        runtime = await _run([cfg], store)
        try:
            address = await _address(runtime)
            meter.send_to(address)
            await until(lambda: _up(store, "bench-meter"))
            stranger = sender("127.0.0.1")
            for _ in range(3):
                stranger.sendto(encode_measurement(Measurement(5, 1.0, 1.0)), address)
            meter.send_to(address, b"\xff\xff\xff")
            meter.send_to(address, encode_measurement(Measurement(9, float("nan"), 1.0)))

            def counted() -> bool:
                state = store.get("bench-meter")
                return state is not None and sum(state.errors.values()) >= 5

            await until(counted)
            found = _samples(_render(store))
        finally:
            await runtime.stop()
        errors = "power_exporter_read_errors_total"
        assert _value(found, errors, "bench-meter", reason="foreign_sender") == 3.0
        assert _value(found, errors, "bench-meter", reason="decode") == 2.0
        assert _value(found, "power_device_up", "bench-meter") == 1.0


async def _address(runtime: Runtime) -> tuple[str, int]:
    """Wait for the bench-meter's source to open; give its listening address."""
    await until(lambda: _source(runtime) is not None)
    address = _source(runtime)
    assert address is not None
    return address


def _source(runtime: Runtime) -> tuple[str, int] | None:
    """The listening address of the bench-meter's open source, once it is open."""
    unit = runtime.unit_of("bench-meter")
    source = unit.source if unit is not None else None
    if not isinstance(source, UdpMeterListener):
        return None
    address = source.local_address
    return (address[0], address[1])
