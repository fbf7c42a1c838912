"""One pysnmp engine for every SNMP device, and the requests a device makes through it.

The engine (its UDP socket, its USM tables) is created by the first source that enters and
closed by the last that leaves (:class:`EngineHolder`), so it lives exactly as long as some
device uses it and always on the running event loop. A semaphore on it bounds the device
reads in flight. :class:`Agent` is one device's view: its address, credentials and budget,
and GET / GETBULK walks whose failures :mod:`.faults` maps onto the exporter's error tree,
within the read's budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeAlias

from pyasn1.type import univ

# pysnmp 7.1 imports names pysmi 2 deprecated when pysmi is installed (snmpsim needs it in
# the tests; serving has no pysmi): the warning is theirs, not ours, and says nothing to us.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        Udp6TransportTarget,
        UdpTransportTarget,
        UsmUserData,
        bulk_cmd,
        get_cmd,
        next_cmd,
    )
    from pysnmp.hlapi.v3arch.asyncio import auth as usm
    from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD
    from pysnmp.proto import errind, rfc1902, rfc1905
    from pysnmp.proto.rfc1902 import ObjectName
    from pysnmp.smi import builder, view

from power_exporter.errors import (
    ConnectError,
    DecodeError,
    ProtocolError,
)
from power_exporter.sources.snmp.faults import Silence, failure, probe, target_class, verdict

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable, Iterator, Sequence

    from power_exporter.sources.snmp.config import SnmpConfig

Value: TypeAlias = int | str | None
"""A decoded SNMP value: a number, a string (OCTET STRING, OID, address), or None for NULL,
noSuchObject, noSuchInstance and endOfMibView (the agent has no data there)."""

MAX_IN_FLIGHT: Final = 64
"""Device reads sent at once through the shared engine; the others wait their turn."""

# A read's budget (its ``timeout``, counted from the start of the read): an agent that has
# not answered by _REQUEST_SHARE of it is silent, and why is known by _VERDICT_SHARE; the
# rest is the margin before the runtime's own cut, for a busy event loop. Once the agent
# has answered in this read, its requests may run to _VERDICT_SHARE.
_REQUEST_SHARE: Final = 0.65
_VERDICT_SHARE: Final = 0.9
# "It ignores our community" needs a fair chance to answer: a request window at least this
# part of the configured one (a read that waited its turn long may have less).
_FAIR_WINDOW: Final = 0.5
_NO_SUCH_NAME: Final = 2  # SNMPv1 error-status
_MAX_ROUNDS: Final = 200  # GETBULK rounds of one walk: a runaway agent stops here

AUTH_PROTOCOLS: Final = {
    "MD5": usm.USM_AUTH_HMAC96_MD5,
    "SHA": usm.USM_AUTH_HMAC96_SHA,
    "SHA224": usm.USM_AUTH_HMAC128_SHA224,
    "SHA256": usm.USM_AUTH_HMAC192_SHA256,
    "SHA384": usm.USM_AUTH_HMAC256_SHA384,
    "SHA512": usm.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS: Final = {
    "DES": usm.USM_PRIV_CBC56_DES,
    "AES": usm.USM_PRIV_CFB128_AES,
    "AES192": usm.USM_PRIV_CFB192_AES,
    "AES256": usm.USM_PRIV_CFB256_AES,
}
_ABSENT: Final = (rfc1902.Null, rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)


class _NoCompiler:
    """Stands in for pysmi's MIB compiler: we send numeric OIDs and never compile a MIB.

    Without it, pysnmp adds a compiler whenever pysmi is importable, which fetches MIB
    files from the network when a name does not resolve: an exporter must not.
    """

    def compile(self, *names: str, **options: object) -> dict[str, str]:  # noqa: ARG002
        """Compile nothing."""
        return {}


def new_engine() -> SnmpEngine:
    """A pysnmp engine whose MIB view never compiles or downloads a MIB."""
    engine = SnmpEngine()
    mibs = builder.MibBuilder()
    sources = mibs.get_mib_sources()
    mibs.set_mib_compiler(_NoCompiler(), sources[0].full_path())
    engine.cache["mibViewController"] = view.MibViewController(mibs)
    return engine


class EngineHolder:
    """The shared engine: made by the first user, closed by the last."""

    def __init__(self, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self._engine: SnmpEngine | None = None
        self._users = 0
        self._max_in_flight = max_in_flight
        self._gate: asyncio.Semaphore | None = None

    def acquire(self) -> tuple[SnmpEngine, asyncio.Semaphore]:
        """Return the engine and the gate that bounds reads in flight, created on first use."""
        if self._engine is None or self._gate is None:
            self._engine = new_engine()
            self._gate = asyncio.Semaphore(self._max_in_flight)
        self._users += 1
        return self._engine, self._gate

    def release(self) -> None:
        """Let go of the engine; the last user closes its socket."""
        self._users -= 1
        if self._users == 0 and self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
            self._gate = None

    @property
    def users(self) -> int:
        """How many sources hold the engine now."""
        return self._users


ENGINES = EngineHolder()


def decode(value: object) -> Value:
    """Turn a pysnmp value into a number, a string or None (no data)."""
    if isinstance(value, _ABSENT):
        return None
    if isinstance(value, univ.Integer):  # Integer32, Gauge32, Counter32/64, TimeTicks
        return int(value)
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(octet) for octet in value.asOctets())
    if isinstance(value, univ.OctetString):
        raw: bytes = value.asOctets()
        try:
            return raw.decode().rstrip("\x00").strip()
        except UnicodeDecodeError:
            return raw.hex()
    raise DecodeError(f"unexpected SNMP value type {type(value).__name__}")


def _credentials(cfg: SnmpConfig) -> CommunityData | UsmUserData:
    if cfg.version != "3":
        return CommunityData(cfg.secret("community"), mpModel=0 if cfg.version == "1" else 1)
    auth_key, priv_key = cfg.secret("auth_key"), cfg.secret("priv_key")
    return UsmUserData(
        cfg.username or "",
        authKey=auth_key,
        privKey=priv_key,
        authProtocol=AUTH_PROTOCOLS[cfg.auth_protocol] if auth_key else usm.USM_AUTH_NONE,
        privProtocol=PRIV_PROTOCOLS[cfg.priv_protocol] if priv_key else usm.USM_PRIV_NONE,
    )


Walk: TypeAlias = dict[tuple[int, ...], Value]
Result: TypeAlias = tuple[
    "errind.ErrorIndication | None",
    "rfc1902.Integer32 | int",
    "rfc1902.Integer32 | int",
    "Sequence[ObjectType]",
]
"""What pysnmp's commands return: error indication, error status, error index, varbinds."""


@dataclass(slots=True)
class Agent:
    """One SNMP agent as a device sees it: where, who we are, and the budget of a read."""

    cfg: SnmpConfig
    engine: SnmpEngine
    _target: UdpTransportTarget | Udp6TransportTarget | None = None
    _credentials: CommunityData | UsmUserData = field(init=False)
    _context: ContextData = field(init=False)
    _deadline: float | None = None  # event-loop time the read in progress must end by
    _answered: bool = False  # the agent answered us in the read in progress
    _silent: bool = False  # the last request went unanswered: probe at once next time

    def __post_init__(self) -> None:
        self._credentials = _credentials(self.cfg)
        self._context = ContextData(contextName=self.cfg.context.encode())

    @property
    def where(self) -> str:
        """``host:port`` of the agent (for messages)."""
        host, port = self.cfg.agent
        return f"{host}:{port}"

    async def _transport(self) -> UdpTransportTarget | Udp6TransportTarget:
        if self._target is None:
            host, port = self.cfg.agent
            tries = self.cfg.retries + 1
            try:
                self._target = await target_class(host).create(
                    (host, port),
                    timeout=self.cfg.timeout * _REQUEST_SHARE / tries,
                    retries=self.cfg.retries,
                )
            except Exception as exc:  # noqa: BLE001 (pysnmp wraps resolver errors in its own)
                raise ConnectError(f"cannot resolve {host}: {exc}") from None
        return self._target

    @contextlib.contextmanager
    def budget(self) -> Iterator[None]:
        """One read: its requests and the diagnosis of a silence share ``timeout`` from now.

        Outside of it (``discover``), each request has a budget of its own.
        """
        self._deadline = asyncio.get_running_loop().time() + self.cfg.timeout
        self._answered = False
        try:
            yield
        finally:
            self._deadline = None

    async def prepare(self) -> None:
        """Resolve the agent and register it with the engine, before any request is sent.

        pysnmp rebuilds its community and target lookups whenever an agent is registered;
        done while answers are being decoded, that makes the first poll of a large fleet
        quadratic. Sources call this before they queue for the gate, so the registrations
        happen together, up front.
        """
        LCD.configure(
            self.engine, self._credentials, await self._transport(), self._context.contextName
        )

    async def get(self, oids: Sequence[tuple[int, ...]]) -> Walk:
        """GET some scalars (absent ones come back as None).

        An SNMPv1 agent refuses the whole GET with noSuchName for one missing object: that
        object is then absent, and the others are asked again.
        """
        wanted = list(oids)
        found: Walk = dict.fromkeys(wanted)
        while wanted:
            binds = [ObjectType(ObjectIdentity(ObjectName(oid))) for oid in wanted]
            target = await self._transport()
            result = await self._exchange(
                get_cmd(
                    self.engine, self._credentials, target, self._context, *binds, lookupMib=False
                )
            )
            indication, status, index, _ = result
            if (
                indication is None
                and int(status) == _NO_SUCH_NAME
                and 0 < int(index) <= len(wanted)
            ):
                del wanted[int(index) - 1]
                continue
            found.update((tuple(name), decode(value)) for name, value in self._answer(result))
            break
        return found

    async def walk(self, subtrees: Iterable[tuple[int, ...]]) -> Walk:
        """Walk the subtrees: GETBULK (GETNEXT for SNMPv1), all spans in each request.

        Subtrees under one parent (``...1.1.1.2``, ``...1.1.1.3``) are walked as one span
        from the first to the end of the last, by one cursor: adjacent groups cost no
        extra request and no varbind twice. What lies between them is read and ignored.
        """
        spans: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
        for tree in sorted(subtrees):
            spans.setdefault(tree[:-1], []).append(tree)
        ends = {trees[0]: trees[-1] for trees in spans.values()}
        found: Walk = {}
        cursors = {start: start for start in ends}
        for _ in range(_MAX_ROUNDS):
            if not cursors:
                return found
            starts = list(cursors)
            if self.cfg.version == "1":
                starts = starts[:1]  # an SNMPv1 agent ends a GETNEXT with an error for the PDU
            binds = [ObjectType(ObjectIdentity(ObjectName(cursors[s]))) for s in starts]
            answer = await self._request(binds)
            if not answer:
                for start in starts:
                    del cursors[start]
            self._advance(answer, starts, cursors, ends, found)
        raise DecodeError(f"agent at {self.where}: walk did not end in {_MAX_ROUNDS} rounds")

    def _advance(
        self,
        answer: Sequence[tuple[ObjectName, object]],
        starts: list[tuple[int, ...]],
        cursors: dict[tuple[int, ...], tuple[int, ...]],
        ends: dict[tuple[int, ...], tuple[int, ...]],
        found: Walk,
    ) -> None:
        """Take one answer's rows: move each span's cursor, end the spans walked past."""
        for position, (name, value) in enumerate(answer):
            start = starts[position % len(starts)]
            if start not in cursors:
                continue
            oid, last = tuple(name), ends[start]
            if oid[: len(last)] > last or isinstance(value, rfc1905.EndOfMibView):
                del cursors[start]
                continue
            if oid <= cursors[start]:
                raise DecodeError(f"agent at {self.where}: OID not increasing at {name}")
            cursors[start] = oid
            found[oid] = decode(value)

    async def _request(self, binds: list[ObjectType]) -> Sequence[tuple[ObjectName, object]]:
        target = await self._transport()
        if self.cfg.version == "1":
            result = await self._exchange(
                next_cmd(
                    self.engine, self._credentials, target, self._context, *binds, lookupMib=False
                )
            )
            if result[0] is None and int(result[1]) == _NO_SUCH_NAME:
                return []  # past the end
        else:
            result = await self._exchange(
                bulk_cmd(
                    self.engine,
                    self._credentials,
                    target,
                    self._context,
                    0,
                    self.cfg.max_repetitions,
                    *binds,
                    lookupMib=False,
                )
            )
        return self._answer(result)

    async def _exchange(self, send: Awaitable[Result]) -> Result:
        """Send one request and wait for its answer within the read's budget.

        An agent silent for half its window is probed beside the request (at once when the
        last request already went unanswered): ICMP port unreachable ends the wait there
        and then; otherwise the wait ends with the window, and the probes' verdict says why.
        Silence is measured on the event loop's clock, not by pysnmp's ticks, which fall
        behind on a busy machine and would leave the diagnosis no time.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = self._deadline if self._deadline is not None else now + self.cfg.timeout
        verdict_by = deadline - self.cfg.timeout * (1 - _VERDICT_SHARE)
        share = (_VERDICT_SHARE if self._answered else _REQUEST_SHARE) / _VERDICT_SHARE
        cut = now + max(0.0, verdict_by - now) * share
        probe_at = now if self._silent else (now + cut) / 2
        request = asyncio.ensure_future(send)
        probing: asyncio.Future[Silence] | None = None
        try:
            while True:
                waiting: set[asyncio.Future[Result] | asyncio.Future[Silence]] = {request}
                if probing is not None and not probing.done():
                    waiting.add(probing)
                wake = cut if probing is not None or self._answered else min(cut, probe_at)
                await asyncio.wait(
                    waiting,
                    timeout=max(0.0, wake - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if request.done():
                    result = request.result()
                    if not isinstance(result[0], errind.RequestTimedOut):
                        self._answered, self._silent = True, False
                        return result
                    break  # pysnmp gave up first (its clock may run a tick early)
                refused = (
                    probing is not None and probing.done() and probing.result() is Silence.REFUSED
                )
                if refused or loop.time() >= cut:
                    break
                if probing is None and not self._answered and loop.time() >= probe_at:
                    probing = asyncio.ensure_future(self._probe(verdict_by))
            self._silent = True
            window = loop.time() - now  # how long the request went unanswered
            if probing is None and not self._answered:
                probing = asyncio.ensure_future(self._probe(verdict_by))
            silence = await probing if probing is not None else Silence.SILENT
            fair = window >= self.cfg.timeout * _REQUEST_SHARE * _FAIR_WINDOW
            raise verdict(silence, self.cfg, self.where, window, fair=fair)
        finally:
            for task in (request, probing):
                if task is not None and not task.done():
                    task.cancel()

    def _probe(self, end: float) -> Awaitable[Silence]:
        host, port = self.cfg.agent
        return probe(self.engine, host, port, discovery=self.cfg.version != "3", end=end)

    def _answer(self, result: Result) -> Sequence[tuple[ObjectName, object]]:
        indication, status, index, binds = result
        if indication is not None:
            raise failure(indication, self.where)
        if int(status) != 0:
            what = status.prettyPrint() if hasattr(status, "prettyPrint") else status
            raise ProtocolError(f"agent at {self.where} answered {what} (at {index})")
        return [(bind[0], bind[1]) for bind in binds]
