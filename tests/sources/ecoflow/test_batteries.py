"""Every battery pack by its number: real captures, and extra-battery reports built by hand."""

from __future__ import annotations

import struct

import pytest

from power_exporter.model import DeviceIdentity, Reading
from power_exporter.sources.ecoflow import envelope
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.batteries import Part, packs
from power_exporter.sources.ecoflow.envelope import BMS_REPORTS
from power_exporter.sources.ecoflow.flatten import flatten
from power_exporter.sources.ecoflow.naming import NAMING
from power_exporter.sources.ecoflow.online import OnlineModel
from tests.sources.ecoflow import data
from tests.sources.ecoflow.app_payloads import RIVER3_SN, header, river3_reply
from tests.sources.ecoflow.app_payloads import envelope as build_envelope

DELTA3 = "P231ZEB4ZE000001"


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def pack_report(num: int, values: tuple[int, int, int, int, int]) -> bytes:
    """A BMS heartbeat, byte by byte from the field notes (1.6).

    ``values``: soc (field 6), vol in mV (7), temp (9), cycles (14), soh (15), all varints;
    field 1 is ``num``, and field 25 (f32_show_soc, a fixed32 float) is soc - 0.5.
    """
    soc = values[0]
    fields = ((1, num), *zip((6, 7, 9, 14, 15), values, strict=True))
    body = b"".join(_varint(number << 3) + _varint(value) for number, value in fields)
    return body + _varint(25 << 3 | 5) + struct.pack("<f", soc - 0.5)


class TestJsonPacks:
    def test_delta2max_three_packs(self) -> None:
        """DELTA 2 Max with two extra batteries (real dump): three packs, mV read as V."""
        found = packs(flatten(data.delta2max()).numbers)
        assert found == {
            "0": {
                Part.CHARGE: pytest.approx(0.835),
                Part.HEALTH: pytest.approx(0.97),
                Part.VOLTAGE: pytest.approx(53.976),
                Part.TEMPERATURE: 21.0,
                Part.CYCLES: 323.0,
            },
            "1": {
                Part.CHARGE: pytest.approx(0.818),
                Part.HEALTH: pytest.approx(0.98),
                Part.VOLTAGE: pytest.approx(53.672),
                Part.TEMPERATURE: 20.0,
                Part.CYCLES: 188.0,
            },
            "2": {
                Part.CHARGE: pytest.approx(0.67),
                Part.HEALTH: pytest.approx(1.0),
                Part.VOLTAGE: pytest.approx(52.083),
                Part.TEMPERATURE: 28.0,
                Part.CYCLES: 108.0,
            },
        }

    def test_delta_pro_unknown_health_left_out(self) -> None:
        """DELTA Pro (real dump): the main pack only; its state of health 0 means unknown."""
        found = packs(flatten(data.delta_pro()).numbers)
        assert set(found) == {"0"}
        assert Part.HEALTH not in found["0"]
        assert found["0"][Part.CHARGE] == pytest.approx(0.3781998)
        assert found["0"][Part.VOLTAGE] == pytest.approx(49.285)


class TestProtobufPacks:
    def test_river3_main_pack(self) -> None:
        """RIVER 3 (real capture): its 32/50 is pack 0, volts in mV."""
        decoded = envelope.decode(river3_reply())
        assert isinstance(decoded, envelope.ProtoPayload)
        raw = {k: v for s in decoded.sections for k, v in s.values.items()}
        (main,) = packs(raw).values()
        assert main[Part.VOLTAGE] == pytest.approx(19.31)
        assert main[Part.CYCLES] == 37.0
        assert RIVER3_SN  # the capture's serial, for the record

    @pytest.mark.parametrize("pair", sorted(BMS_REPORTS | {(32, 50)}))
    def test_every_pack_report_pair(self, pair: tuple[int, int]) -> None:
        """Each pair that carries a pack's heartbeat decodes to ``bms_heartbeat[<num>].*``."""
        device = AppDevice(
            "cabin",
            DELTA3,
            DeviceIdentity(name="cabin", source="ecoflow"),
            "protobuf_json",
            OnlineModel(started=0.0),
            keep_for=900.0,
        )
        main = header(pack_report(0, (80, 53200, 24, 40, 100)), (32, 50), src=7, seq=3, enc_type=1)
        extra = header(pack_report(2, (61, 52900, 27, 12, 99)), pair, src=7, seq=4, enc_type=1)
        *_, event = device.on_payload(build_envelope(main, extra), reply=False, now=1.0)
        assert isinstance(event, Reading)
        assert event.raw["bms_heartbeat[2].soc"] == 61.0
        found = packs(event.raw)
        assert found["2"] == {
            Part.CHARGE: pytest.approx(0.605),
            Part.HEALTH: pytest.approx(0.99),
            Part.VOLTAGE: pytest.approx(52.9),
            Part.TEMPERATURE: 27.0,
            Part.CYCLES: 12.0,
        }
        assert found["0"][Part.CHARGE] == pytest.approx(0.795)
        names = {(s.family.name, s.labels[-1]) for s in NAMING.samples(event)}
        assert ("ecoflow_bms_heartbeat_soc", ("index_0", "2")) in names

    def test_delta_pro3_timestamped_report_raw_only(self) -> None:
        """DELTA Pro 3's 254/23: decoded for its raw series, nothing normalized from it."""
        body = _varint(1 << 3) + _varint(1_700_000_000) + _varint(5 << 3) + _varint(3)
        decoded = envelope.decode(build_envelope(header(body, (254, 23), src=2)))
        assert isinstance(decoded, envelope.ProtoPayload)
        (section,) = decoded.sections
        assert section.values == {"report_254_23.timestamp": 1.7e9, "report_254_23.value5": 3.0}

    def test_pack_count_is_bounded(self) -> None:
        """A payload naming hundreds of packs keeps at most MAX_PACKS of them."""
        raw = {f"bms_heartbeat[{n}].soc": 50.0 for n in range(100)}
        assert len(packs(raw)) == 16
