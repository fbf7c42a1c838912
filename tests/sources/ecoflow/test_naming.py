"""Raw ecoflow_* names, pinned on the examples of seeds 001/002."""

from __future__ import annotations

import pytest

from power_exporter.model import DeviceIdentity, Reading
from power_exporter.sources.ecoflow.naming import NAMING, EcoflowNaming, metric_name, split_key

LABELS = {
    "device_name": "EcoFlow DELTA Pro-5678",
    "product_name": "Delta Pro",
    "device_general_key": "ecoflow_ps_delta_pro_3600",
    "metrics_prefix": "ecoflow",
}


def _reading(raw: dict[str, float], **labels: str) -> Reading:
    identity = DeviceIdentity(
        name="DCA12345678", source="ecoflow", serial="DCA12345678", labels={**LABELS, **labels}
    )
    return Reading(identity=identity, taken_at=1.0, raw=raw)


class TestNames:
    """The seed's conversion of quota keys to metric names."""

    @pytest.mark.parametrize(
        ("key", "name"),
        [
            ("bmsMaster.soc", "ecoflow_bms_master_soc"),
            ("bmsMaster.temp", "ecoflow_bms_master_temp"),
            ("inv.inputWatts", "ecoflow_inv_input_watts"),
            ("pd.qcUsb1Watts", "ecoflow_pd_qc_usb1_watts"),
            ("bms_bmsStatus.f32ShowSoc", "ecoflow_bms_bms_status_f32_show_soc"),
            ("bpSOC", "ecoflow_bp_soc"),
            ("bms.cells[5].voltage", "ecoflow_bms_cells_voltage"),
            ("20_1.pv1InputWatts", "ecoflow_20_1_pv1_input_watts"),
        ],
    )
    def test_seed_examples(self, key: str, name: str) -> None:
        """Each example of the seed's README and tests names the same metric."""
        assert metric_name("ecoflow", key) == name

    def test_array_positions_become_labels(self) -> None:
        """bms.cells[5].voltage -> index_0="5"; matrix[1][2] -> index_0, index_1."""
        assert split_key("bms.cells[5].voltage") == ("bms_cells_voltage", ("5",))
        assert split_key("matrix[1][2]") == ("matrix", ("1", "2"))
        assert split_key("battery[0]") == ("battery", ("0",))

    def test_prefix(self) -> None:
        """METRICS_PREFIX replaces ecoflow."""
        assert metric_name("solar", "bmsMaster.soc") == "solar_bms_master_soc"

    def test_promtool_safe_departures(self) -> None:
        """Reserved suffixes get _value, abbreviated units are spelled out."""
        assert metric_name("ecoflow", "pd.wattsOutSum") == "ecoflow_pd_watts_out_sum_value"
        assert metric_name("ecoflow", "20_1.resetCount") == "ecoflow_20_1_reset_count_value"
        assert metric_name("ecoflow", "pd.lcdOffSec") == "ecoflow_pd_lcd_off_seconds"
        assert metric_name("ecoflow", "odd key/é") == "ecoflow_odd_key"
        assert metric_name("ecoflow", "a.b") == "ecoflow_ab"  # a lone "b" would read as bytes


class TestSamples:
    """Samples carry the seed's labels in the seed's order, and ecoflow_online."""

    def test_labels_and_online(self) -> None:
        """Every sample has device_name, product_name, device_general_key (then index_N)."""
        samples = list(
            NAMING.samples(_reading({"bmsMaster.soc": 85.0, "bms.cells[5].voltage": 3.3}))
        )
        by_name = {s.family.name: s for s in samples}
        base = (
            ("device_name", "EcoFlow DELTA Pro-5678"),
            ("product_name", "Delta Pro"),
            ("device_general_key", "ecoflow_ps_delta_pro_3600"),
        )
        assert by_name["ecoflow_online"].value == 1.0
        assert by_name["ecoflow_online"].labels == base
        assert by_name["ecoflow_online"].family.help == "1 if device is online"
        assert by_name["ecoflow_bms_master_soc"].value == 85.0
        assert by_name["ecoflow_bms_master_soc"].labels == base
        assert by_name["ecoflow_bms_cells_voltage"].labels == (*base, ("index_0", "5"))
        assert by_name["ecoflow_bms_master_soc"].family.help == "Device metric bmsMaster.soc"
        assert all(s.family.kind == "gauge" for s in samples)

    def test_families_are_cached(self) -> None:
        """The same name gives the identical family object, for every device."""
        naming = EcoflowNaming()
        first = next(
            s for s in naming.samples(_reading({"a.c": 1.0})) if s.family.name == "ecoflow_a_c"
        )
        again = next(
            s for s in naming.samples(_reading({"a.c": 2.0})) if s.family.name == "ecoflow_a_c"
        )
        assert first.family is again.family

    def test_colliding_keys_give_one_series(self) -> None:
        """Two keys that name the same series: the first wins, no duplicate sample."""
        samples = list(NAMING.samples(_reading({"pd.soc": 1.0, "pd_soc": 2.0, "online": 7.0})))
        names = [(s.family.name, s.labels) for s in samples]
        assert len(names) == len(set(names))
        assert [s.value for s in samples if s.family.name == "ecoflow_pd_soc"] == [1.0]
        assert [s.value for s in samples if s.family.name == "ecoflow_online"] == [1.0]

    def test_prefix_from_identity(self) -> None:
        """The configured prefix names every family, ecoflow_online included."""
        samples = list(NAMING.samples(_reading({"pd.soc": 1.0}, metrics_prefix="solar")))
        assert {s.family.name for s in samples} == {"solar_online", "solar_pd_soc"}

    def test_down_samples(self) -> None:
        """While down only ecoflow_online 0 stays, with the device's labels."""
        identity = DeviceIdentity(name="d", source="ecoflow", labels=LABELS)
        (sample,) = NAMING.down_samples(identity)
        assert sample.family.name == "ecoflow_online"
        assert sample.value == 0.0
        assert dict(sample.labels)["device_name"] == "EcoFlow DELTA Pro-5678"

    def test_down_samples_of_a_device_never_read(self) -> None:
        """A device never read is labelled from its name as serial and devices.json."""
        identity = DeviceIdentity(name="R601ZEB4ZEAL1234", source="ecoflow")
        (sample,) = NAMING.down_samples(identity)
        assert dict(sample.labels) == {
            "device_name": "RIVER 2-1234",
            "product_name": "RIVER 2",
            "device_general_key": "ecoflow_ps_river_256",
        }
