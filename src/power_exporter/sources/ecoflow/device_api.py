"""``api: device``: the read-only request/reply of the app API, and the guard that keeps it so.

A device pushes on ``/app/device/property/{sn}`` mostly while the phone app watches it. The
request/reply API wakes it: a request published to ``/app/{userId}/{sn}/thing/property/get``
is answered on ``.../get_reply`` with everything the device knows (ecoflow.md section 2 A2/A3,
field notes 1.9):

- JSON devices: ``{"operateType": "latestQuotas", "params": {}, ...}``; the reply holds
  ``data.online`` and ``data.quotaMap``;
- protobuf devices (RIVER 3, DELTA 3 family, DELTA Pro 3): a ``SendHeaderMsg`` with one
  header holding only ``src=32, dest=32, seq, from`` (no pdata, no command); the reply carries
  several headers (display, runtime, BMS, CMS);
- PowerStream: the same header with ``cmd_func=20, cmd_id=1`` and the device's SN.

We never write to a device: every publish goes through :func:`check_read_only`, which lets
nothing through but these three requests on the ``get`` topic (a set command, a ``set``
topic, a header with pdata or another command all raise :class:`ReadOnlyError`).
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Final

from google.protobuf.message import DecodeError as ProtobufDecodeError

from power_exporter.sources.ecoflow.envelope import APP_SOURCE
from power_exporter.sources.ecoflow.proto import envelope_pb2
from power_exporter.sources.ecoflow.protobuf_families import Schema, schema_of

if TYPE_CHECKING:
    from collections.abc import Callable

PROPERTY_TOPIC: Final = "/app/device/property/{sn}"
GET_TOPIC: Final = "/app/{user_id}/{sn}/thing/property/get"
GET_REPLY_TOPIC: Final = "/app/{user_id}/{sn}/thing/property/get_reply"
# The phone app's own request (tolwi's DELTA 2 diagnostics) says it comes from "Android".
FROM: Final = "Android"
LATEST_QUOTAS: Final = "latestQuotas"
# Header commands a get request may carry: none (get everything) or PowerStream's heartbeat.
_GET_COMMANDS: Final = frozenset({(0, 0), (20, 1)})


class ReadOnlyError(ValueError):
    """Something other than a read request was about to be published: a bug, refused."""


def request_id(rand: Callable[[int, int], int] = random.randint) -> int:
    """A request id / seq as EcoFlow's clients make them: 999900000 + 10000..99999 (int32)."""
    return 999_900_000 + rand(10_000, 99_999)


def latest_quotas_request(ident: int) -> bytes:
    """The JSON ``latestQuotas`` request, as the phone app sends it."""
    return json.dumps(
        {
            "from": FROM,
            "id": str(ident),
            "moduleType": 0,
            "operateType": LATEST_QUOTAS,
            "params": {},
            "version": "1.1",
        },
        separators=(",", ":"),
    ).encode()


def get_all_request(seq: int, serial: str = "") -> bytes:
    """The protobuf "get everything" header (with PowerStream's command when ``serial`` says so)."""
    header = envelope_pb2.Header(src=APP_SOURCE, dest=APP_SOURCE, seq=seq)
    setattr(header, "from", FROM)
    if serial and schema_of(serial) is Schema.POWERSTREAM:
        header.cmd_func, header.cmd_id, header.data_len = 20, 1, 0
        header.device_sn = serial
    return envelope_pb2.SendHeaderMsg(msg=[header]).SerializeToString()


def request_for(serial: str, *, protobuf: bool | None, ident: int) -> bytes:
    """The request a device understands: by the payloads it sent, else by its SN prefix.

    ``protobuf`` is what the device has been seen to send (None: nothing yet). Devices of an
    unknown prefix get ``latestQuotas``, as seed 002 sends to every device.
    """
    if protobuf is None:
        protobuf = schema_of(serial) is not Schema.UNKNOWN
    return get_all_request(ident, serial) if protobuf else latest_quotas_request(ident)


def check_read_only(topic: str, payload: bytes, *, user_id: str, serial: str) -> None:
    """Raise :class:`ReadOnlyError` unless ``payload`` on ``topic`` is one of our get requests."""
    expected = GET_TOPIC.format(user_id=user_id, sn=serial)
    if topic != expected:
        raise ReadOnlyError(f"refusing to publish to {topic!r}: only {expected!r} is read-only")
    if payload[:1] == b"{":
        _check_json(payload)
        return
    try:
        message = envelope_pb2.SendHeaderMsg.FromString(payload)
    except ProtobufDecodeError:
        raise ReadOnlyError("refusing to publish bytes that are not a get request") from None
    if not message.msg:
        raise ReadOnlyError("refusing to publish an empty envelope")
    for header in message.msg:
        if header.pdata or (header.cmd_func, header.cmd_id) not in _GET_COMMANDS:
            raise ReadOnlyError(
                f"refusing to publish command {header.cmd_func}/{header.cmd_id}"
                f" with {len(header.pdata)} bytes of pdata: only get requests are sent"
            )


def _check_json(payload: bytes) -> None:
    try:
        document = json.loads(payload)
    except ValueError:
        raise ReadOnlyError("refusing to publish malformed JSON") from None
    if not isinstance(document, dict) or document.get("operateType") != LATEST_QUOTAS:
        raise ReadOnlyError("refusing to publish JSON other than a latestQuotas request")
    if document.get("params") != {}:
        raise ReadOnlyError("refusing to publish a latestQuotas request with parameters")
