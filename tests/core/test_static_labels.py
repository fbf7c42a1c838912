"""Static labels (``labels: {site: ..., rack: ...}``) on every series of a device."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from power_exporter.exposition.text import Renderer
from power_exporter.runtime import Runtime
from power_exporter.sources.registry import KINDS
from power_exporter.sources.replay.source import ReplayConfig
from power_exporter.store import Store
from tests.peers.promtool import check_metrics
from tests.support import until

DUMP = (
    Path(__file__).parents[1]
    / "fixtures"
    / "nut-ddl"
    / "Eaton__5PX_2000__usbhid-ups__2.7.4__01.dev"
)


def replay(name: str, **keys: object) -> ReplayConfig:
    """A replay device of the 5PX dump."""
    return ReplayConfig.model_validate(
        {"name": name, "source": "replay", "file": str(DUMP), "interval": "0.2s", **keys}
    )


class TestStaticLabels:
    """Configured labels reach every series of their device, and only of it."""

    async def test_every_series_carries_them(self) -> None:
        """The site and rack on every line of that device, on none of the other; promtool-clean."""
        store = Store()
        runtime = Runtime(
            [replay("a", labels={"site": "paris", "rack": 'r"1'}), replay("b")], store
        )
        runtime.start()
        try:
            await until(lambda: all((s := store.get(n)) and s.up for n in "ab"), timeout=10)
        finally:
            await runtime.stop()
        page = Renderer(store, lambda kind: KINDS[kind].naming).render()
        check_metrics(page)
        seen = 0
        for family in text_string_to_metric_families(page.decode()):
            for sample in family.samples:
                device = sample.labels.get("device")
                if device == "a":
                    seen += 1
                    assert sample.labels["site"] == "paris", sample
                    assert sample.labels["rack"] == 'r"1', sample
                elif device == "b":
                    assert "site" not in sample.labels, sample
        assert seen > 50  # measures, flags, raw, info and self-metrics

    @pytest.mark.parametrize("name", ["device", "flag", "outlet", "mfr", "__x", "1a", "index_0"])
    def test_taken_or_invalid_names_refused(self, name: str) -> None:
        """A label the exporter's own series use, or no label name at all, is a config error."""
        with pytest.raises(ValidationError, match="label"):
            replay("a", labels={name: "x"})
