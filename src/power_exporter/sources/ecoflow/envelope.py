"""Decode one MQTT payload of EcoFlow's app API: JSON, or the protobuf ``SendHeaderMsg`` envelope.

JSON and protobuf are told apart by the first byte as received (nothing stripped): a JSON
document starts with ``{``, a protobuf
envelope starts with the tag of its field 1 (``0x0a``), and some devices send the envelope
base64-encoded, which is text and valid UTF-8 (so "does it decode as UTF-8" is not the test).

Each ``Header`` of the envelope carries an inner message in ``pdata``; when ``enc_type == 1``
and ``src != 32`` every ``pdata`` byte is XOR-ed with the low byte of ``seq``. The inner
message is chosen by ``(cmd_func, cmd_id)`` from a command table; pairs the table does not
know are reported back (the caller counts them), as are inner messages that do not parse.

Nothing here raises anything but :class:`PayloadError` (a ``DecodeError``), whatever the
input: the size, the number of headers and the nesting are bounded.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from google.protobuf import unknown_fields
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError as ProtobufDecodeError

from power_exporter.errors import DecodeError
from power_exporter.sources.ecoflow.proto import (
    energy_pb2,
    envelope_pb2,
    heartbeat_pb2,
    powerstream_pb2,
    property_pb2,
    report_pb2,
    smartplug_pb2,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from google.protobuf.message import Message

log = logging.getLogger(__name__)

# The largest payload we look at. A RIVER 3 get_reply with four reports is 1.5 KB and a DELTA 2
# Max latestQuotas reply with 303 keys about 10 KB; anything near a megabyte is not EcoFlow's.
MAX_PAYLOAD: Final = 256 * 1024
# A get_reply carries four headers; a payload with more than this is not a device report.
MAX_HEADERS: Final = 64
APP_SOURCE: Final = 32  # the app/cloud's address: its pdata is never XOR-ed
_BASE64_ALPHABET: Final = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
)
_WHITESPACE: Final = b" \t\r\n"


class PayloadError(DecodeError):
    """A payload that cannot be decoded; ``why`` is a short fixed word for counting."""

    def __init__(self, why: str, message: str) -> None:
        self.why = why
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    """What a header says of itself (for dispatch, logging and matching replies)."""

    cmd_func: int
    cmd_id: int
    src: int
    dest: int
    seq: int
    enc_type: int
    product_id: int
    device_sn: str

    @property
    def cmd(self) -> tuple[int, int]:
        """The ``(cmd_func, cmd_id)`` pair."""
        return (self.cmd_func, self.cmd_id)

    def __str__(self) -> str:
        return (
            f"cmd {self.cmd_func}/{self.cmd_id} src {self.src} dest {self.dest} seq {self.seq}"
            f" enc {self.enc_type} product {self.product_id}"
            + (f" sn {self.device_sn}" if self.device_sn else "")
        )


@dataclass(frozen=True, slots=True)
class Command:
    """How the pdata of one ``(cmd_func, cmd_id)`` is decoded and named.

    ``prefix`` turns the parsed message into the prefix of its keys (``""`` for the property
    uploads, whose names seed 002 exported bare); ``json_names`` names fields by their
    ``json_name`` (PowerStream, whose developer-API keys are ``20_1.<jsonName>``).
    """

    kind: str
    message: type[Message]
    prefix: Callable[[Message], str]
    json_names: bool = False
    whole: bool = False  # every message is its scope entire (a report, not an increment)
    # a repeated message field whose items are sections of their own, ``prefix`` called on each
    # item (DELTA Pro Ultra's 2/4: one scope per battery pack, named by the pack's number)
    each: str = ""


def _fixed(text: str) -> Callable[[Message], str]:
    return lambda _message: text


def _bms_pack(message: Message) -> str:
    number = getattr(message, "num", 0)
    return f"bms_heartbeat[{number}]."


BMS_REPORTS: Final = frozenset(
    {(3, 1), (3, 2), (3, 30), (3, 50), (32, 1), (32, 3), (32, 51), (32, 52)}
    | {(254, number) for number in range(24, 31)}
)
"""Pairs besides 32/50 that carry a battery pack's heartbeat (tolwi's and foxthefox's tables)."""

# (cmd_func, cmd_id) -> inner message. Facts: the project's EcoFlow field notes, section 1.
COMMANDS: Final[Mapping[tuple[int, int], Command]] = {
    (254, 21): Command("display", property_pb2.DisplayPropertyUpload, _fixed("")),
    (254, 22): Command("runtime", property_pb2.RuntimePropertyUpload, _fixed("")),
    (32, 2): Command("cms_heartbeat", heartbeat_pb2.CMSHeartBeatReport, _fixed("cms_heartbeat.")),
    (32, 50): Command("bms_heartbeat", heartbeat_pb2.BMSHeartBeatReport, _bms_pack),
    (20, 1): Command(
        "inverter_heartbeat", powerstream_pb2.InverterHeartbeat, _fixed("20_1."), json_names=True
    ),
    # PowerStream's second heartbeat (older firmware): raw only
    (20, 4): Command(
        "inverter_heartbeat2", powerstream_pb2.InverterHeartbeat2, _fixed("20_4."), json_names=True
    ),
    (254, 32): Command(
        "energy_totals",
        energy_pb2.BatchEnergyTotalReport,
        _fixed("254_32."),
        json_names=True,
        whole=True,
    ),
    (2, 1): Command("plug_heartbeat", smartplug_pb2.PlugHeartbeat, _fixed("2_1."), json_names=True),
    (254, 23): Command("report_254_23", report_pb2.TimestampedReport, _fixed("report_254_23.")),
    # Battery-pack reports under other numbers (extra batteries, DELTA Pro 3): the 32/50 layout,
    # one scope per pack whichever pair carried it. Field notes 1.2.
    **{
        pair: Command("bms_heartbeat", heartbeat_pb2.BMSHeartBeatReport, _bms_pack)
        for pair in BMS_REPORTS
    },
}


@dataclass(frozen=True, slots=True)
class Section:
    """One decoded inner message: its values under their raw keys.

    ``scope`` names the message the keys came from (``display``, ``bms_heartbeat[1]``...):
    a full snapshot of a scope says that keys of that scope it lacks are zero.
    """

    kind: str
    scope: str
    header: HeaderInfo
    values: Mapping[str, float]
    texts: Mapping[str, str]
    whole: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in a payload that was skipped; ``why`` is the word it is counted under."""

    why: str
    header: HeaderInfo
    detail: str


@dataclass(frozen=True, slots=True)
class ProtoPayload:
    """A decoded protobuf envelope."""

    sections: tuple[Section, ...]
    problems: tuple[Problem, ...] = ()
    base64: bool = False
    headers: tuple[HeaderInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class JsonPayload:
    """A JSON object (a push ``{"params": ...}`` or a ``latestQuotas`` reply)."""

    document: Mapping[str, object] = field(default_factory=dict)


def decode(
    payload: bytes, commands: Mapping[tuple[int, int], Command] = COMMANDS
) -> JsonPayload | ProtoPayload:
    """Decode one MQTT payload; raise :class:`PayloadError` when nothing can be made of it."""
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError("too_large", f"payload of {len(payload)} bytes (limit {MAX_PAYLOAD})")
    # The first byte as received decides: a protobuf envelope whose first header is 91 or
    # 123 bytes long has ``[`` or ``{`` as its *second* byte, never its first (0x0a).
    # Whitespace other than 0x0a (the envelope's own first byte) can only lead JSON text.
    text = payload.lstrip(_WHITESPACE) if payload[:1] in {b" ", b"\t", b"\r"} else payload
    if not text.strip(_WHITESPACE):
        raise PayloadError("empty", "empty payload")
    if text[:1] in {b"{", b"["}:
        return _decode_json(text)
    raw, was_base64 = _unwrap_base64(payload.rstrip(_WHITESPACE)), True
    if raw is None:
        raw, was_base64 = payload, False
    return _decode_envelope(raw, commands, base64=was_base64)


def _decode_json(text: bytes) -> JsonPayload:
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PayloadError("json", f"malformed JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError("json", f"JSON {type(document).__name__}, not an object")
    return JsonPayload(document)


def _unwrap_base64(text: bytes) -> bytes | None:
    """The bytes a strict base64 text encodes, or None when ``text`` is not base64."""
    if len(text) % 4 or not _BASE64_ALPHABET.issuperset(text):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


def _decode_envelope(
    raw: bytes, commands: Mapping[tuple[int, int], Command], *, base64: bool
) -> ProtoPayload:
    envelope = envelope_pb2.SendHeaderMsg()
    try:
        envelope.ParseFromString(raw)
    except (ProtobufDecodeError, RecursionError, ValueError) as exc:
        raise PayloadError("protobuf", f"not a protobuf envelope: {exc}") from None
    if not envelope.msg:
        raise PayloadError("no_headers", "protobuf envelope without headers")
    if len(envelope.msg) > MAX_HEADERS:
        raise PayloadError("too_many_headers", f"{len(envelope.msg)} headers (limit {MAX_HEADERS})")
    sections: list[Section] = []
    problems: list[Problem] = []
    infos: list[HeaderInfo] = []
    for header in envelope.msg:
        info = _info(header)
        infos.append(info)
        command = commands.get(info.cmd)
        if command is None:
            log.debug("protobuf header without a decoder: %s", info)
            problems.append(Problem("unknown_command", info, f"no decoder for {info}"))
            continue
        if not header.pdata:
            continue  # a header without payload (an ack, or a get request echoed) says nothing
        decoded = _decode_section(command, info, _unmask(header, info), problems)
        if isinstance(decoded, Section):
            sections.append(decoded)
        elif decoded is not None:
            sections.extend(decoded)
    return ProtoPayload(tuple(sections), tuple(problems), base64, tuple(infos))


def _info(header: envelope_pb2.Header) -> HeaderInfo:
    return HeaderInfo(
        cmd_func=header.cmd_func,
        cmd_id=header.cmd_id,
        src=header.src,
        dest=header.dest,
        seq=header.seq,
        enc_type=header.enc_type,
        product_id=header.product_id,
        device_sn=header.device_sn,
    )


def _unmask(header: envelope_pb2.Header, info: HeaderInfo) -> bytes:
    """The pdata, XOR-ed back with the low byte of ``seq`` when the header says it is masked."""
    if info.enc_type != 1 or info.src == APP_SOURCE:
        return header.pdata
    key = info.seq & 0xFF  # two's complement low byte, also for a negative int32 seq
    return header.pdata.translate(bytes(byte ^ key for byte in range(256)))


def _decode_section(
    command: Command, info: HeaderInfo, pdata: bytes, problems: list[Problem]
) -> Section | list[Section] | None:
    message = command.message()
    try:
        message.ParseFromString(pdata)
    except (ProtobufDecodeError, RecursionError, ValueError) as exc:
        problems.append(Problem("bad_pdata", info, f"{command.kind} does not parse: {exc}"))
        return None
    if command.each:
        return _decode_items(command, info, message, problems)
    return _section(command, info, message, command.prefix(message), problems)


def _decode_items(
    command: Command, info: HeaderInfo, message: Message, problems: list[Problem]
) -> list[Section]:
    """One section per item of ``command.each``; an item without its own name keeps its place."""
    sections: list[Section] = []
    before = len(problems)
    field = message.DESCRIPTOR.fields_by_name[command.each]
    name = field.json_name if command.json_names else field.name
    for index, item in enumerate(getattr(message, command.each)):
        prefix = command.prefix(item) or f"{name}[{index}]."
        section = _section(command, info, item, prefix, problems)
        if section is not None:
            sections.append(section)
    if not sections and len(problems) == before:
        problems.append(Problem("bad_pdata", info, f"{command.kind} holds no known field"))
    return sections


def _section(
    command: Command, info: HeaderInfo, message: Message, prefix: str, problems: list[Problem]
) -> Section | None:
    values: dict[str, float] = {}
    texts: dict[str, str] = {}
    dropped = _flatten(message, prefix, values, texts, json_names=command.json_names)
    if not values and not texts and not dropped:
        # Bytes that parse but hold no field we know: a wrong XOR key, or a foreign schema.
        problems.append(Problem("bad_pdata", info, f"{command.kind} holds no known field"))
        return None
    if dropped:
        problems.append(Problem("non_finite", info, f"{command.kind}: dropped {dropped}"))
    scope = prefix.rstrip(".") or command.kind
    return Section(command.kind, scope, info, values, texts, whole=command.whole)


def _flatten(
    message: Message,
    prefix: str,
    values: dict[str, float],
    texts: dict[str, str],
    *,
    json_names: bool,
) -> list[str]:
    """Put every field present in ``message`` under ``prefix``: ``a.b``, ``a[i]``, ``a[i].b``.

    Returns the keys dropped because their value was not finite.
    """
    dropped: list[str] = []
    numbers: list[tuple[str, float]] = []
    for descriptor, value in message.ListFields():
        name = prefix + (descriptor.json_name if json_names else descriptor.name)
        if descriptor.is_repeated:
            items = [(f"{name}[{index}]", item) for index, item in enumerate(value)]
        else:
            items = [(name, value)]
        for key, item in items:
            if descriptor.type == FieldDescriptor.TYPE_MESSAGE:
                dropped += _flatten(item, key + ".", values, texts, json_names=json_names)
            elif descriptor.type == FieldDescriptor.TYPE_STRING:
                if item:
                    texts[key] = item
            elif descriptor.type != FieldDescriptor.TYPE_BYTES:  # opaque blobs: not exported
                numbers.append((key, _number(descriptor, item)))
    known = {key for key, _ in numbers}
    numbers += [
        (key, number)
        for key, number in _mistyped(message, prefix, json_names=json_names)
        if key not in known
    ]
    for key, number in numbers:
        if math.isfinite(number):
            values[key] = number
        else:
            dropped.append(key)
    return dropped


_NUMERIC_TYPES: Final = frozenset(
    {
        FieldDescriptor.TYPE_FLOAT,
        FieldDescriptor.TYPE_DOUBLE,
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_BOOL,
        FieldDescriptor.TYPE_ENUM,
    }
)
_VARINT, _FIXED32 = 0, 5


def _mistyped(message: Message, prefix: str, *, json_names: bool) -> list[tuple[str, float]]:
    """Values of declared scalar fields that arrived with another wire type.

    The sources disagree on some types (``bms_batt_soc`` is a float in a RIVER 3 capture and a
    uint32 in vpikus's schema; ``module_wifi_rssi`` float or int32). protobuf files such a field
    under unknown fields; we take a varint as an integer and a fixed32 as a float32 instead.
    """
    found: list[tuple[str, float]] = []
    by_number = message.DESCRIPTOR.fields_by_number
    try:
        unknowns = unknown_fields.UnknownFieldSet(message)
        listed = [unknowns[index] for index in range(len(unknowns))]
    except (RuntimeError, ValueError, ProtobufDecodeError):  # pure-Python protobuf is stricter
        return found
    for unknown in listed:
        descriptor = by_number.get(unknown.field_number)
        if descriptor is None or descriptor.is_repeated or descriptor.type not in _NUMERIC_TYPES:
            continue
        name = prefix + (descriptor.json_name if json_names else descriptor.name)
        if unknown.wire_type == _VARINT and isinstance(unknown.data, int):
            number = unknown.data
            found.append((name, float(number - (1 << 64) if number >= 1 << 63 else number)))
        elif unknown.wire_type == _FIXED32 and isinstance(unknown.data, int):
            (number32,) = struct.unpack("<f", struct.pack("<I", unknown.data & 0xFFFFFFFF))
            found.append((name, float32(number32)))
    return found


def _number(descriptor: FieldDescriptor, value: float) -> float:
    if descriptor.type == FieldDescriptor.TYPE_FLOAT:
        return float32(value)
    return float(value)


def float32(value: float) -> float:
    """The shortest decimal that reads back as the same float32 (50.713905, not 50.71390533...)."""
    if not math.isfinite(value):
        return value
    packed = struct.pack("<f", value)
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack("<f", candidate) == packed:
            return candidate
    return value
