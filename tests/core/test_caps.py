"""What a peer can make us hold is bounded: devices per entry, variables per device, names."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from power_exporter.exposition.text import Renderer
from power_exporter.model import DeviceIdentity, Reading
from power_exporter.runtime import Runtime
from power_exporter.sources.ecoflow.naming import NAMING as ECOFLOW_NAMING
from power_exporter.sources.ecoflow.naming import EcoflowNaming
from power_exporter.sources.lru import LruCache
from power_exporter.sources.nut.naming import NutNaming
from power_exporter.store import Store
from tests import scripted
from tests.scripted import SCRIPTS, Script, config
from tests.support import until

if TYPE_CHECKING:
    import pytest

NAMES = 100_000


def raw_reading(name: str, variables: dict[str, float]) -> Reading:
    return Reading(
        identity=DeviceIdentity(name=name, source="scripted"),
        taken_at=time.time(),
        raw=variables,
        text={f"text.{key}": "x" for key in variables},
    )


class TestMaxDevices:
    """A fan-out entry creates at most max_devices devices; the rest are dropped and counted."""

    async def test_entry_is_capped(self, caplog: pytest.LogCaptureFixture) -> None:
        """50 devices announced, max_devices 7: 7 devices, the rest counted, one warning."""
        SCRIPTS.clear()
        SCRIPTS["fan"] = Script(steps=[[raw_reading(f"fan/{n}", {"v": 1.0}) for n in range(50)]])
        store = Store()
        runtime = Runtime([config("fan", max_devices=7)], store, kinds=scripted.KINDS)
        with caplog.at_level(logging.WARNING):
            runtime.start()
            try:
                await until(lambda: SCRIPTS["fan"].reads >= 3)
            finally:
                await runtime.stop()
        assert sorted(state.name for state in store) == [f"fan/{n}" for n in range(7)]
        dropped = store.dropped_devices["fan"]
        assert dropped % 43 == 0  # 43 devices dropped at every poll
        assert dropped >= 43 * 3
        warnings = [r for r in caplog.records if "max_devices" in r.getMessage()]
        assert len(warnings) == 1
        page = Renderer(store, lambda _kind: ECOFLOW_NAMING).render().decode()
        assert f'power_exporter_devices_dropped_total{{entry="fan"}} {dropped}\n' in page

    def test_default(self) -> None:
        """The default is 1,000 devices and 1,000 variables."""
        cfg = config("x")
        assert (cfg.max_devices, cfg.max_variables) == (1000, 1000)


class TestMaxVariables:
    async def test_reading_is_cut(self, caplog: pytest.LogCaptureFixture) -> None:
        """A reading of 300 numeric and 300 text variables keeps the first 100 of each."""
        SCRIPTS.clear()
        variables = {f"var.{n:03d}": float(n) for n in range(300)}
        SCRIPTS["big"] = Script(steps=[[raw_reading("big", variables)]])
        store = Store()
        runtime = Runtime([config("big", max_variables=100)], store, kinds=scripted.KINDS)
        with caplog.at_level(logging.WARNING):
            runtime.start()
            try:
                await until(lambda: SCRIPTS["big"].reads >= 3)
            finally:
                await runtime.stop()
        state = store.get("big")
        assert state is not None
        assert state.reading is not None
        assert list(state.reading.raw) == [f"var.{n:03d}" for n in range(100)]
        assert len(state.reading.text) == 100
        assert len([r for r in caplog.records if "max_variables" in r.getMessage()]) == 1


class TestBoundedNames:
    """Caches of names a peer chooses stay at their bound, however many names it sends."""

    def test_lru_keeps_the_recent(self) -> None:
        """Past its bound the least recently used entry goes; a hit keeps one."""
        cache: LruCache[str, int] = LruCache(3)
        for key in "abc":
            cache.put(key, ord(key))
        assert cache.get("a") == ord("a")
        cache.put("d", 0)
        assert (cache.get("b"), cache.get("a"), len(cache)) == (None, ord("a"), 3)

    def test_nut_naming(self) -> None:
        """100,000 distinct NUT variable names: both family caches stay at their bound."""
        naming = NutNaming()
        for n in range(NAMES):
            naming.family(f"hostile.var{n}")
        bound = naming._families.max_entries
        assert bound < NAMES
        assert len(naming._families) == bound
        assert len(naming._of_variable) == naming._of_variable.max_entries < NAMES

    def test_ecoflow_naming(self) -> None:
        """100,000 distinct quota keys: both of the EcoFlow naming's caches stay bounded."""
        naming = EcoflowNaming()
        identity = DeviceIdentity(name="s", source="ecoflow", serial="R331")
        for start in range(0, NAMES, 1000):
            reading = Reading(
                identity=identity,
                taken_at=0.0,
                raw={f"pd.key{n}": 1.0 for n in range(start, start + 1000)},
            )
            list(naming.samples(reading))
        assert len(naming._keys) <= naming._keys.max_entries < NAMES
        assert len(naming._families) <= naming._families.max_entries < NAMES

    def test_renderer_families(self) -> None:
        """A device sending 1,000 new variable names at each of 100 readings: bounded families.

        The renderer's family table is compacted; the page holds only the current names.
        """
        store = Store()
        naming = NutNaming()
        renderer = Renderer(store, lambda _kind: naming)
        largest = 0
        for poll in range(NAMES // 1000):
            variables = {f"hostile.p{poll}.v{n}": 1.0 for n in range(1000)}
            store.update(raw_reading("ups", variables), unit="ups", interval=1.0)
            page = renderer.render().decode()
            largest = max(largest, renderer.family_count)
        assert largest < 25_000  # the contract's families, plus at most twice the bound
        assert "hostile_p99_v999" in page
        assert "hostile_p0_v0 " not in page
