"""End to end: three sharded replicas of one config, scraped by a real Prometheus as one fleet.

Three ``python -m power_exporter serve`` processes share a config of 300 replayed UPSes and
a ``ups: "*"`` entry on a real upsd (dummy-ups drivers replaying 8 dumps), each with
``--shard N --total-shards 3``. Prometheus finds every device through ``/sd?all=1`` (each
device at the replica that owns it; the lists of two replicas, which agree) and also scrapes
each replica's ``/metrics``. Every device must be scraped exactly once by each job: none
twice, none missing. When a replica stops, its devices become down targets; no other
replica serves them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import socket
import sys
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from power_exporter.sharding import owner
from tests.e2e.test_prometheus import Prometheus, fetch, free_port, running, wait_for
from tests.ops.paths import ROOT
from tests.peers import require_binary
from tests.peers.upsd import Upsd, dumps

if TYPE_CHECKING:
    from collections.abc import Iterator

DUMP = ROOT / "tests" / "fixtures" / "nut-ddl" / "APC__Smart-UPS_VS650__apcsmart__2.0.0__01.dev"
REPLAYED = [f"ups-{i:03d}" for i in range(300)]
NUT_UPSES = 8  # dummy-ups drivers behind the upsd of the ``ups: "*"`` entry "rack"
SHARDS = 3
FLEET_JOB = "fleet"
REPLICAS_JOB = "replicas"


def _free_ports() -> int:
    """A number k such that ports k0, k1 and k2 are free on 127.0.0.1 (k = 2000..6000)."""
    for _ in range(50):
        base = random.randint(2000, 6000)  # noqa: S311 (picking ports, not cryptography)
        with contextlib.ExitStack() as stack:
            try:
                for shard in range(SHARDS):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", base * 10 + shard))
            except OSError:
                continue
            return base
    pytest.fail("no three free ports in a row")


@pytest.fixture(scope="module")
def upsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upsd]:
    """A real upsd serving 8 UPSes."""
    root = tmp_path_factory.mktemp("upsd")
    server = Upsd(root, dict(list(dumps(DUMP.parent).items())[:NUT_UPSES])).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, upsd: Upsd) -> Iterator[dict[str, Any]]:
    """Three replicas and a Prometheus scraping them; yields what the tests need."""
    prometheus = require_binary("prometheus", install="apt-get install prometheus")
    tmp = tmp_path_factory.mktemp("sharded")
    config = tmp / "fleet.yaml"
    devices: list[dict[str, str]] = [
        {"name": name, "source": "replay", "file": str(DUMP), "interval": "5s"} for name in REPLAYED
    ]
    devices.append({"name": "rack", "source": "nut", "server": upsd.server, "ups": "*"})
    config.write_text(yaml.safe_dump({"devices": devices}))
    base = _free_ports()
    addresses = [f"127.0.0.1:{base}{shard}" for shard in range(SHARDS)]
    peers = f"http://127.0.0.1:{base}{{shard}}"
    with contextlib.ExitStack() as stack:
        replicas = []
        for shard, address in enumerate(addresses):
            command = [sys.executable, "-m", "power_exporter", "serve", "--config", str(config)]
            command += ["--listen", address, "--shard", str(shard), "--total-shards", "3"]
            command += ["--shard-peers", peers, "--log-level", "warning"]
            replicas.append(stack.enter_context(running(command, tmp / f"replica{shard}.log")))
        for process, address in zip(replicas, addresses, strict=True):
            url = f"http://{address}/healthz"
            wait_for(f"replica {address}", functools.partial(fetch, url), process)
        scrape = {
            "global": {"scrape_interval": "2s", "scrape_timeout": "1500ms"},
            "scrape_configs": [
                {
                    "job_name": FLEET_JOB,
                    "metrics_path": "/probe",
                    "honor_labels": True,
                    # Two replicas' lists, as docs/scaling.md advises (either may be down):
                    # the same targets twice are one target to Prometheus.
                    "http_sd_configs": [
                        {"url": f"http://{address}/sd?all=1", "refresh_interval": "5s"}
                        for address in addresses[:2]
                    ],
                },
                {"job_name": REPLICAS_JOB, "static_configs": [{"targets": addresses}]},
            ],
        }
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(scrape))
        api = f"127.0.0.1:{free_port()}"
        command = [
            prometheus,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address={api}",
            "--log.level=warn",
        ]
        server = stack.enter_context(running(command, tmp / "prometheus.log"))
        wait_for("Prometheus to answer", lambda: fetch(f"http://{api}/-/ready"), server)
        yield {
            "prometheus": Prometheus(f"http://{api}"),
            "addresses": addresses,
            "replicas": replicas,
            "devices": [*REPLAYED, *(f"rack/{ups}" for ups in upsd.upses)],
        }


def _per_device(client: Prometheus, expr: str) -> dict[str, float]:
    return {s["metric"]["device"]: float(s["value"][1]) for s in client.query(expr)}


def _served_by(client: Prometheus, job: str) -> dict[str, str]:
    """Device -> the instance (replica) whose scrape in ``job`` gave its power_device_up."""
    found = client.query(f'power_device_up{{job="{job}"}}')
    return {s["metric"]["device"]: s["metric"]["instance"] for s in found}


def test_every_device_scraped_exactly_once(fleet: dict[str, Any]) -> None:
    """Each of 308 devices: one series through /sd?all=1 and one across the replicas' /metrics."""
    client: Prometheus = fleet["prometheus"]
    addresses: list[str] = fleet["addresses"]
    devices: list[str] = fleet["devices"]

    def counted(job: str) -> dict[str, float] | None:
        found = _per_device(client, f'count by (device) (power_device_up{{job="{job}"}} == 1)')
        return found if len(found) == len(devices) else None

    for job in (FLEET_JOB, REPLICAS_JOB):
        found = wait_for(f"every device up through {job}", functools.partial(counted, job))
        assert set(found) == set(devices), job
        assert set(found.values()) == {1.0}, f"{job}: a device counted twice"
    # Each probe target is at the replica whose own /metrics serves the device, and the
    # replicas share the devices out (the NUT UPSes among them).
    targets = client.query(f'up{{job="{FLEET_JOB}"}}')
    assert len(targets) == len(devices)
    served = _served_by(client, REPLICAS_JOB)
    for sample in targets:
        device = sample["metric"]["device"]
        assert sample["metric"]["instance"] == served[device], device
    assert set(served.values()) == set(addresses)
    replayed = {device: served[device] for device in REPLAYED}
    assert all(replayed[name] == addresses[owner(name, SHARDS)] for name in REPLAYED)
    # Every replica says which shard it is and how many devices it serves.
    info = client.query(f'power_exporter_shard_info{{job="{REPLICAS_JOB}"}}')
    assert sorted((s["metric"]["instance"], s["metric"]["shard"]) for s in info) == [
        (address, str(shard)) for shard, address in enumerate(addresses)
    ]
    total = client.query(f'sum(power_exporter_shard_devices{{job="{REPLICAS_JOB}"}})')
    assert float(total[0]["value"][1]) == len(devices)


def test_a_stopped_replica_shows_as_down_targets(fleet: dict[str, Any]) -> None:
    """Stop replica 2: its devices are down targets; no other replica serves them."""
    client: Prometheus = fleet["prometheus"]
    addresses: list[str] = fleet["addresses"]
    test_every_device_scraped_exactly_once(fleet)  # the fleet is whole first
    served = _served_by(fleet["prometheus"], REPLICAS_JOB)
    lost = {name for name, instance in served.items() if instance == addresses[2]}
    assert lost
    replica = fleet["replicas"][2]
    replica.terminate()
    replica.wait(timeout=10)

    def down() -> set[str] | None:
        found = _per_device(client, f'up{{job="{FLEET_JOB}"}} == 0')
        return set(found) if set(found) == lost else None

    wait_for("the stopped replica's devices down", down)
    # Their data went stale, not over to another replica: no live series for them, in
    # either job, and the other replicas' own pages do not list them.
    for job in (FLEET_JOB, REPLICAS_JOB):
        live = set(_per_device(client, f'power_device_up{{job="{job}"}}'))
        assert live.isdisjoint(lost), job
    for address in addresses[:2]:
        page = fetch(f"http://{address}/metrics")
        assert not any(f'device="{name}"' in page for name in lost), address
        listed = {g["labels"]["device"] for g in json.loads(fetch(f"http://{address}/sd"))}
        assert listed.isdisjoint(lost)
