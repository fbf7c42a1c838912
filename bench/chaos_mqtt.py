"""Fault injection under EcoFlow devices: kill -9 mosquitto again and again while scraping.

``python -m bench.chaos_mqtt [KILLS]``; ``make chaos`` runs it after the upsd rounds and writes
both into bench/runs/chaos.md. A real
mosquitto with a TLS listener and password accounts is the broker of two kinds of EcoFlow entries
of a real ``power-exporter serve`` process:

- one developer ``api: open_mqtt`` entry with ``serial: "*"`` (two devices on the keys),
  certified by the test suite's stand-in for EcoFlow's developer API
  (``tests/sources/ecoflow/fake_cloud.py``) over HTTP on 127.0.0.1;
- two app-account ``api: mqtt`` entries, logged in and certified by the stand-in for the app's
  login (``tests/sources/ecoflow/app_cloud.py``). Each is on an account of its own: two entries
  on one account fight over the account's one MQTT client id until the account sessions are
  shared (issue 11); ``CHAOS_SAME_ACCOUNT=1`` puts both on one account.

The exporter is reached only through its YAML config and HTTP scrapes; the devices' names are
read from ``power_device_info`` by serial. A publisher (a third MQTT account of the broker)
pushes each device's data every 0.2 s, as EcoFlow's cloud would, with the round's number as the
output power. Each round kills mosquitto with SIGKILL, starts it again on the same ports and waits
until every device is up with the new round's number on the page: its stream reconnected and
subscribed again. A thread scrapes ``/metrics`` without pause; every scrape must succeed, and the
exporter's descriptors and asyncio tasks must end where they started.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import ssl
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import aiomqtt
from aiohttp import web
from tests.peers.mosquitto import Mosquitto, make_tls
from tests.sources.ecoflow.app_cloud import AppCloud, add_app_routes
from tests.sources.ecoflow.fake_cloud import FakeCloud

from bench.chaos_scraper import Scraper, steady_fds
from bench.exporter import Exporter, free_port, samples, value_of

if TYPE_CHECKING:
    from collections.abc import Coroutine

# The developer account's MQTT login (certified by the fake developer API).
OPEN_ACCOUNT = ("open-chaos-account", "open-chaos-password")
# The app accounts (logins) and the MQTT login their certification hands out.
APP_PASSWORD = "chaos-app-password"  # noqa: S105 (the stand-in's)
APP_MQTT = ("app-chaos-account", "app-chaos-mqtt-password")
# Who publishes the devices' data (EcoFlow's cloud, here).
PUBLISHER = ("chaos-publisher", "chaos-publisher-password")

# DELTA 2 serials (R331) on the developer stream, DELTA mini (DBA) ones on the app's.
OPEN_SERIALS = ("R331ZEB4ZEAC0001", "R331ZEB4ZEAC0002")
# app entry name -> (account, serial)
APP_DEVICES = {
    "app-a": ("chaos-a@example.invalid", "DBABZ5ZEAC000001"),
    "app-b": ("chaos-b@example.invalid", "DBABZ5ZEAC000002"),
}
SERIALS = (*OPEN_SERIALS, *(serial for _, serial in APP_DEVICES.values()))
T = TypeVar("T")
# What mosquitto logs when a second connection takes an existing client id over.
TAKEOVER = "already connected, closing old connection"
PUSH_EVERY = 0.2
BACK_WITHIN = 60.0


def open_push(marker: int) -> bytes:
    """A DELTA 2-style developer push (``/open/{account}/{sn}/quota``)."""
    return json.dumps(
        {"typeCode": "pdStatus", "params": {"wattsOutSum": marker, "soc": 80}}
    ).encode()


def app_push(marker: int) -> bytes:
    """A DELTA mini-style app push (``/app/device/property/{sn}``)."""
    params = {"pd.wattsOutSum": marker, "pd.soc": 80, "latestTimeStamp": int(time.time() * 1000)}
    document = {"params": params, "version": "1.0", "cmdId": 0, "cmdFunc": 0, "addr": 0}
    return json.dumps({**document, "id": time.time_ns()}).encode()


@dataclass(eq=False)
class Cloud:
    """The stand-ins and the publisher, on an asyncio loop of their own in a thread."""

    broker: Mosquitto
    tls: ssl.SSLContext
    marker: int = 0
    published: int = 0
    developer: FakeCloud = field(default_factory=lambda: FakeCloud("chaos-access", "chaos-secret"))
    app: AppCloud = field(
        default_factory=lambda: AppCloud(users=dict.fromkeys(accounts(), APP_PASSWORD))
    )
    app_url: str = ""
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _runner: web.AppRunner | None = None
    _publisher: asyncio.Task[None] | None = None

    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coroutine: Coroutine[object, object, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def start(self) -> None:
        self.call(self._start())

    def stop(self) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        for serial in OPEN_SERIALS:
            self.developer.add(serial, {"pd.wattsOutSum": 0, "pd.soc": 80}, product="DELTA 2")
        self.developer.certifications.append(
            {
                "certificateAccount": OPEN_ACCOUNT[0],
                "certificatePassword": OPEN_ACCOUNT[1],
                "url": "localhost",
                "port": str(self.broker.tls_port),
                "protocol": "mqtts",
            }
        )
        await self.developer.start()
        self.app.mqtt_user, self.app.mqtt_password = APP_MQTT
        self.app.mqtt_port = self.broker.tls_port
        application = web.Application()
        add_app_routes(application, self.app)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.app_url = f"http://127.0.0.1:{port}"
        self._publisher = asyncio.create_task(self._publish())

    async def _stop(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
        await self.developer.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _publish(self) -> None:
        """Push every device's data every PUSH_EVERY s; reconnect when the broker goes."""
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.broker.tls_port,
                    username=PUBLISHER[0],
                    password=PUBLISHER[1],
                    tls_context=self.tls,
                    timeout=2,
                ) as client:
                    while True:
                        for serial in OPEN_SERIALS:
                            topic = f"/open/{OPEN_ACCOUNT[0]}/{serial}/quota"
                            await client.publish(topic, open_push(self.marker), qos=1)
                        for _, serial in APP_DEVICES.values():
                            topic = f"/app/device/property/{serial}"
                            await client.publish(topic, app_push(self.marker), qos=1)
                        self.published += 1
                        await asyncio.sleep(PUSH_EVERY)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)


def accounts() -> list[str]:
    """The app account of each app entry (one for all under CHAOS_SAME_ACCOUNT=1)."""
    users = [user for user, _ in APP_DEVICES.values()]
    return [users[0]] * len(users) if os.environ.get("CHAOS_SAME_ACCOUNT") == "1" else users


def config(folder: Path, cloud: Cloud, ca: Path) -> Path:
    """The exporter's YAML: every device's entry, with short reconnect delays."""
    lines = ["log_level: warning", "backoff_max: 1s", "devices:"]
    lines += [
        "  - name: open",
        "    source: ecoflow",
        "    api: open_mqtt",
        '    serial: "*"',
        f"    access_key: {cloud.developer.access_key}",
        f"    secret_key: {cloud.developer.secret_key}",
        f"    host: {cloud.developer.url}",
        f"    ca_file: {ca}",
        "    http_timeout: 2s",
        "    interval: 1s",  # the runtime's reconnect backoff starts at the interval
    ]
    for (name, (_, serial)), user in zip(APP_DEVICES.items(), accounts(), strict=True):
        lines += [
            f"  - name: {name}",
            "    source: ecoflow",
            "    api: mqtt",
            f"    serial: {serial}",
            f"    user: {user}",
            f"    password: {APP_PASSWORD}",
            f"    host: {cloud.app_url}",
            f"    ca_file: {ca}",
            "    http_timeout: 2s",
            "    max_reconnect_delay: 0.5s",
        ]
    path = folder / "chaos-mqtt.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def names(page: str) -> dict[str, str]:
    """Each serial's device name, from ``power_device_info``."""
    return {
        labels["serial"]: labels["device"]
        for labels, _ in samples(page, "power_device_info")
        if labels.get("serial") in SERIALS
    }


def wait_back(scraper: Scraper, marker: int, timeout: float = BACK_WITHIN) -> dict[str, float]:
    """Seconds until each device is up and shows ``marker`` as its output power."""
    started = time.monotonic()
    back: dict[str, float] = {}
    while time.monotonic() - started < timeout:
        up = dict(zip(scraper.devices, scraper.up(), strict=True))
        for name, value in markers(scraper).items():
            if name not in back and value == marker and up[name] == 1.0:
                back[name] = time.monotonic() - started
        if len(back) == len(scraper.devices):
            return back
        time.sleep(0.01)
    raise TimeoutError(
        f"devices not all back with {marker} within {timeout} s: "
        f"{markers(scraper)} up {scraper.up()}"
    )


def markers(scraper: Scraper) -> dict[str, float | None]:
    """Each device's output power on the last page (the publisher's round number)."""
    page = scraper.page
    return {
        name: value_of(page, f'power_output_power_watts{{device="{name}"}}')
        for name in scraper.devices
    }


@dataclass
class Round:
    back: dict[str, float]  # device -> seconds from the restart to up with new data
    down: frozenset[str]  # the devices that some scrape of the round showed down
    fds: int
    tasks: float
    takeovers: int  # in the broker's log of the round before


@dataclass
class Result:
    kills: int
    scrapes: int
    failures: list[str]
    fds_before: int
    tasks_before: float
    rounds: list[Round]
    alive: bool
    accounts: int
    takeovers: int

    def lines(self) -> list[str]:
        fds = [r.fds for r in self.rounds]
        tasks = [r.tasks for r in self.rounds]
        per_device = []
        for name in self.rounds[0].back:
            backs = sorted(r.back[name] for r in self.rounds)
            per_device.append(
                f"`{name}` median {backs[len(backs) // 2]:.2f} s, at most {backs[-1]:.2f} s"
            )
        return [
            (
                f"### Chaos: mosquitto killed with SIGKILL {self.kills} times under "
                f'{len(OPEN_SERIALS)} `api: open_mqtt` devices (one `serial: "*"` entry) and '
                f"{len(APP_DEVICES)} `api: mqtt` devices ({self.accounts} app account(s))"
            ),
            "",
            (
                f"- exporter alive at the end: {'yes' if self.alive else 'NO'}; "
                f"scrapes {self.scrapes}, failed {len(self.failures)}"
            ),
            (
                f"- every round ({len(self.rounds)}) saw every device up again with data pushed "
                f"after the restart, from the restart: {'; '.join(per_device)}"
            ),
            (
                "- rounds in which a device showed `power_device_up 0` meanwhile: "
                + "; ".join(
                    f"`{name}` {sum(name in r.down for r in self.rounds)}"
                    for name in self.rounds[0].back
                )
            ),
            (
                "- client-id takeovers in the broker's log (a second connection kicking the "
                f"first off): {self.takeovers}"
            ),
            (
                f"- open descriptors: {self.fds_before} before, {min(fds)}..{max(fds)} after each "
                "round"
            ),
            (
                f"- asyncio tasks: {self.tasks_before:.0f} before, "
                f"{min(tasks):.0f}..{max(tasks):.0f} after each round"
            ),
        ]


def kill_and_restart(broker: Mosquitto, cloud: Cloud, scraper: Scraper, number: int) -> Round:
    """One round: kill -9 the broker, start it again, wait for every device's new data."""
    process = broker._process  # noqa: SLF001 (the helper has no kill -9 of its own)
    assert process is not None
    takeovers = broker.log_text().count(TAKEOVER)  # its log starts anew with the broker
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    broker.stop()  # closes its log; the process is gone already
    downs = scraper.down_pages.copy()
    time.sleep(0.5)  # the broker stays away for a moment
    cloud.marker = number
    broker.start()
    back = wait_back(scraper, number)
    down = frozenset(scraper.down_pages - downs)
    time.sleep(0.6)  # a little longer, so that anything left over would show
    tasks = value_of(scraper.page, "power_exporter_tasks ") or -1.0
    return Round(back, down, steady_fds(scraper.exporter), tasks, takeovers)


def chaos(kills: int, folder: Path) -> Result:
    certificates = make_tls(folder / "tls")
    users = dict([OPEN_ACCOUNT, APP_MQTT, PUBLISHER])
    broker = Mosquitto(folder / "broker", users=users, tls=certificates).start()
    cloud = Cloud(broker, ssl.create_default_context(cafile=str(certificates.ca)))
    cloud.start()
    log = (folder / "exporter.log").open("wb")
    exporter = Exporter(config(folder, cloud, certificates.ca), log=log).start()
    scraper = Scraper(exporter)
    try:
        exporter.wait_up(len(SERIALS))
        scraper.devices = tuple(names(exporter.get()[1].decode()).values())
        assert len(scraper.devices) == len(SERIALS), scraper.devices
        scraper.start()
        cloud.marker = 1
        wait_back(scraper, 1)
        time.sleep(1.0)  # let the first connections settle
        fds_before = steady_fds(exporter)
        tasks_before = value_of(scraper.page, "power_exporter_tasks ") or -1.0
        rounds = [kill_and_restart(broker, cloud, scraper, n) for n in range(2, kills + 2)]
        alive = exporter.alive()
        takeovers = sum(r.takeovers for r in rounds) + broker.log_text().count(TAKEOVER)
    except Exception:
        print(f"the exporter logged:\n{(folder / 'exporter.log').read_text()[-4000:]}")
        print(f"the last page:\n{scraper.page or exporter.get()[1].decode()}")
        raise
    finally:
        scraper.stop.set()
        if scraper.is_alive():
            scraper.join(10)
        exporter.stop()
        log.close()
        cloud.stop()
        broker.stop()
    accounts_used = len(set(accounts()))
    return Result(
        kills,
        scraper.scrapes,
        scraper.failures,
        fds_before,
        tasks_before,
        rounds,
        alive,
        accounts_used,
        takeovers,
    )


def run(kills: int) -> tuple[list[str], bool]:
    """The report's lines, and whether every goal was met."""
    with tempfile.TemporaryDirectory() as folder:
        result = chaos(kills, Path(folder))
    flat = all(r.fds <= result.fds_before and r.tasks <= result.tasks_before for r in result.rounds)
    ok = result.alive and not result.failures and flat and not result.takeovers
    goal = (
        "- goal (0 failed scrapes, every device back up with new data after each restart, "
        f"no client-id takeover, fds and tasks flat): {'met' if ok else 'NOT MET'}"
    )
    return [*result.lines(), goal], ok


def main(kills: int) -> int:
    lines, ok = run(kills)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
