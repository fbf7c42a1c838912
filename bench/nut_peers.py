"""The NUT clients a user would pick instead of ours, reading the same real upsd (bench_nut.py).

- aionut: Home Assistant's NUT client (``AIONUTClient``, asyncio), one kept-alive connection,
  ``list_vars()`` for each UPS in turn; its answer is a dict of the UPS's variables.
- PyNUTClient: NUT's own Python client (PyPI ``pynutclient``, the module Debian ships as
  python3-nut), blocking, one kept-alive connection, ``GetUPSVars()`` for each UPS in turn.

Both ask for one UPS and wait for its whole answer before asking for the next (no pipelining),
and neither checks or maps the values: they stop where a dict of strings is made. Each counts
UPS readings per second for the same time as the other readers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class Peer:
    """One peer's figure, or why it was not measured."""

    name: str
    version: str
    rate: float | None  # UPS readings per second; None when not installed
    cpu: float = 0.0  # the share of one core the reading loop used
    why: str = ""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


async def _aionut(port: int, upses: list[str], seconds: float) -> tuple[float, float]:
    from aionut import AIONUTClient  # noqa: PLC0415 (a bench-only dependency)

    client = AIONUTClient("127.0.0.1", port, timeout=10.0)
    try:
        await client.list_vars(upses[0])  # connected
        reads = 0
        cpu = time.process_time()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for ups in upses:
                values = await client.list_vars(ups)
                reads += bool(values)
        cpu = time.process_time() - cpu
    finally:
        client.shutdown()
    return reads / seconds, cpu / seconds


def aionut(port: int, upses: list[str], seconds: float) -> Peer:
    """UPS readings per second through aionut."""
    version = _version("aionut")
    if not version:
        return Peer("aionut", "", None, "not installed (the bench extra has it)")
    rate, cpu = asyncio.run(_aionut(port, upses, seconds))
    return Peer("aionut", version, rate, cpu)


def pynutclient(port: int, upses: list[str], seconds: float) -> Peer:
    """UPS readings per second through NUT's PyNUTClient."""
    version = _version("pynutclient")
    if not version:
        return Peer("PyNUTClient", "", None, "not installed (the bench extra has it)")
    from PyNUTClient.PyNUT import PyNUTClient  # type: ignore[import-untyped]  # noqa: PLC0415

    client = PyNUTClient("127.0.0.1", port, timeout=10)
    reads = 0
    cpu = time.process_time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for ups in upses:
            values = client.GetUPSVars(ups)
            reads += bool(values)
    cpu = time.process_time() - cpu
    del client  # its __del__ says LOGOUT and closes the socket
    return Peer("PyNUTClient", version, reads / seconds, cpu / seconds)


def rows(peers: list[Peer], raw: float) -> list[str]:
    """Table rows (reader, readings/s, vs raw socket) for the NUT table."""
    out = []
    for peer in peers:
        if peer.rate is None:
            out.append(f"| {peer.name}: {peer.why} | - | - |")
            continue
        out.append(
            f"| {peer.name} {peer.version}, one LIST VAR per UPS in turn (a dict of strings; "
            f"{peer.cpu:.0%} of a core) | {peer.rate:.0f} | {peer.rate / raw:.1%} |"
        )
    return out


def goal(peers: list[Peer], ours: float) -> str:
    """power-exporter ahead of every peer, with each peer's rate as the baseline."""
    measured = [peer for peer in peers if peer.rate]
    if not measured:
        return "Goal (power-exporter ahead of aionut and PyNUTClient): not measured (no peer)."
    ratios = ", ".join(
        f"{ours / peer.rate:.1f}x {peer.name}'s {peer.rate:.0f}/s" for peer in measured if peer.rate
    )
    ok = all(peer.rate is not None and ours > peer.rate for peer in measured)
    return (
        f"Goal (power-exporter's {ours:.0f}/s ahead of every peer on the same upsd): "
        f"{'met' if ok else 'NOT met'} ({ratios}). The peers ask for one UPS and wait for its "
        "answer, whose end upsd holds back (Nagle) until the client's delayed ACK: they idle "
        "through that wait for every UPS (hence their small share of a core)."
    )
