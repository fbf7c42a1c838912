"""Agents that cannot be read: each fault has its own reason, and stays with its device."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from html import escape
from typing import TYPE_CHECKING

import pytest

from power_exporter.errors import AuthError, ConnectError, DeviceTimeoutError, SourceError
from power_exporter.model import Reading
from power_exporter.runtime import Runtime
from power_exporter.sources.snmp.config import SnmpConfig
from power_exporter.sources.snmp.engine import ENGINES
from power_exporter.sources.snmp.source import SnmpSource
from power_exporter.status.api import DeviceView, view
from power_exporter.status.history import History
from power_exporter.status.page import render
from power_exporter.store import DeviceState, Store
from tests.peers.snmpsim import free_udp_port
from tests.sources.snmp.conftest import APC, v2c, v3
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from tests.peers.snmpsim import Snmpsim


@pytest.fixture
def silent_agent() -> Iterator[str]:
    """A UDP socket on 127.0.0.1 that takes every datagram and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


async def fault_of(cfg: SnmpConfig) -> SourceError:
    async with SnmpSource(cfg) as source:
        with pytest.raises(SourceError) as caught:
            await source.read()
    return caught.value


async def faults_of(cfg: SnmpConfig, reads: int) -> list[SourceError]:
    """The errors of consecutive reads, each within the device's timeout as the runtime has it.

    The engine is fresh (no other test holds it), so the first read pays for its start.
    """
    found: list[SourceError] = []
    async with SnmpSource(cfg) as source:
        for _ in range(reads):
            try:
                async with asyncio.timeout(cfg.timeout):
                    await source.read()
            except TimeoutError:  # the runtime's cut: what it would report
                found.append(DeviceTimeoutError(f"no answer within {cfg.timeout:g} s"))
            except SourceError as error:
                found.append(error)
            else:
                pytest.fail("the read succeeded")
    return found


def cfg_at(host: str, **keys: object) -> SnmpConfig:
    return SnmpConfig.model_validate(
        {"name": "card", "source": "snmp", "host": host, "community": APC, **keys}
    )


class TestReasons:
    """Timeout, unreachable, wrong community, wrong v3 keys: one reason and message each."""

    async def test_silent_agent_is_a_timeout(self, silent_agent: str) -> None:
        """An address that swallows requests: timeout, after the configured tries."""
        error = await fault_of(cfg_at(silent_agent, timeout="1s", retries=1))
        assert isinstance(error, DeviceTimeoutError)
        assert error.reason == "timeout"
        assert "2 tries" in str(error)

    async def test_closed_port_is_unreachable(self) -> None:
        """Nothing listens: ICMP port unreachable makes it a connect error, not a timeout.

        Under a short budget too (0.5 s: the engine's start is in the first read), and in
        the reads after it, which probe the port at once.
        """
        errors = await faults_of(cfg_at(f"127.0.0.1:{free_udp_port()}", timeout="0.5s"), 3)
        assert [type(error) for error in errors] == [ConnectError] * 3
        assert all(error.reason == "connect" for error in errors)
        assert all("nothing listens" in str(error) for error in errors)

    async def test_closed_port_over_ipv6(self) -> None:
        """The same over IPv6 ([::1]): pysnmp's IPv6 target, ICMPv6 port unreachable."""
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
            port = sock.getsockname()[1]
        error = await fault_of(cfg_at(f"[::1]:{port}", timeout="1s"))
        assert isinstance(error, ConnectError)

    async def test_unknown_host_is_unreachable(self) -> None:
        """A name that does not resolve: connect."""
        error = await fault_of(cfg_at("no-such-host.invalid", timeout="1s"))
        assert isinstance(error, ConnectError)

    async def test_wrong_community_is_auth(self, snmpsim: Snmpsim) -> None:
        """The agent drops a wrong community, but answers v3 discovery: auth, not timeout.

        Under a short budget (0.5 s), from the first read of a fresh engine on.
        """
        cfg = v2c(snmpsim, "not-a-community", timeout="0.5s", retries=0)
        errors = await faults_of(cfg, 3)
        assert [type(error) for error in errors] == [AuthError] * 3
        for error in errors:
            assert error.reason == "auth"
            assert "wrong community" in str(error)
            assert "not-a-community" not in str(error)  # a community is a secret

    async def test_wrong_auth_key_is_auth(self, snmpsim: Snmpsim) -> None:
        """A wrong SNMPv3 authentication key: the agent reports a wrong digest."""
        error = await fault_of(v3(snmpsim, APC, auth_key="not-the-key", timeout="1s"))
        assert isinstance(error, AuthError)
        assert "auth_key" in str(error)
        assert "not-the-key" not in str(error)

    async def test_wrong_priv_key_is_auth(self, snmpsim: Snmpsim) -> None:
        """A wrong SNMPv3 privacy key: the answer does not decrypt."""
        error = await fault_of(v3(snmpsim, APC, priv_key="not-the-key", timeout="1s"))
        assert isinstance(error, AuthError)
        assert "priv_key" in str(error)

    async def test_unknown_user_is_auth(self, snmpsim: Snmpsim) -> None:
        """An SNMPv3 user the agent does not know."""
        error = await fault_of(v3(snmpsim, APC, username="stranger", timeout="1s"))
        assert isinstance(error, AuthError)
        assert "unknown" in str(error)


class _Relay(asyncio.DatagramProtocol):
    """Passes SNMPv3 messages to the agent, and only the first ``passed`` v1/v2c requests.

    An agent behind it is there (it answers SNMPv3 discovery) but stops answering our
    community: at once (an access list), or after answering (an agent that gave up on us).
    """

    def __init__(self, agent: tuple[str, int], passed: int) -> None:
        self.agent = agent
        self.passed = passed
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.upstream: asyncio.DatagramTransport | None = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        version = _snmp_version(data)
        if version is None or self.upstream is None:
            return
        if version != _SNMPV3:
            if self.passed <= 0:
                return
            self.passed -= 1
        self.client = addr
        self.upstream.sendto(data, self.agent)

    def answer(self, data: bytes) -> None:
        if self.transport is not None and self.client is not None:
            self.transport.sendto(data, self.client)


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, relay: _Relay) -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # noqa: ARG002
        self.relay.answer(data)


_SNMPV3 = 3


def _snmp_version(message: bytes) -> int | None:
    """The msgVersion of an SNMP message (a BER SEQUENCE starting with an INTEGER), or None."""
    if len(message) < 2 or message[0] != 0x30:  # a BER SEQUENCE
        return None
    start = 2 + (message[1] & 0x7F if message[1] & 0x80 else 0)
    if message[start : start + 2] != b"\x02\x01" or len(message) <= start + 2:
        return None
    return message[start + 2]


@contextlib.asynccontextmanager
async def relay(sim: Snmpsim, passed: int) -> AsyncIterator[str]:
    """A relay before the simulator on 127.0.0.1; yields its ``host:port``."""
    loop = asyncio.get_running_loop()
    host, port = sim.host.rsplit(":", 1)
    front = _Relay((host, int(port)), passed)
    listen, _ = await loop.create_datagram_endpoint(lambda: front, local_addr=("127.0.0.1", 0))
    upstream, _ = await loop.create_datagram_endpoint(
        lambda: _Upstream(front), local_addr=("127.0.0.1", 0)
    )
    front.transport, front.upstream = listen, upstream
    try:
        yield f"127.0.0.1:{listen.get_extra_info('sockname')[1]}"
    finally:
        listen.close()
        upstream.close()


class TestSilenceAfterAnswers:
    """Discovery answered is 'auth' only if our community never was, in this read."""

    async def test_access_list_is_auth(self, snmpsim: Snmpsim) -> None:
        """Our (right) community dropped from the start, discovery answered: auth."""
        async with relay(snmpsim, passed=0) as host:
            error = await fault_of(cfg_at(host, timeout="1s", retries=0))
        assert isinstance(error, AuthError)
        assert "access list" in str(error)

    async def test_silent_after_answering_is_a_timeout(self, snmpsim: Snmpsim) -> None:
        """The read's first request answered, its walk not: timeout, though discovery works."""
        async with relay(snmpsim, passed=1) as host:
            error = await fault_of(cfg_at(host, timeout="1s", retries=0))
        assert isinstance(error, DeviceTimeoutError)
        assert "no answer within" in str(error)


class TestRedetection:
    """A failed read forgets the detected profile: the card may come back as another one."""

    async def test_forgotten_after_failure_kept_when_pinned(self, silent_agent: str) -> None:
        """``profile: auto`` detects again after a failure; a pinned profile stays."""
        for profile, after in (("auto", None), ("cyberpower", "cyberpower")):
            async with SnmpSource(cfg_at(silent_agent, timeout="0.5s", profile=profile)) as src:
                with pytest.raises(DeviceTimeoutError):
                    await src.read()
                assert (src.profile.name if src.profile else None) == after


class TestRuntime:
    """SNMP devices under the real runtime."""

    async def test_fault_stays_with_its_device(
        self, snmpsim: Snmpsim, silent_agent: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Five cards, four unreadable: each down with its own reason from its first read.

        Silence is ``timeout``, nothing listening ``connect``, a wrong community and a wrong
        SNMPv3 key both ``auth``: the same remedy (the credentials), told apart by the
        message, which the API, the status page and the log all show.
        """
        # 1 s: the whole budget of a read, request and diagnosis of a silence together
        fast = {"interval": "0.3s", "timeout": "1s"}
        good = v2c(snmpsim, APC, name="good", interval="0.3s", timeout="1s")
        bad = cfg_at(silent_agent, name="bad", **fast)
        closed = cfg_at(f"127.0.0.1:{free_udp_port()}", name="closed", **fast)
        wrong = v2c(snmpsim, "nope", name="wrong", retries=0, **fast)
        badkey = v3(snmpsim, APC, name="badkey", auth_key="not-the-key", retries=0, **fast)
        store = Store()
        history = History(store)
        runtime = Runtime([good, bad, closed, wrong, badkey], store, backoff_max=0.5)
        caplog.set_level(logging.WARNING, logger="power_exporter.runtime")
        runtime.start()

        def state(name: str) -> DeviceState:
            found = store.get(name)
            assert found is not None
            return found

        expected = {
            "bad": ("timeout", "no answer within"),
            "closed": ("connect", "nothing listens"),
            "wrong": ("auth", "wrong community"),
            "badkey": ("auth", "wrong auth_key"),
        }
        try:
            await until(lambda: state("good").up, timeout=15)
            for name, (reason, _) in expected.items():

                def seen(name: str = name, reason: str = reason) -> bool:
                    return state(name).errors.get(reason, 0) >= 2  # the first and a later one

                await until(seen, timeout=15)
            assert state("good").up
            views = {device.name: device for device in views_of(store, history)}
            page = render(list(views.values()), time.time(), 1.0)
            for name, (reason, message) in expected.items():
                assert not state(name).up
                # Every read of it, the first included, gave its own reason and no other.
                assert set(state(name).errors) == {reason}, name
                shown = views[name].json()
                assert shown["state"] == "down"
                assert shown["reason"] == reason
                assert message in str(shown["error"]), name
                assert f"{name} down ({reason}): " in caplog.text
                assert escape(str(shown["error"])) in page
            good_state = state("good")
            assert isinstance(good_state.reading, Reading)
            assert good_state.reading.identity.model == "Smart-UPS X 750"
        finally:
            await runtime.stop()
        assert ENGINES.users == 0


def views_of(store: Store, history: History) -> list[DeviceView]:
    """The devices as ``/api/v1/devices`` and the status page show them."""
    now = time.time()
    return [view(state, history, now, None) for state in store]
