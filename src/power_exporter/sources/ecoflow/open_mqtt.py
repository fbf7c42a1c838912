"""EcoFlow's developer MQTT stream: certification, TLS, one fixed client id, subscriptions.

The broker and its credentials come from ``GET /iot-open/sign/certification``. We
subscribe to ``/open/{certificateAccount}/{sn}/quota`` (the device's data, pushed in
parts) and ``/open/{certificateAccount}/{sn}/status`` (``params.status`` 1 online, 0
offline). Read-only: nothing is ever published (no ``/set``, no ``/get``).

EcoFlow allows few distinct client ids per account and day (about ten, reported by
tolwi/hassio-ecoflow-cloud and colombod/ecoflow-sdk), so the id is derived from the
account and never changes across reconnects; one connection per key pair serves every entry
(``open_hub.py``). The certification's credentials expire; when the broker refuses them we
fetch new ones once and try again.

Pushes are normalized to the key names of ``quota/all``: DELTA 2-style pushes
``{"typeCode": "bmsStatus", "params": {...}}`` get the module prefix (``bms_bmsStatus.``),
PowerStream / Smart Plug pushes ``{"cmdFunc": 20, "cmdId": 1, "param": {...}}`` the prefix
``20_1.``; pushes whose ``params`` keys are already dotted stay as they are. Flat pushes
(no ``params``: STREAM, Smart Meter) lose their envelope fields (``id``, ``timestamp``,
``version``...), which are the message's, not the device's.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import aiomqtt

from power_exporter.errors import DecodeError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.sources.ecoflow.rest import Certification

log = logging.getLogger(__name__)

MAX_PAYLOAD: Final = 1 << 20
_REFUSED: Final = frozenset({4, 5, 134, 135})  # MQTT 3.1.1 CONNACK 4/5, as MQTT 5 codes 134/135
_TLS_PROTOCOLS: Final = frozenset({"mqtts", "ssl", "tls"})

# typeCode of a DELTA 2-style push -> the prefix of its keys in quota/all.
TYPE_CODE_PREFIX: Final[Mapping[str, str]] = {
    "pdStatus": "pd",
    "mpptStatus": "mppt",
    "invStatus": "inv",
    "bmsStatus": "bms_bmsStatus",
    "emsStatus": "bms_emsStatus",
    "bmsInfo": "bms_bmsInfo",
    "bmsSlaveStatus": "bms_slave",
    "bmsSlaveStatus_1": "bms_slave_bmsSlaveStatus_1",
    "bmsSlaveStatus_2": "bms_slave_bmsSlaveStatus_2",
}


# Fields of a push's envelope, never device values (a flat push has them beside its data).
ENVELOPE_FIELDS: Final = frozenset(
    {"id", "timestamp", "version", "time", "typeCode", "cmdFunc", "cmdId", "moduleType", "sn"}
)


def client_id(account: str) -> str:
    """The one MQTT client id of a certificate account (stable across runs and reconnects)."""
    return "power-exporter-" + hashlib.sha256(account.encode()).hexdigest()[:16]


def topic(account: str, sn: str, kind: str) -> str:
    """``/open/{account}/{sn}/{kind}``."""
    return f"/open/{account}/{sn}/{kind}"


def quota_of_push(payload: object) -> dict[str, object]:
    """A ``/quota`` push as ``quota/all`` keys (raises :class:`DecodeError` if it is none)."""
    if not isinstance(payload, dict):
        raise DecodeError("quota push is not a JSON object")
    params = payload.get("params", payload.get("param"))
    if params is None:
        # flat pushes (STREAM, Smart Meter): the values beside the envelope's fields
        return {key: value for key, value in payload.items() if key not in ENVELOPE_FIELDS}
    if not isinstance(params, dict):
        raise DecodeError("quota push: params is not an object")
    prefix = ""
    type_code = payload.get("typeCode")
    if isinstance(type_code, str):
        prefix = TYPE_CODE_PREFIX.get(type_code, type_code)
    elif "cmdFunc" in payload and "cmdId" in payload:
        prefix = f"{payload['cmdFunc']}_{payload['cmdId']}"
    if not prefix:
        return dict(params)
    return {_prefixed(prefix, key): value for key, value in params.items()}


@functools.lru_cache(maxsize=50_000)
def _prefixed(prefix: str, key: str) -> str:
    """``prefix.key``, unless the key is already dotted (kept: pushes repeat their keys)."""
    return key if "." in key else f"{prefix}.{key}"


def status_of_push(payload: object) -> bool:
    """The online flag of a ``/status`` push."""
    params = payload.get("params") if isinstance(payload, dict) else None
    status = params.get("status") if isinstance(params, dict) else None
    if status not in {0, 1, "0", "1"}:
        raise DecodeError("status push without params.status 0 or 1")
    return str(status) == "1"


@dataclass(frozen=True, slots=True)
class Push:
    """One message of a subscribed device: parsed JSON, or why it could not be parsed."""

    sn: str
    kind: str  # "quota" or "status"
    data: object = None
    error: DecodeError | None = None


def parse(message: aiomqtt.Message) -> Push | None:
    """The push of a device's ``/quota`` or ``/status`` message (None for other topics)."""
    parts = message.topic.value.split("/")
    if len(parts) != 5 or parts[4] not in {"quota", "status"}:  # noqa: PLR2004
        return None
    sn, kind = parts[3], parts[4]
    payload = message.payload
    if isinstance(payload, str):
        payload = payload.encode()
    if not isinstance(payload, bytes | bytearray):
        return Push(sn, kind, error=DecodeError(f"{kind} push of {sn}: empty"))
    if len(payload) > MAX_PAYLOAD:
        error = DecodeError(f"{kind} push of {sn}: {len(payload)} bytes, over {MAX_PAYLOAD}")
        return Push(sn, kind, error=error)
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        error = DecodeError(f"{kind} push of {sn} is not JSON: {bytes(payload[:40])!r}")
        return Push(sn, kind, error=error)
    return Push(sn, kind, data=data)


def refused(exc: aiomqtt.MqttError) -> bool:
    """Whether the broker refused the credentials (CONNACK 4/5, MQTT 5 134/135)."""
    rc = getattr(exc, "rc", None)
    return getattr(rc, "value", rc) in _REFUSED


class Connector:
    """How to connect to the developer broker a certification names (TLS, the fixed id)."""

    def __init__(
        self,
        *,
        ca_file: str | None = None,
        broker: str | None = None,
        timeout: float = 10.0,
        keepalive: int = 60,
    ) -> None:
        self._ca_file = ca_file
        self._broker = broker
        self._timeout = timeout
        self._keepalive = keepalive

    def __repr__(self) -> str:
        return f"Connector(broker={self._broker!r}, keepalive={self._keepalive})"

    def _make(self, cert: Certification) -> aiomqtt.Client:
        host, port = cert.host, cert.port
        if self._broker:
            host, _, port_text = self._broker.partition(":")
            port = int(port_text) if port_text else port
        tls = None
        if cert.protocol.lower() in _TLS_PROTOCOLS:
            tls = ssl.create_default_context(cafile=self._ca_file)
        return aiomqtt.Client(
            host,
            port,
            username=cert.account,
            password=cert.password,
            identifier=client_id(cert.account),
            tls_context=tls,
            keepalive=self._keepalive,
            timeout=self._timeout,
        )

    async def connect(self, cert: Certification) -> aiomqtt.Client:
        """A connected client; raises ``aiomqtt.MqttError``, ``ssl.SSLError``, TimeoutError."""
        client = self._make(cert)
        async with asyncio.timeout(self._timeout):
            await client.__aenter__()
        return client
