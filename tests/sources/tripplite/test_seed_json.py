"""The seed's JSON, byte for byte: ``read tripplite``, ``Battery.get()`` and the hooks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from power_exporter import cli
from power_exporter.config import validate
from power_exporter.errors import ConnectError, DecodeError
from power_exporter.model import Reading, Roster
from power_exporter.sources.tripplite import (
    KIND,
    Battery,
    TrippliteConfig,
    TrippliteSource,
    battery_paths,
)
from power_exporter.sources.tripplite import source as source_module
from power_exporter.sources.tripplite.commands import discover, render_read, target_config
from tests.sources.tripplite.replay import FIXTURES, ReplayTransport, ReplayUps, info

if TYPE_CHECKING:
    from collections.abc import Sequence

SEED_JSON = (FIXTURES / "readme-example.seed.json").read_text(encoding="utf-8").removesuffix("\n")
README_JSON = (FIXTURES / "readme-example.json").read_text(encoding="utf-8").removesuffix("\n")


async def read_all(transport: ReplayTransport, target: str = "tripplite") -> Sequence[Reading]:
    """The readings of one poll of ``read TARGET``'s config."""
    cfg = validate({"devices": [target_config(target)]}).devices[0]
    assert isinstance(cfg, TrippliteConfig)
    async with TrippliteSource(cfg, transport, hostname="h") as src:
        events = await src.read()
    assert all(isinstance(e, Reading | Roster) for e in events)
    return [e for e in events if isinstance(e, Reading)]


class TestRenderRead:
    """``render_read``: the seed command's output from readings."""

    async def test_example_byte_for_byte(self) -> None:
        """One UPS: the seed's object, indent 4, sorted keys, device_id its path."""
        out = render_read(await read_all(ReplayTransport(ReplayUps(info()))))
        assert out == SEED_JSON

    async def test_readme_bytes_but_for_device_id(self) -> None:
        """Less the device_id line (added to the seed later), it is the README's example."""
        out = render_read(await read_all(ReplayTransport(ReplayUps(info()))))
        assert out.replace('    "device_id": "/dev/hidraw0",\n', "") == README_JSON

    async def test_jq_paths_still_work(self) -> None:
        """`jq '.status."ac present"'` and friends find what they found before."""
        doc = json.loads(render_read(await read_all(ReplayTransport(ReplayUps(info())))))
        assert doc["status"]["ac present"] is True
        assert doc["status"]["shutdown imminent"] is False
        assert doc["input"]["voltage"] == 117.2
        assert doc["time to empty"] == 1004

    async def test_several_upses_a_list(self) -> None:
        """Several UPSes: a list of objects, in the order they were found."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="AAA")),
            ReplayUps(info("/dev/hidraw1", serial="BBB")),
        )
        out = render_read(await read_all(transport))
        doc = json.loads(out)
        assert isinstance(doc, list)
        assert [d["device_id"] for d in doc] == ["/dev/hidraw0", "/dev/hidraw1"]
        assert out == json.dumps([json.loads(SEED_JSON), doc[1]], indent=4, sort_keys=True)
        assert out.startswith('[\n    {\n        "config": {\n            "frequency": 60,')

    async def test_explicit_path_target(self) -> None:
        """``tripplite:PATH`` reads that UPS only."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="AAA")),
            ReplayUps(info("/dev/hidraw1", serial="BBB")),
        )
        (reading,) = await read_all(transport, "tripplite:/dev/hidraw1")
        assert reading.device == "tripplite"
        assert json.loads(render_read([reading]))["device_id"] == "/dev/hidraw1"

    def test_target_config(self) -> None:
        """Targets become valid configs: every UPS, or one path."""
        assert target_config("tripplite") == {
            "name": "tripplite",
            "source": "tripplite",
            "path": "auto",
        }
        assert target_config("tripplite:/dev/hidraw2")["path"] == "/dev/hidraw2"
        assert target_config("tripplite:///dev/ups-desk")["path"] == "/dev/ups-desk"
        for target in ("tripplite", "tripplite:/dev/hidraw2"):
            assert isinstance(
                validate({"devices": [target_config(target)]}).devices[0], TrippliteConfig
            )
        assert KIND.target_schemes == ("tripplite",)


class TestCommandLine:
    """``power-exporter read tripplite`` through the real CLI, the transport replayed."""

    def test_read_prints_the_seed_json(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The CLI prints exactly the seed command's output and exits 0."""
        transport = ReplayTransport(ReplayUps(info()))
        monkeypatch.setattr(source_module, "HidapiTransport", lambda: transport)
        assert cli.main(["read", "tripplite"]) == 0
        assert capsys.readouterr().out == SEED_JSON + "\n"

    def test_read_without_any_ups(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No TrippLite: a message on stderr and exit 1 (the seed raised OSError)."""
        monkeypatch.setattr(source_module, "HidapiTransport", ReplayTransport)
        assert cli.main(["read", "tripplite"]) == 1
        assert "no TrippLite UPS found" in capsys.readouterr().err


class TestPythonApi:
    """``Battery`` and ``battery_paths``, the seed's Python API."""

    def test_battery_get(self) -> None:
        """``with Battery() as b: b.get()`` gives the seed's structure of the first UPS."""
        transport = ReplayTransport(ReplayUps(info()))
        with Battery(transport=transport) as battery:
            state = battery.get()
        assert json.dumps(state, indent=4, sort_keys=True) == SEED_JSON
        assert transport.devices["/dev/hidraw0"].closes == 1

    def test_paths_and_several(self) -> None:
        """``battery_paths()`` lists every TrippLite; each opens by its path."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="AAA")),
            ReplayUps(info("/dev/hidraw1", serial="BBB")),
        )
        paths = battery_paths(transport)
        assert paths == ["/dev/hidraw0", "/dev/hidraw1"]
        for path in paths:
            with Battery(path, transport=transport) as battery:
                assert battery.get()["device_id"] == path

    def test_no_ups(self) -> None:
        """No TrippLite: ConnectError, with the seed's words."""
        with (
            pytest.raises(ConnectError, match="No TrippLite devices found"),
            Battery(transport=ReplayTransport()),
        ):
            pass

    def test_errors_and_reopen(self) -> None:
        """I/O errors are ConnectError; close and open again recovers (the seed's loop)."""
        ups = ReplayUps(info())
        ups.script[48].append(OSError("read error"))
        ups.script[50].extend([b"", b"", b"", b"", bytes.fromhex("06 00")])
        battery = Battery("/dev/hidraw0", transport=ReplayTransport(ups))
        battery.open()
        with pytest.raises(ConnectError, match="/dev/hidraw0: read error"):
            battery.get()
        battery.close()
        battery.open()
        with pytest.raises(ConnectError, match=r"report 50 \(status\): no data in 4 replies"):
            battery.get()
        with pytest.raises(DecodeError, match="unexpected reply for report 6"):
            battery.get()
        assert battery.get()["health"] == 100
        battery.close()
        battery.close()
        with pytest.raises(ConnectError, match="not open"):
            battery.get()

    def test_3016_warned(self, caplog: pytest.LogCaptureFixture) -> None:
        """Opening a 09ae:3016 warns that it may speak another protocol."""
        transport = ReplayTransport(ReplayUps(info(product_id=0x3016)))
        with Battery(transport=transport) as battery:
            battery.get()
        assert any("09ae:3016 may speak another protocol" in r.message for r in caplog.records)


class TestDiscover:
    """``power-exporter discover``: a config entry per UPS."""

    async def test_entries(self) -> None:
        """By serial where there is one (named exactly), by path where there is none."""
        transport = ReplayTransport(
            ReplayUps(info("/dev/hidraw0", serial="AAA")),
            ReplayUps(info("/dev/hidraw1", serial="")),
        )
        entries = await discover(None, transport)
        assert entries == [
            {"name": "tripplite-AAA", "source": "tripplite", "serial": "AAA"},
            {"name": "tripplite-hidraw1", "source": "tripplite", "path": "/dev/hidraw1"},
        ]
        config = validate({"devices": entries})
        assert [d.name for d in config.devices] == ["tripplite-AAA", "tripplite-hidraw1"]

    async def test_other_host(self) -> None:
        """USB is local: asked about another host, nothing."""
        assert await discover("upsd.example:3493", ReplayTransport(ReplayUps(info()))) == []
