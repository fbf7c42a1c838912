"""DRuggeri/nut_exporter's published dashboard, over our exposition, in a real Prometheus.

With ``ups_label: true`` every series of a NUT device carries ``ups="<NUT UPS name>"``, the
label DRuggeri's dashboard filters on. A real upsd serves two UPSes, a real
``power-exporter serve`` reads them (``ups: "*"``), a real Prometheus scrapes it; then the
dashboard's variable query lists both UPSes and every panel query gives data for each.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

import yaml

from tests.e2e.test_prometheus import Prometheus, fetch, free_port, running, wait_for
from tests.peers import require_binary
from tests.peers.promtool import check_metrics

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.peers.upsd import Upsd

QUERIES: Final = Path(__file__).parents[2] / "fixtures" / "druggeri" / "dashboard-queries.json"
UPSES: Final = ("apc-smart-ups-2200", "apc-back-ups-es-850g2")


def test_every_panel_has_data(small_upsd: Callable[..., Upsd], tmp_path: Path) -> None:
    """The ups variable lists both UPSes; each panel's query returns series for each."""
    prometheus = require_binary("prometheus", install="apt-get install prometheus")
    upsd = small_upsd(list(UPSES))
    exporter = f"127.0.0.1:{free_port()}"
    config = tmp_path / "exporter.yaml"
    device = {"name": "lab", "source": "nut", "server": upsd.server, "ups": "*"}
    config.write_text(
        yaml.safe_dump({"devices": [{**device, "interval": "1s", "ups_label": True}]})
    )
    binary = Path(sys.executable).parent / "power-exporter"
    command = [str(binary), "serve", "--config", str(config), "--listen", exporter]
    dashboard = json.loads(QUERIES.read_text())
    with running(command, tmp_path / "exporter.log") as process:
        page = wait_for(
            "the exporter",
            lambda: (
                (text := fetch(f"http://{exporter}/metrics")).count("network_ups_tools_ups_load{")
                == len(UPSES)
                and text
            ),
            process,
        )
        check_metrics(page.encode())
        assert f'device="lab/{UPSES[0]}",ups="{UPSES[0]}"' in page
        scrape = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": "nut", "static_configs": [{"targets": [exporter]}]}],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(scrape))
        api = f"127.0.0.1:{free_port()}"
        server_command = [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address={api}",
            "--log.level=warn",
        ]
        with running(server_command, tmp_path / "prometheus.log") as server:
            client = Prometheus(f"http://{api}")
            wait_for("Prometheus to answer", lambda: fetch(f"http://{api}/-/ready"), server)
            metric = dashboard["variable"]["query"].split("(", 1)[1].split(",", 1)[0]
            values_url = f"http://{api}/api/v1/label/ups/values?" + urllib.parse.urlencode(
                {"match[]": metric}
            )

            def listed() -> list[str] | None:
                found: list[str] = json.loads(fetch(values_url))["data"]
                return found if set(found) >= set(UPSES) else None

            assert sorted(wait_for("the ups variable's values", listed)) == sorted(UPSES)
            for ups in UPSES:
                for panel in dashboard["panels"]:
                    expr = panel["expr"].replace("$ups", ups)
                    result = wait_for(f"{panel['title']} for {ups}", partial(client.query, expr))
                    assert all(s["metric"]["ups"] == ups for s in result), panel["title"]
                    assert all(s["metric"]["device"] == f"lab/{ups}" for s in result)
