"""How a failed SNMP request becomes the exporter's error, one reason and message each.

A refusal carries pysnmp's error indication (:func:`failure`). A silence is diagnosed
(:func:`probe`, then :func:`verdict`): nothing listens, the agent ignores us, or it is only
silent. Two probes run side by side. A datagram to the agent's port from a *connected* UDP
socket learns of an ICMP port unreachable at once (the kernel hands it to that socket as a
refused connection; the engine's shared socket never sees it). An SNMPv3 discovery, which
needs no credentials, is answered by any agent that is there, whatever community it was
sent. The first probe to say something decides; a probe that hears nothing by the end says
nothing.
"""

from __future__ import annotations

import asyncio
import enum
import socket
import warnings
from typing import TYPE_CHECKING, Final

with warnings.catch_warnings():  # see engine.py: pysnmp's own deprecation warnings
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        ObjectIdentity,
        ObjectType,
        Udp6TransportTarget,
        UdpTransportTarget,
        UsmUserData,
        get_cmd,
    )
    from pysnmp.proto import errind
    from pysnmp.proto.rfc1902 import ObjectName

from power_exporter.errors import (
    AuthError,
    ConnectError,
    DeviceTimeoutError,
    ProtocolError,
    SourceError,
)

if TYPE_CHECKING:
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

    from power_exporter.sources.snmp.config import SnmpConfig


class Silence(enum.Enum):
    """What the probes learned about a silent agent."""

    REFUSED = "refused"  # ICMP port unreachable: nothing listens at the port
    LISTENING = "listening"  # it answers SNMPv3 discovery: it is there, and ignores us
    SILENT = "silent"  # neither, by the end of the budget


# pysnmp's error indications -> (error class, what to tell the operator).
_INDICATIONS: Final[dict[type[errind.ErrorIndication], tuple[type[SourceError], str]]] = {
    errind.WrongDigest: (AuthError, "SNMPv3 authentication failed: wrong auth_key or protocol"),
    errind.DecryptionError: (AuthError, "SNMPv3 decryption failed: wrong priv_key or protocol"),
    errind.UnknownUserName: (AuthError, "SNMPv3 user unknown to the agent"),
    errind.UnsupportedSecurityLevel: (AuthError, "SNMPv3 security level refused by the agent"),
    errind.AuthenticationFailure: (AuthError, "authentication refused by the agent"),
    errind.UnknownCommunityName: (AuthError, "community refused by the agent"),
}


def failure(indication: object, where: str) -> SourceError:
    """The error for an agent's refusal (any indication but a timeout)."""
    for kind, (error, message) in _INDICATIONS.items():
        if isinstance(indication, kind):
            return error(f"agent at {where}: {message}")
    return ProtocolError(f"agent at {where}: {indication}")


def verdict(
    silence: Silence, cfg: SnmpConfig, where: str, window: float, *, fair: bool
) -> SourceError:
    """The error for a request unanswered for ``window`` seconds, from what the probes learned.

    ``fair``: the request had long enough for "it ignores our community" to be said.
    """
    if silence is Silence.REFUSED:
        return ConnectError(f"nothing listens at {where} (ICMP port unreachable)")
    if silence is Silence.LISTENING and fair:
        return AuthError(
            f"agent at {where} is up (it answers SNMPv3 discovery) but ignores"
            f" SNMPv{cfg.version}: wrong community, or an access list"
        )
    tries = cfg.retries + 1
    return DeviceTimeoutError(f"agent at {where}: no answer within {window:.2g} s ({tries} tries)")


_PROBE_DATAGRAM: Final = b"\x00"
"""Sent only to learn whether ICMP says the port is closed: no SNMP message, so no agent
counts it as an authentication failure."""
_SYS_UP_TIME: Final = (1, 3, 6, 1, 2, 1, 1, 3, 0)
_DISCOVERY_USER: Final = "power-exporter-discovery"


def target_class(host: str) -> type[UdpTransportTarget | Udp6TransportTarget]:
    """The pysnmp UDP target class for the host: IPv6 for an IPv6 literal, else IPv4."""
    target: type[UdpTransportTarget | Udp6TransportTarget] = (
        Udp6TransportTarget if ":" in host else UdpTransportTarget
    )
    return target


async def probe(
    engine: SnmpEngine, host: str, port: int, *, discovery: bool, end: float
) -> Silence:
    """Run the probes until one tells, or until ``end`` (event-loop time).

    ``discovery`` is for SNMPv1/v2c agents: an SNMPv3 agent that ignores us has nothing
    further to tell by a discovery.
    """
    loop = asyncio.get_running_loop()
    tasks: dict[asyncio.Future[bool], Silence] = {
        asyncio.ensure_future(port_refuses(host, port)): Silence.REFUSED
    }
    if discovery:
        tasks[asyncio.ensure_future(answers_discovery(engine, host, port, end))] = Silence.LISTENING
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(
                pending, timeout=max(0.0, end - loop.time()), return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                break
            for task in done:
                if task.exception() is None and task.result():
                    return tasks[task]
        return Silence.SILENT
    finally:
        for task in tasks:
            task.cancel()


async def port_refuses(host: str, port: int) -> bool:
    """Whether the host answers a datagram to ``port`` with ICMP port unreachable.

    Waits for that answer until cancelled: a port where something listens stays quiet.
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)  # noqa: FBT003
        try:
            await loop.sock_connect(sock, (host, port))
            await loop.sock_sendall(sock, _PROBE_DATAGRAM)
            await loop.sock_recv(sock, 2048)
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False


async def answers_discovery(engine: SnmpEngine, host: str, port: int, end: float) -> bool:
    """Whether the agent answers an SNMPv3 discovery (an unknown user's GET) before ``end``.

    pysnmp counts its timeouts in ticks of 0.1 s that fall behind on a busy machine and may
    come up to a tick early; its own limit is set a tick past ``end``, and the caller's
    wall-clock ``end`` is the one that counts.
    """
    loop = asyncio.get_running_loop()
    tick = (
        engine.transport_dispatcher.get_timer_resolution() if engine.transport_dispatcher else 0.1
    )
    budget = max(0.0, end - loop.time()) + tick
    target = await target_class(host).create((host, port), timeout=budget, retries=0)
    result = await get_cmd(
        engine,
        UsmUserData(_DISCOVERY_USER),  # noqa: S509 (discovery needs no keys)
        target,
        ContextData(),
        ObjectType(ObjectIdentity(ObjectName(_SYS_UP_TIME))),
        lookupMib=False,
    )
    return not isinstance(result[0], errind.RequestTimedOut)
