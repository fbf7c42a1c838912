"""Payloads the app-API tests build: envelopes encoded from the field facts, and the fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Final

from power_exporter.model import DeviceIdentity
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.ecoflow.proto import envelope_pb2
from power_exporter.store import Store
from tests.sources.ecoflow.test_exposition import promtool_check, render

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from power_exporter.model import Reading

FIXTURES: Final = Path(__file__).parents[2] / "fixtures" / "ecoflow_app"
RIVER3_REPLY: Final = FIXTURES / "maodijim__river3__thing-property-get_reply__protobuf.bin"
RIVER3_SN: Final = "R651PC0CXGCA0798"


def river3_reply() -> bytes:
    """The real RIVER 3 get_reply payload (four headers, no XOR)."""
    return RIVER3_REPLY.read_bytes()


def fixture_json(name: str) -> dict[str, object]:
    """A JSON fixture by file name."""
    document = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def xor(data: bytes, seq: int) -> bytes:
    """Mask ``data`` as a device does when ``enc_type == 1``."""
    key = seq & 0xFF
    return bytes(byte ^ key for byte in data)


def header(
    inner: Message | bytes,
    cmd: tuple[int, int],
    *,
    seq: int = 0,
    src: int = 2,
    enc_type: int | None = None,
    device_sn: str | None = None,
) -> envelope_pb2.Header:
    """One header around ``inner``, XOR-masked when ``enc_type == 1`` and ``src != 32``."""
    pdata = inner if isinstance(inner, bytes) else inner.SerializeToString()
    if enc_type == 1 and src != 32:
        pdata = xor(pdata, seq)
    built = envelope_pb2.Header(pdata=pdata, src=src, cmd_func=cmd[0], cmd_id=cmd[1], seq=seq)
    if enc_type is not None:
        built.enc_type = enc_type
    if device_sn is not None:
        built.device_sn = device_sn
    return built


def envelope(*headers: envelope_pb2.Header) -> bytes:
    """A ``SendHeaderMsg`` payload of ``headers``."""
    return envelope_pb2.SendHeaderMsg(msg=list(headers)).SerializeToString()


def masked_copy(payload: bytes, seq: int) -> bytes:
    """The same envelope with every header XOR-masked under ``seq`` (as newer firmware sends)."""
    original = envelope_pb2.SendHeaderMsg.FromString(payload)
    rebuilt = envelope_pb2.SendHeaderMsg()
    for item in original.msg:
        copy = rebuilt.msg.add()
        copy.CopyFrom(item)
        copy.seq, copy.enc_type = seq, 1
        copy.pdata = xor(item.pdata, seq)
    return rebuilt.SerializeToString()


def app_device(name: str, serial: str, family: str) -> AppDevice:
    """An app-API device of ``family``, online from the start."""
    return AppDevice(
        name,
        serial,
        DeviceIdentity(name=name, source="ecoflow"),
        family,
        OnlineModel(started=0.0),
        keep_for=900.0,
    )


def exposed(name: str, event: Reading) -> str:
    """The device's exposition, checked by promtool."""
    store = Store()
    store.register(name, source="ecoflow", unit=name, interval=15)
    store.update(event, unit=name, interval=15)
    text = render(store)
    promtool_check(text)
    return text
