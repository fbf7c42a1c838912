"""EcoFlow MQTT ingest: JSON quota pushes decoded and stored per second, against a bare loop.

One real mosquitto (TLS listener, password), one publisher process flooding DELTA 2-style
``pdStatus`` pushes (QoS 0, the real DELTA 2 capture's ``pd`` keys) to the developer API's
``/open/<account>/<sn>/quota`` topics, and, one after the other on the same broker:

- bare aiomqtt: one client subscribed to the same topics over the same TLS listener, counting
  the messages it receives (no parsing): what the broker and aiomqtt give one process;
- power-exporter: ``api: open_mqtt`` with ``serial: "*"`` (the key pair's one session, the
  push parsed, merged into the device's quota map, normalized into a checked Reading) with
  every Reading put into the Store, as the runtime does.

Both are measured with one device and with 100 devices on the account; for the latter the
broker's log shows how many connections the exporter made (one).
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt
from tests.peers.mosquitto import Mosquitto, make_tls
from tests.sources.ecoflow import data
from tests.sources.ecoflow.fake_cloud import FakeCloud

from power_exporter.model import Reading
from power_exporter.sources.ecoflow.config import EcoflowConfig
from power_exporter.sources.ecoflow.open_mqtt import client_id
from power_exporter.sources.ecoflow.open_stream import OpenMqttSource
from power_exporter.store import Store

SECONDS = 4.0
WARMUP = 1.0
ACCOUNT, PASSWORD = "open-bench", "bench-password"  # a local test broker's

# The publisher: a process of its own, so that it does not share our event loop.
PUBLISHER = r"""
import json, sys, time
import paho.mqtt.client as mqtt
port, account, seconds, serials = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4:]
params = json.loads(sys.stdin.read())
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port)
client.loop_start()
sent, deadline = 0, time.monotonic() + seconds
while time.monotonic() < deadline:
    for sn in serials:
        params["wattsOutSum"] = sent % 1000
        body = json.dumps({"typeCode": "pdStatus", "params": params})
        client.publish(f"/open/{account}/{sn}/quota", body, qos=0)
        sent += 1
    if sent % 200 == 0:
        time.sleep(0)
client.loop_stop()
client.disconnect()
print(sent)
"""


def pd_params() -> dict[str, object]:
    """The ``pd`` keys of the real DELTA 2 capture, unprefixed as a pdStatus push has them."""
    quota = data.delta2()
    return {key.removeprefix("pd."): value for key, value in quota.items() if key.startswith("pd.")}


def serials(count: int) -> list[str]:
    return [f"R331BENCH{index:07d}" for index in range(count)]


def publisher(broker: Mosquitto, sns: list[str], seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(broker.plain_port), ACCOUNT, str(seconds), *sns],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(pd_params()))
    process.stdin.close()
    return process


def finished(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    out = process.stdout.read()
    process.wait(timeout=60)
    return int(out.strip() or 0)


class Window:
    """Counts over the measuring window (after the warm-up): per wall second and per CPU second.

    The machine may be shared: the CPU time of this process (the consumer; the publisher is
    another process) is the fairer measure, the wall clock the plainer one.
    """

    def __init__(self) -> None:
        start = time.monotonic()
        self.counting, self.end = start + WARMUP, start + WARMUP + SECONDS
        self.first: tuple[float, float, int] | None = None
        self.last: tuple[float, float, int] | None = None

    def tick(self, count: int) -> bool:
        """Note the running count; True once the window is over."""
        now = time.monotonic()
        if self.first is None and now >= self.counting:
            self.first = (now, time.process_time(), count)
        if now >= self.end:
            self.last = (now, time.process_time(), count)
            return True
        return False

    def rates(self) -> tuple[float, float]:
        """(per wall second, per CPU second) over the window."""
        assert self.first is not None
        assert self.last is not None
        wall, cpu = self.last[0] - self.first[0], self.last[1] - self.first[1]
        count = self.last[2] - self.first[2]
        return count / wall, count / cpu


async def bare(broker: Mosquitto, sns: list[str], ca: Path) -> tuple[float, float, float]:
    """Messages received per wall and CPU second by a bare aiomqtt loop; published per second."""
    tls = ssl.create_default_context(cafile=str(ca))
    async with aiomqtt.Client(
        "localhost",
        broker.tls_port,
        username=ACCOUNT,
        password=PASSWORD,
        tls_context=tls,
        max_queued_incoming_messages=0,
    ) as client:
        await client.subscribe(f"/open/{ACCOUNT}/+/quota", qos=0)
        process = publisher(broker, sns, WARMUP + SECONDS)
        window, received = Window(), 0
        async with asyncio.timeout(WARMUP + SECONDS + 30):
            async for _message in client.messages:
                received += 1
                if window.tick(received):
                    break
        sent = await asyncio.to_thread(finished, process)
    return *window.rates(), sent / (WARMUP + SECONDS)


def exporter_config(cloud: FakeCloud, ca: Path) -> EcoflowConfig:
    return EcoflowConfig.model_validate(
        {
            "name": "bench",
            "source": "ecoflow",
            "api": "open_mqtt",
            "serial": "*",
            "access_key": cloud.access_key,
            "secret_key": cloud.secret_key,
            "host": cloud.url,
            "ca_file": str(ca),
            "device_list_cache_ttl": "1h",
        }
    )


async def ours(broker: Mosquitto, sns: list[str], ca: Path) -> tuple[float, float, float, int]:
    """Pushes decoded and stored per wall and CPU second; published per second; connections."""
    async with FakeCloud() as cloud:
        cloud.certifications.append(
            {
                "certificateAccount": ACCOUNT,
                "certificatePassword": PASSWORD,
                "url": "localhost",
                "port": str(broker.tls_port),
                "protocol": "mqtts",
            }
        )
        for sn in sns:
            cloud.add(sn, data.delta2())
        store = Store()
        async with OpenMqttSource(exporter_config(cloud, ca), assume_offline=3600.0) as source:
            hub = source.hub
            assert hub is not None
            events = source.stream()
            started: set[str] = set()
            while len(started) < len(sns):  # every device's quota/all reading first
                event = await anext(events)
                if isinstance(event, Reading):
                    started.add(event.device)
            await hub.wait_subscribed(frozenset(sns), 10.0)
            process = publisher(broker, sns, WARMUP + SECONDS)
            window = Window()
            async with asyncio.timeout(WARMUP + SECONDS + 30):
                async for event in events:
                    if isinstance(event, Reading):  # every push merged so far is in it
                        store.update(event, unit="bench", interval=10.0)
                        if window.tick(source.pushes):
                            break
            sent = await asyncio.to_thread(finished, process)
            connections = hub.connections
    return *window.rates(), sent / (WARMUP + SECONDS), connections


def run() -> list[str]:
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        tls = make_tls(directory / "tls")
        with Mosquitto(directory / "broker", users={ACCOUNT: PASSWORD}, tls=tls) as broker:
            for count in (1, 100):
                sns = serials(count)
                bare_wall, bare_cpu, bare_sent = asyncio.run(bare(broker, sns, tls.ca))
                before = len(_connections(broker.log_text()))
                wall, cpu, sent, hub_connections = asyncio.run(ours(broker, sns, tls.ca))
                made = len(_connections(broker.log_text())) - before
                assert hub_connections == made
                rows.append(
                    f"| {count} | {bare_sent:.0f} / {sent:.0f} | {bare_wall:.0f} | {wall:.0f} "
                    f"| {wall / bare_wall:.0%} | {bare_cpu:.0f} | {cpu:.0f} | {cpu / bare_cpu:.0%} "
                    f"| {made} |"
                )
    return [
        "### EcoFlow MQTT ingest: one real mosquitto (TLS, password), JSON quota pushes",
        "",
        (
            "| devices | published/s (bare / ours) | bare aiomqtt received/s"
            " | ours decoded + stored/s | vs bare | bare per CPU s | ours per CPU s"
            " | vs bare (CPU) | exporter connections |"
        ),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"Each push carries the {len(pd_params())} `pd` keys of the real DELTA 2 capture. A",
        "publisher process floods them at QoS 0 faster than either side takes them; each side",
        "counts over the same window after a warm-up, per wall second and per CPU second of",
        "this process (the fairer figure on a shared machine). Ours parses each push and merges",
        "it into the device's quota map as it comes; a device's Reading of the whole map (178",
        "keys, checked) is made at most every 250 ms and stored, so every pushed value reaches",
        "the store. 100 devices on one key pair are one connection (the broker's log).",
    ]


def _connections(log: str) -> list[str]:
    ours_id = re.escape(client_id(ACCOUNT))
    return re.findall(rf"New client connected from \S+ as {ours_id}", log)


if __name__ == "__main__":
    print("\n".join(run()))
