"""The read requests of ``api: device`` and the guard that lets nothing else out."""

from __future__ import annotations

import json

import pytest

from power_exporter.sources.ecoflow.device_api import (
    GET_TOPIC,
    ReadOnlyError,
    check_read_only,
    get_all_request,
    latest_quotas_request,
    request_for,
    request_id,
)
from power_exporter.sources.ecoflow.proto import envelope_pb2, property_pb2
from tests.sources.ecoflow.app_payloads import fixture_json

USER_ID, SN = "1234567890", "R651PC0CXGCA0798"
TOPIC = GET_TOPIC.format(user_id=USER_ID, sn=SN)


def header_of(payload: bytes) -> envelope_pb2.Header:
    (header,) = envelope_pb2.SendHeaderMsg.FromString(payload).msg
    return header


class TestRequests:
    def test_latest_quotas_is_the_phone_apps_request(self) -> None:
        """Same keys and values as the phone app's captured request, our own id."""
        ours = json.loads(latest_quotas_request(999912345))
        captured = fixture_json("tolwi-diag__delta2__thing-property-get__latestQuotas-request.json")
        assert ours == {**captured, "id": "999912345"}

    def test_get_all_header(self) -> None:
        """One header: src 32, dest 32, seq, from; no pdata and no command."""
        header = header_of(get_all_request(999955555))
        assert (header.src, header.dest, header.seq) == (32, 32, 999955555)
        assert getattr(header, "from") == "Android"
        assert header.pdata == b""
        assert not header.HasField("cmd_func")
        assert not header.HasField("device_sn")

    def test_powerstream_header_names_its_command_and_sn(self) -> None:
        """PowerStream: cmd 20/1 with data_len 0 and the device's SN (tolwi's request)."""
        header = header_of(get_all_request(999911111, "HW51ZEH4SF5R3047"))
        assert (header.cmd_func, header.cmd_id, header.data_len) == (20, 1, 0)
        assert header.device_sn == "HW51ZEH4SF5R3047"
        assert header.pdata == b""

    def test_request_by_what_the_device_sends(self) -> None:
        """By the payloads seen; before any, by the SN prefix (unknown prefix: latestQuotas)."""
        assert request_for(SN, protobuf=None, ident=1)[:1] == b"\n"
        assert request_for("R331ZEB4ZE000001", protobuf=None, ident=1)[:1] == b"{"
        assert request_for("R331ZEB4ZE000001", protobuf=True, ident=1)[:1] == b"\n"
        assert request_for(SN, protobuf=False, ident=1)[:1] == b"{"

    def test_request_ids(self) -> None:
        """999900000 + 10000..99999, within int32 (a header's seq)."""
        assert request_id(lambda low, _high: low) == 999_910_000
        assert request_id(lambda _low, high: high) == 999_999_999 < 2**31
        assert all(999_910_000 <= request_id() <= 999_999_999 for _ in range(100))


class TestReadOnlyGuard:
    @pytest.mark.parametrize(
        "payload",
        [
            latest_quotas_request(999912345),
            get_all_request(999912345),
            get_all_request(999912345, "HW51ZEH4SF5R3047"),
        ],
    )
    def test_our_requests_pass(self, payload: bytes) -> None:
        """The three read requests go through."""
        check_read_only(TOPIC, payload, user_id=USER_ID, serial=SN)

    @pytest.mark.parametrize(
        "topic",
        [
            f"/app/{USER_ID}/{SN}/thing/property/set",
            f"/app/{USER_ID}/OTHER/thing/property/get",
            f"/app/999/{SN}/thing/property/get",
            f"/app/device/property/{SN}",
        ],
    )
    def test_other_topics_are_refused(self, topic: str) -> None:
        """Only the device's own get topic: never set, never someone else's device."""
        with pytest.raises(ReadOnlyError, match="refusing to publish"):
            check_read_only(topic, latest_quotas_request(1), user_id=USER_ID, serial=SN)

    @pytest.mark.parametrize(
        "payload",
        [
            b'{"operateType": "TCP", "params": {"id": 66, "enabled": 0}}',
            b'{"operateType": "setRtcTime", "params": {}}',
            b'{"operateType": "latestQuotas", "params": {"quotas": ["x"]}}',
            b"{not json",
            b"",
            b"\xff\xff",
            envelope_pb2.SendHeaderMsg(
                msg=[
                    envelope_pb2.Header(
                        src=32,
                        dest=2,
                        cmd_func=254,
                        cmd_id=17,
                        pdata=property_pb2.DisplayPropertyUpload(
                            ac_out_open=True
                        ).SerializeToString(),
                    )
                ]
            ).SerializeToString(),
            envelope_pb2.SendHeaderMsg(
                msg=[envelope_pb2.Header(src=32, dest=32, cmd_func=20, cmd_id=129)]
            ).SerializeToString(),
        ],
    )
    def test_writes_are_refused(self, payload: bytes) -> None:
        """Set commands (JSON or protobuf, with or without pdata) and junk never go out."""
        with pytest.raises(ReadOnlyError):
            check_read_only(TOPIC, payload, user_id=USER_ID, serial=SN)
