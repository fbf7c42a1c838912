"""The app-API payload decoder: JSON or protobuf by content, the envelope, XOR, dispatch, limits."""

from __future__ import annotations

import base64
import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from power_exporter.errors import DecodeError
from power_exporter.sources.ecoflow import envelope
from power_exporter.sources.ecoflow.envelope import JsonPayload, PayloadError, ProtoPayload
from power_exporter.sources.ecoflow.proto import (
    envelope_pb2,
    heartbeat_pb2,
    powerstream_pb2,
    property_pb2,
)
from tests.sources.ecoflow.app_payloads import (
    envelope as build_envelope,
)
from tests.sources.ecoflow.app_payloads import (
    header,
    masked_copy,
    river3_reply,
    xor,
)

# ecoflow.md, section 2 A3: DisplayPropertyUpload{bms_batt_soc=80} XOR-ed with seq 42.
DERIVED_VECTOR = bytes.fromhex("0a0e0a03ba257a300140fe014815702a")
DERIVED_BASE64 = b"Cg4KA7olejABQP4BSBVwKg=="


def proto(payload: bytes) -> ProtoPayload:
    decoded = envelope.decode(payload)
    assert isinstance(decoded, ProtoPayload)
    return decoded


def values(payload: bytes) -> dict[str, float]:
    out: dict[str, float] = {}
    for section in proto(payload).sections:
        out.update(section.values)
    return out


class TestDerivedVector:
    def test_raw_vector_decodes_to_soc_80(self) -> None:
        """The hand-encoded vector of ecoflow.md: XOR with seq 42 undone, 254/21, soc 80."""
        decoded = proto(DERIVED_VECTOR)
        assert [s.kind for s in decoded.sections] == ["display"]
        assert decoded.sections[0].values == {"bms_batt_soc": 80.0}
        assert decoded.sections[0].header.seq == 42
        assert not decoded.base64

    def test_base64_vector_decodes_the_same(self) -> None:
        """The base64 spelling of the vector (valid UTF-8 text) still goes the protobuf way."""
        assert base64.b64encode(DERIVED_VECTOR) == DERIVED_BASE64
        decoded = proto(DERIVED_BASE64)
        assert decoded.base64
        assert decoded.sections[0].values == {"bms_batt_soc": 80.0}

    @pytest.mark.parametrize("length_byte", [b"[", b"{"])
    def test_header_of_91_or_123_bytes_is_protobuf(self, length_byte: bytes) -> None:
        """A first header 91 or 123 bytes long starts the payload with 0x0a then [ or {."""
        target = length_byte[0]
        pdata = b""
        while True:
            plain = envelope_pb2.Header(
                pdata=pdata, src=32, cmd_func=254, cmd_id=21, seq=42, device_sn="X"
            )
            size = len(plain.SerializeToString())
            if size >= target:
                break
            pdata += b"\x90\x0f\x50" if not pdata else b"\x00"
        payload = build_envelope(plain)
        assert payload[:2] == b"\n" + length_byte
        assert isinstance(envelope.decode(payload), ProtoPayload)

    def test_src_32_is_not_unmasked(self) -> None:
        """With src=32 the pdata is taken as it is: the plain bytes 90 0f 50 decode to 80."""
        plain = envelope_pb2.Header(
            pdata=bytes.fromhex("900f50"), src=32, enc_type=1, cmd_func=254, cmd_id=21, seq=42
        )
        assert values(build_envelope(plain)) == {"bms_batt_soc": 80.0}
        masked = envelope_pb2.Header(
            pdata=bytes.fromhex("ba257a"), src=32, enc_type=1, cmd_func=254, cmd_id=21, seq=42
        )
        assert "bms_batt_soc" not in values(build_envelope(masked))


class TestXor:
    def test_low_byte_of_seq_is_the_key(self) -> None:
        """Seq 266 masks with 10 (its low byte), as seed 002's tests pin it."""
        assert xor(bytes([5, 6, 7, 8]), 5) == bytes([0, 3, 2, 13])
        inner = property_pb2.DisplayPropertyUpload(cms_batt_soc=55.5, pow_in_sum_w=12.25)
        payload = build_envelope(header(inner, (254, 21), seq=266, enc_type=1))
        assert envelope_pb2.SendHeaderMsg.FromString(payload).msg[0].pdata == xor(
            inner.SerializeToString(), 10
        )
        assert values(payload) == {"cms_batt_soc": 55.5, "pow_in_sum_w": 12.25}

    def test_negative_seq_uses_its_twos_complement_low_byte(self) -> None:
        """A negative int32 seq masks with its two's complement low byte (-2 -> 0xfe)."""
        inner = property_pb2.DisplayPropertyUpload(pow_out_sum_w=300.0)
        payload = build_envelope(header(inner, (254, 21), seq=-2, enc_type=1))
        assert values(payload) == {"pow_out_sum_w": 300.0}

    def test_masked_capture_decodes_like_the_plain_one(self) -> None:
        """The RIVER 3 capture, XOR-masked under another seq, decodes to the same values."""
        plain = values(river3_reply())
        assert values(masked_copy(river3_reply(), 0x1234_5677)) == plain

    def test_wrong_key_is_a_counted_problem(self) -> None:
        """A display masked under the wrong key is reported as bad pdata, not as values."""
        inner = property_pb2.DisplayPropertyUpload(bms_batt_soc=80.0, pow_in_sum_w=10.0)
        good = header(inner, (254, 21), seq=7, enc_type=1)
        good.seq = 8  # the device lied about its key
        decoded = proto(build_envelope(good))
        assert decoded.sections == () or decoded.sections[0].values != {
            "bms_batt_soc": 80.0,
            "pow_in_sum_w": 10.0,
        }
        assert decoded.sections or [p.why for p in decoded.problems] == ["bad_pdata"]


class TestRiver3Capture:
    def test_four_reports(self) -> None:
        """The real get_reply: CMS heartbeat, display, BMS heartbeat and runtime, in order."""
        decoded = proto(river3_reply())
        assert [(s.kind, s.header.cmd) for s in decoded.sections] == [
            ("cms_heartbeat", (32, 2)),
            ("display", (254, 21)),
            ("bms_heartbeat", (32, 50)),
            ("runtime", (254, 22)),
        ]
        assert [s.header.src for s in decoded.sections] == [7, 2, 7, 2]
        assert {s.header.seq for s in decoded.sections} == {311821031}
        assert decoded.problems == ()

    def test_display_values(self) -> None:
        """Display fields as the capture's decode in the fixture notes gives them."""
        display = proto(river3_reply()).sections[1]
        expected = {
            "errcode": 0.0,
            "pow_in_sum_w": 50.0,
            "pow_out_sum_w": 50.0,
            "bms_batt_soc": 19.0,
            "cms_batt_soc": 19.0,
            "bms_batt_soh": 100.0,
            "pow_get_ac_in": 50.713905,
            "pow_get_ac_out": -50.713905,
            "pow_get_pv": 0.0,
            "pow_get_bms": -2.0,
            "bms_design_cap": 12800.0,
            "cms_max_chg_soc": 100.0,
            "cms_min_dsg_soc": 5.0,
            "bms_dsg_rem_time": 986.0,
            "cms_chg_rem_time": 986.0,
            "ac_out_freq": 60.0,
            "xboost_en": 1.0,
            "dc_out_open": 0.0,
        }
        assert {key: display.values[key] for key in expected} == expected
        assert display.scope == "display"

    def test_explicit_zeros_are_present(self) -> None:
        """Fields the device sent as zero are kept: they are what the zero rule relies on."""
        display = proto(river3_reply()).sections[1]
        assert display.values["pow_get_pv"] == 0.0
        assert display.values["errcode"] == 0.0
        assert "pow_get_pv2" not in display.values  # never sent by a RIVER 3

    def test_runtime_and_heartbeats(self) -> None:
        """Runtime volts in mV on a RIVER 3, a negative int32 as a 10-byte varint, strings."""
        decoded = proto(river3_reply())
        cms, _, bms, runtime = decoded.sections
        assert runtime.values["bms_batt_vol"] == 19310.0
        assert runtime.values["bms_batt_amp"] == -111.0
        assert runtime.values["pd_firm_ver"] == 33554699.0
        assert runtime.values["plug_in_info_ac_out_vol"] == 123.51778
        assert runtime.values["display_property_full_upload_period"] == 120000.0
        assert bms.scope == "bms_heartbeat[0]"
        assert bms.values["bms_heartbeat[0].amp"] == -121.0
        assert bms.values["bms_heartbeat[0].vol"] == 19310.0
        assert bms.values["bms_heartbeat[0].cycles"] == 37.0
        # six cells (19.3 V / 3.22 V), sent packed, all zero in this capture
        assert [bms.values[f"bms_heartbeat[0].cell_vol[{i}]"] for i in range(6)] == [0.0] * 6
        assert "bms_heartbeat[0].cell_vol[6]" not in bms.values
        assert bms.texts["bms_heartbeat[0].bms_sn"] == "R651PC0CXGCA0798"
        assert cms.values["cms_heartbeat.v1p0.lcd_show_soc"] == 19.0
        assert cms.values["cms_heartbeat.v1p0.f32_lcd_show_soc"] == pytest.approx(19.1086, 1e-4)
        assert cms.values["cms_heartbeat.v1p3.ems_heartbeat_ver"] == 259.0

    def test_base64_capture(self) -> None:
        """The capture wrapped in base64 (with a trailing newline) decodes the same."""
        wrapped = base64.b64encode(river3_reply()) + b"\n"
        assert values(wrapped) == values(river3_reply())


class TestDispatch:
    def test_unknown_command_is_reported_with_its_header(self) -> None:
        """254/99 is not decoded: it is reported, and the display beside it still is."""
        known = header(property_pb2.DisplayPropertyUpload(pow_in_sum_w=5.0), (254, 21))
        unknown = header(b"\x08\x01", (254, 99), device_sn="MR51XXXX")
        decoded = proto(build_envelope(unknown, known))
        assert [s.kind for s in decoded.sections] == ["display"]
        (problem,) = decoded.problems
        assert problem.why == "unknown_command"
        assert problem.header.cmd == (254, 99)
        assert "254/99" in str(problem.header)
        assert "MR51XXXX" in str(problem.header)

    def test_unknown_command_is_logged_at_debug(self, caplog: pytest.LogCaptureFixture) -> None:
        """The header of an unknown pair goes to the debug log."""
        caplog.set_level("DEBUG", logger="power_exporter.sources.ecoflow.envelope")
        proto(build_envelope(header(b"\x08\x01", (3, 99))))
        assert "cmd 3/99" in caplog.text

    def test_powerstream_heartbeat_uses_developer_api_names(self) -> None:
        """20/1 keys are ``20_1.<jsonName>``: the names the developer API gives them."""
        beat = powerstream_pb2.InverterHeartbeat(
            pv1_input_watts=330, inv_error_code=0, bat_input_watts=-670, wifi_rssi=-28
        )
        got = values(build_envelope(header(beat, (20, 1), src=20, seq=99, enc_type=1)))
        assert got == {
            "20_1.pv1InputWatts": 330.0,
            "20_1.invErrCode": 0.0,
            "20_1.batInputWatts": -670.0,
            "20_1.wifiRssi": -28.0,
        }

    def test_restricted_table_counts_foreign_commands(self) -> None:
        """With an empty command table (a foreign schema) everything is counted, nothing named."""
        decoded = envelope.decode(river3_reply(), {})
        assert isinstance(decoded, ProtoPayload)
        assert decoded.sections == ()
        assert [p.why for p in decoded.problems] == ["unknown_command"] * 4

    def test_header_without_pdata_says_nothing(self) -> None:
        """A header with no pdata (a get request echoed) is neither data nor a problem."""
        decoded = proto(build_envelope(envelope_pb2.Header(src=32, dest=32, seq=5)))
        assert decoded.sections == ()
        assert [p.why for p in decoded.problems] == ["unknown_command"]
        bare = proto(build_envelope(envelope_pb2.Header(cmd_func=254, cmd_id=21, seq=5)))
        assert bare.sections == ()
        assert bare.problems == ()

    def test_mistyped_wire_value_is_recovered(self) -> None:
        """module_wifi_rssi as an int32 varint (vpikus) where we declare a float ([M], [I])."""
        raw = _tag(602, 0) + _varint(-60 & 0xFFFF_FFFF_FFFF_FFFF)  # a 10-byte negative varint
        assert values(build_envelope(header(raw, (254, 21)))) == {"module_wifi_rssi": -60.0}
        # and a float32 where an integer is declared (bms_design_cap as fixed32)
        as_float = _tag(248, 5) + struct.pack("<f", 12800.0)
        got = values(build_envelope(header(as_float, (254, 21))))
        assert got == {"bms_design_cap": 12800.0}


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


class TestJsonOrProtobuf:
    def test_json_object(self) -> None:
        """A JSON push is recognised by its content and parsed."""
        decoded = envelope.decode(b' \n{"params": {"pd.soc": 85}}')
        assert isinstance(decoded, JsonPayload)
        assert decoded.document == {"params": {"pd.soc": 85}}

    def test_protobuf_that_is_valid_utf8(self) -> None:
        """A protobuf payload made only of ASCII bytes is still protobuf (seed 002 misroutes it)."""
        report = heartbeat_pb2.CMSHeartBeatReport()
        report.v1p0.chg_state = 1
        payload = build_envelope(header(report, (32, 2), src=7))
        payload.decode("ascii")  # valid UTF-8 and ASCII
        assert values(payload) == {"cms_heartbeat.v1p0.chg_state": 1.0}

    def test_protobuf_that_starts_like_text_is_not_json(self) -> None:
        """Only ``{``/``[`` open the JSON path; anything else is the envelope or an error."""
        with pytest.raises(PayloadError) as caught:
            envelope.decode(b"hello world")
        assert caught.value.why == "protobuf"


class TestHostileInput:
    @pytest.mark.parametrize(
        ("payload", "why"),
        [
            (b"", "empty"),
            (b"  \r\n", "empty"),
            (b"{", "json"),
            (b'{"a": 1', "json"),
            (b"[1, 2]", "json"),
            (b"\xff{", "protobuf"),
            (b"\x80\x81\x82\x83", "protobuf"),
            (b"\x0a\x05\x0a\x03", "protobuf"),
            (b"\x08\x01", "no_headers"),
            (b"{" * 50_000, "json"),
            (b"[" * 100_000 + b"]" * 100_000, "json"),
            (b"0" * (envelope.MAX_PAYLOAD + 1), "too_large"),
            (b"\x0a\x00" * (envelope.MAX_HEADERS + 1), "too_many_headers"),
        ],
    )
    def test_bad_payload_raises_decode_error(self, payload: bytes, why: str) -> None:
        """Each kind of garbage is a DecodeError with the word it is counted under."""
        with pytest.raises(PayloadError) as caught:
            envelope.decode(payload)
        assert caught.value.why == why
        assert isinstance(caught.value, DecodeError)

    def test_megabytes_are_refused_before_parsing(self) -> None:
        """A payload of megabytes is refused by size (the cap is far above any real report)."""
        with pytest.raises(PayloadError, match="limit"):
            envelope.decode(b"\x0a" * (4 << 20))
        assert len(river3_reply()) * 100 < envelope.MAX_PAYLOAD

    def test_every_truncation_of_the_capture(self) -> None:
        """Cut anywhere, the capture decodes partly or raises DecodeError, never anything else."""
        capture = river3_reply()
        outcomes = set()
        for cut in range(len(capture)):
            try:
                decoded = envelope.decode(capture[:cut])
            except PayloadError as exc:
                outcomes.add(exc.why)
            else:
                outcomes.add("decoded")
                assert isinstance(decoded, ProtoPayload)
        assert outcomes <= {"decoded", "protobuf", "empty", "no_headers"}
        assert "protobuf" in outcomes

    def test_non_finite_float_is_dropped_and_reported(self) -> None:
        """NaN and infinity in a float field never become values."""
        inner = property_pb2.DisplayPropertyUpload(
            pow_in_sum_w=math.nan, pow_out_sum_w=math.inf, bms_batt_soc=40.0
        )
        decoded = proto(build_envelope(header(inner, (254, 21))))
        assert decoded.sections[0].values == {"bms_batt_soc": 40.0}
        assert [p.why for p in decoded.problems] == ["non_finite"]


_headers = st.builds(
    lambda pdata, func, cmd, seq, enc, src: envelope_pb2.Header(
        pdata=pdata, cmd_func=func, cmd_id=cmd, seq=seq, enc_type=enc, src=src
    ),
    st.binary(max_size=300),
    st.sampled_from([254, 32, 20, 2, 0, -1]),
    st.sampled_from([21, 22, 2, 50, 1, 23, 0]),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from([0, 1]),
    st.sampled_from([2, 7, 20, 32]),
)


class TestFuzz:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.binary(max_size=2048))
    def test_arbitrary_bytes(self, payload: bytes) -> None:
        """Any bytes: a decoded payload or a DecodeError, nothing else, and only finite values."""
        _check(payload)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_headers, min_size=1, max_size=6), st.booleans())
    def test_envelopes_with_random_pdata(
        self, headers: list[envelope_pb2.Header], wrap: bool
    ) -> None:
        """Well-formed envelopes around random inner bytes, raw or base64-wrapped."""
        payload = build_envelope(*headers)
        _check(base64.b64encode(payload) if wrap else payload)

    @settings(max_examples=200, deadline=None)
    @given(st.integers(0, 1466), st.integers(0, 255), st.integers(1, 1466))
    def test_mutated_capture(self, position: int, byte: int, length: int) -> None:
        """The real capture with one byte changed and cut somewhere."""
        capture = bytearray(river3_reply())
        capture[position] = byte
        _check(bytes(capture[:length]))


def _check(payload: bytes) -> None:
    try:
        decoded = envelope.decode(payload)
    except PayloadError:
        return
    if isinstance(decoded, ProtoPayload):
        for section in decoded.sections:
            assert all(math.isfinite(v) for v in section.values.values())
