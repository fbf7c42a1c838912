"""devices.json: products by serial prefix, and seed 002's label resolution order."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from power_exporter.sources.ecoflow import devices

if TYPE_CHECKING:
    from pathlib import Path


class TestShipped:
    """The devices.json shipped with the package."""

    def test_seed_entries_are_kept(self) -> None:
        """The four products of the seed's devices.json keep their general keys."""
        products = devices.shipped()
        assert devices.match("P521ZE1B3H6J0717", products) == devices.Product(
            "P521", "RAPID Pro Desktop Charger", "ecoflow_rapid_pro_charging_dock"
        )
        pro = devices.match("DCEBZ8ZE1234", products)
        assert pro is not None
        assert pro.general_key == "ecoflow_ps_delta_pro_3600"
        assert devices.match("R601ZEB4", products).general_key == "ecoflow_ps_river_256"  # type: ignore[union-attr]
        assert devices.match("R611ZEB4", products).general_key == "ecoflow_ps_river_max_512"  # type: ignore[union-attr]

    def test_the_seed_readme_prefix(self) -> None:
        """DCA (the seed README's DELTA Pro example) is a DELTA Pro too."""
        resolved = devices.resolve("DCA12345678")
        assert resolved.general_key == "ecoflow_ps_delta_pro_3600"
        assert resolved.device_name == "DELTA Pro-5678"
        assert resolved.family == "delta_g1"

    def test_longest_prefix_wins(self) -> None:
        """D3 is the first DELTA, D361 the DELTA 3 1500."""
        products = devices.shipped()
        assert devices.match("D361ABC", products).name == "DELTA 3 1500"  # type: ignore[union-attr]
        assert devices.match("D3ZZZ", products).name == "DELTA"  # type: ignore[union-attr]
        assert devices.match("HW52ZZ", products).name == "Smart Plug"  # type: ignore[union-attr]

    def test_prefixes_are_unique_and_many(self) -> None:
        """Every prefix once; more families than the seed's four."""
        prefixes = [p.prefix for p in devices.shipped()]
        assert len(prefixes) == len(set(prefixes))
        assert len({p.name for p in devices.shipped()}) > 50


class TestResolution:
    """Configured > API > devices.json > fallback, as seed 002 documents."""

    def test_device_name_order(self) -> None:
        """Override, then the API name unless it is the serial, then <name>-<last 4>."""
        sn = "P521ZE1B3H6J0717"
        assert devices.resolve(sn, api_name="Desk", device_name="Mine").device_name == "Mine"
        assert devices.resolve(sn, api_name="Desk").device_name == "Desk"
        assert devices.resolve(sn, api_name=sn).device_name == "RAPID Pro Desktop Charger-0717"
        assert devices.resolve("ZZZ9").device_name == "ZZZ9"

    def test_product_and_general_key_order(self) -> None:
        """The productName of the API beats devices.json; unknowns fall back."""
        resolved = devices.resolve("R601X", api_product="RIVER 2 (API)")
        assert resolved.product_name == "RIVER 2 (API)"
        assert resolved.general_key == "ecoflow_ps_river_256"
        resolved = devices.resolve("R601X", product_name="P", general_key="K")
        assert (resolved.product_name, resolved.general_key) == ("P", "K")
        unknown = devices.resolve("QQQQ1")
        assert (unknown.product_name, unknown.general_key, unknown.family) == (
            "Unknown",
            "unknown",
            None,
        )

    def test_devices_json_override(self, tmp_path: Path) -> None:
        """ECOFLOW_DEVICES_JSON replaces names and keys; families still come from ours."""
        path = tmp_path / "devices.json"
        path.write_text(
            json.dumps([{"generalKey": "my_key", "name": "My River", "sn": "R60"}]), "utf-8"
        )
        resolved = devices.resolve("R601ZZZZ0001", devices_json=str(path))
        assert resolved == devices.Resolved("My River-0001", "My River", "my_key", "river2")

    @pytest.mark.parametrize(
        "text", ["{", "{}", "[1]", '[{"sn": 1, "name": "x"}]', '[{"sn": "A"}]']
    )
    def test_bad_files(self, tmp_path: Path, text: str) -> None:
        """A malformed devices.json is an error naming the file."""
        path = tmp_path / "bad.json"
        path.write_text(text, "utf-8")
        with pytest.raises(devices.DevicesFileError, match=r"bad\.json"):
            devices.load(str(path))
