"""Faults and options against a real upsd: restarts, dead drivers, new UPSes, auth, STARTTLS."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.errors import ConnectError, ProtocolError, StaleError
from power_exporter.model import DeviceFault, Reading, Roster
from power_exporter.runtime import Runtime
from power_exporter.sources.nut.client import NutClient, TlsOptions
from power_exporter.sources.nut.source import NutSource, loop_pool
from power_exporter.sources.replay.source import ReplayConfig
from power_exporter.store import Store
from tests.peers.upsd import USERS, Upsd, make_tls
from tests.sources.nut.conftest import DUMPS, nut_config
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from pathlib import Path

    from power_exporter.model import Event
    from power_exporter.sources.nut.config import NutConfig

ONE, TWO, THREE = "eaton-ellipse-eco-1600", "apc-smart-ups-2200", "tripp-lite-ups"


def by_device(events: Sequence[Event]) -> dict[str, Event]:
    """Readings and faults keyed by device name (rosters left out)."""
    return {event.device: event for event in events if not isinstance(event, Roster)}


def roster(events: Sequence[Event]) -> frozenset[str]:
    """The one roster of a poll."""
    (found,) = [event for event in events if isinstance(event, Roster)]
    return found.devices


class TestRestarts:
    """upsd and its drivers come and go; the source object lives on."""

    async def test_upsd_killed_then_restarted(self, small_upsd: Callable[..., Upsd]) -> None:
        """Reads fail with ConnectError while upsd is gone and recover when it is back."""
        upsd = small_upsd([ONE])
        cfg = nut_config(name="rack", server=upsd.server, ups=ONE)
        async with NutSource(cfg) as source:
            assert isinstance((await source.read())[0], Reading)
            upsd.stop_upsd()
            with pytest.raises(ConnectError, match="cannot reach upsd"):
                await source.read()
            with pytest.raises(ConnectError):
                await source.read()
            upsd.start_upsd()
            upsd.wait_ready()
            (event,) = await source.read()
            assert isinstance(event, Reading)
            assert event.measures

    async def test_driver_killed_faults_that_ups_only(
        self, small_upsd: Callable[..., Upsd]
    ) -> None:
        """A dead driver faults its UPS only (StaleError); the other reads fine; it recovers."""
        upsd = small_upsd([ONE, TWO])
        cfg = nut_config(name="lab", server=upsd.server, ups="*")
        async with NutSource(cfg) as source:
            assert all(isinstance(e, Reading) for e in by_device(await source.read()).values())
            upsd.stop_driver(TWO)
            upsd.wait_answer(f"GET VAR {TWO} ups.status", "ERR")
            events = by_device(await source.read())
            assert isinstance(events[f"lab/{ONE}"], Reading)
            fault = events[f"lab/{TWO}"]
            assert isinstance(fault, DeviceFault)
            assert isinstance(fault.error, StaleError)
            assert "DRIVER-NOT-CONNECTED" in str(fault.error)
            upsd.start_drivers([TWO])
            upsd.wait_ready([TWO])
            assert all(isinstance(e, Reading) for e in by_device(await source.read()).values())

    async def test_star_follows_upses_added_and_removed(
        self, small_upsd: Callable[..., Upsd]
    ) -> None:
        """A UPS added to upsd appears at the next poll; one removed leaves roster and polls."""
        upsd = small_upsd([ONE, TWO])
        cfg = nut_config(name="lab", server=upsd.server, ups="*")
        async with NutSource(cfg) as source:
            first = await source.read()
            assert set(by_device(first)) == {f"lab/{ONE}", f"lab/{TWO}"}
            assert roster(first) == {f"lab/{ONE}", f"lab/{TWO}"}
            # a fresh upsd on the same port, with one more UPS
            upsd.stop_upsd()
            upsd.upses[THREE] = DUMPS[THREE]
            upsd.write_config()
            upsd.start_drivers([THREE])
            upsd.start_upsd()
            upsd.wait_ready()
            events = by_device(await source.read())
            assert set(events) == {f"lab/{ONE}", f"lab/{TWO}", f"lab/{THREE}"}
            assert all(isinstance(e, Reading) for e in events.values())
            # and again without TWO
            upsd.stop_upsd()
            del upsd.upses[TWO]
            upsd.write_config()
            upsd.start_upsd()
            upsd.wait_ready()
            polled = await source.read()
            assert roster(polled) == {f"lab/{ONE}", f"lab/{THREE}"}
            events = by_device(polled)
            assert set(events) == {f"lab/{ONE}", f"lab/{THREE}"}  # no fault for the gone one
            assert all(isinstance(e, Reading) for e in events.values())
            assert set(by_device(await source.read())) == {f"lab/{ONE}", f"lab/{THREE}"}

    async def test_unknown_ups_is_a_fault(self, ddl_upsd: Upsd) -> None:
        """A configured UPS upsd does not know is a ProtocolError fault, not a crash."""
        cfg = nut_config(name="nope", server=ddl_upsd.server, ups="no-such-ups")
        async with NutSource(cfg) as source:
            (event,) = await source.read()
        assert isinstance(event, DeviceFault)
        assert isinstance(event.error, ProtocolError)
        assert "UNKNOWN-UPS" in str(event.error)


class TestUnderTheRuntime:
    """The issue's promise, end to end: upsd killed, up goes 0; restarted, up goes 1."""

    async def test_upsd_down_and_back(self, small_upsd: Callable[..., Upsd]) -> None:
        """Every UPS of the upsd goes down and comes back; a device elsewhere is untouched."""
        upsd = small_upsd([ONE, TWO])
        devices = [
            nut_config(name="lab", server=upsd.server, ups="*", interval="0.3s", timeout="1s"),
            ReplayConfig.model_validate(
                {"name": "other", "source": "replay", "file": str(DUMPS[THREE]), "interval": "0.3s"}
            ),
        ]
        store = Store()
        runtime = Runtime(devices, store, backoff_max=0.5)
        runtime.start()
        names = [f"lab/{ONE}", f"lab/{TWO}"]

        def up(name: str) -> bool:
            state = store.get(name)
            return state is not None and state.up

        try:
            await until(lambda: all(up(n) for n in [*names, "other"]), timeout=10)
            upsd.stop_upsd()
            await until(lambda: not any(up(n) for n in names), timeout=10)
            assert up("other")
            state = store.get(names[0])
            assert state is not None
            assert state.errors.get("connect", 0) >= 1
            upsd.start_upsd()
            await until(lambda: all(up(n) for n in names), timeout=10)
            assert up("other")
        finally:
            await runtime.stop()
        assert len(loop_pool()) == 0


class TestRetirement:
    """``upsd -c reload`` without a UPS: it leaves /metrics after retire_after, and returns."""

    async def test_removed_ups_retired_then_back(self, small_upsd: Callable[..., Upsd]) -> None:
        """The removed UPS is gone after retire_after; the others stay up; re-added, it is back."""
        upsd = small_upsd([ONE, TWO, THREE])
        cfg = nut_config(
            name="lab", server=upsd.server, ups="*", interval="0.2s", timeout="2s",
            retire_after="1s",
        )  # fmt: skip
        store = Store()
        runtime = Runtime([cfg], store, backoff_max=0.5)
        runtime.start()
        names = {ups: f"lab/{ups}" for ups in (ONE, TWO, THREE)}

        def up(name: str) -> bool:
            state = store.get(name)
            return state is not None and state.up

        try:
            await until(lambda: all(up(n) for n in names.values()), timeout=10)
            dump = upsd.upses.pop(TWO)
            upsd.reload()
            upsd.stop_driver(TWO)
            await until(lambda: names[TWO] not in store, timeout=10)
            assert up(names[ONE])
            assert up(names[THREE])
            for other in (ONE, THREE):
                state = store.get(names[other])
                assert state is not None
                assert state.errors == {}
            upsd.upses[TWO] = dump
            upsd.reload()
            upsd.start_drivers([TWO])
            await until(lambda: up(names[TWO]), timeout=15)
        finally:
            await runtime.stop()


class TestAuthentication:
    """USERNAME and PASSWORD against upsd.users."""

    @pytest.mark.parametrize("user", sorted(USERS))
    async def test_username_and_password_accepted(self, ddl_upsd: Upsd, user: str) -> None:
        """Our USERNAME/PASSWORD are accepted (a password with a space and a quote too)."""
        cfg = nut_config(
            name="rack",
            source="nut",
            server=ddl_upsd.server,
            ups=ONE,
            username=user,
            password=USERS[user],
        )
        async with NutSource(cfg) as source:
            (event,) = await source.read()
        assert isinstance(event, Reading)

    async def test_password_file(self, ddl_upsd: Upsd, tmp_path: Path) -> None:
        """password_file is read, without its newline."""
        secret = tmp_path / "secret"
        secret.write_text(USERS["monuser"] + "\n")
        cfg = nut_config(
            name="rack",
            source="nut",
            server=ddl_upsd.server,
            ups=ONE,
            username="monuser",
            password_file=str(secret),
        )
        assert cfg.secret_password() == USERS["monuser"]
        async with NutSource(cfg) as source:
            assert isinstance((await source.read())[0], Reading)


@pytest.fixture(scope="module")
def tls_upsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upsd]:
    """Start upsd with STARTTLS (own NSS database); "other" holds a stranger's CA."""
    root = tmp_path_factory.mktemp("upsd-tls")
    upsd = Upsd(root, {ONE: DUMPS[ONE]}, tls=make_tls(root / "nss"))
    make_tls(root / "other", nickname="someone-else")
    try:
        yield upsd.start()
    finally:
        upsd.stop()


class TestStartTls:
    """STARTTLS with certificate verification, against upsd with an NSS certificate database."""

    def cfg(self, upsd: Upsd, **tls: object) -> NutConfig:
        """Build a STARTTLS device config."""
        return nut_config(name="tls", server=upsd.server, ups=ONE, starttls=True, **tls)

    async def test_verified_with_the_right_ca(self, tls_upsd: Upsd) -> None:
        """With upsd's certificate as CA, its IP matches and reads work over TLS."""
        assert tls_upsd.tls is not None
        async with NutSource(self.cfg(tls_upsd, ca_file=str(tls_upsd.tls.ca_pem))) as source:
            (event,) = await source.read()
            assert isinstance(event, Reading)
            writer = source.client._writer
            assert writer is not None
            assert writer.get_extra_info("ssl_object") is not None

    async def test_one_ssl_context_per_client(self, tls_upsd: Upsd) -> None:
        """A reconnect reuses the client's SSL context rather than building a new one."""
        assert tls_upsd.tls is not None
        async with NutSource(self.cfg(tls_upsd, ca_file=str(tls_upsd.tls.ca_pem))) as source:
            await source.read()
            context = source.client._ssl
            await source.client._drop()  # the next read connects again
            (event,) = await source.read()
            assert isinstance(event, Reading)
            assert context is not None
            assert source.client._ssl is context

    async def test_hostname_checked(self, tls_upsd: Upsd) -> None:
        """tls_hostname is the name the certificate must carry: localhost is, others are not."""
        assert tls_upsd.tls is not None
        ca = str(tls_upsd.tls.ca_pem)
        async with NutSource(self.cfg(tls_upsd, ca_file=ca, tls_hostname="localhost")) as source:
            assert isinstance((await source.read())[0], Reading)
        async with NutSource(
            self.cfg(tls_upsd, ca_file=ca, tls_hostname="ups.example.org")
        ) as source:
            with pytest.raises(ConnectError, match="not trusted"):
                await source.read()
        cfg = self.cfg(
            tls_upsd, ca_file=ca, tls_hostname="ups.example.org", tls_check_hostname=False
        )
        async with NutSource(cfg) as source:
            assert isinstance((await source.read())[0], Reading)

    async def test_wrong_ca_refused(self, tls_upsd: Upsd) -> None:
        """Another CA: the handshake fails with ConnectError and nothing is read."""
        other = tls_upsd.root / "other" / "ca.pem"
        async with NutSource(self.cfg(tls_upsd, ca_file=str(other))) as source:
            with pytest.raises(ConnectError, match="not trusted"):
                await source.read()

    async def test_no_verification_when_asked(self, tls_upsd: Upsd) -> None:
        """tls_verify: false accepts any certificate (still encrypted)."""
        async with NutSource(self.cfg(tls_upsd, tls_verify=False)) as source:
            assert isinstance((await source.read())[0], Reading)

    async def test_starttls_without_tls_on_upsd(self, ddl_upsd: Upsd) -> None:
        """Without a certificate upsd says FEATURE-NOT-CONFIGURED: an error, never plain text."""
        async with NutClient("127.0.0.1", ddl_upsd.port, tls=TlsOptions()) as client:
            with pytest.raises(ProtocolError, match="FEATURE-NOT-CONFIGURED"):
                await client.list_ups()
        assert len(loop_pool()) == 0
