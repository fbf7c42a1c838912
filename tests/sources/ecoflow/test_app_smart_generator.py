"""Smart Generator on the app API: a JSON push written key by key from tolwi's table.

Keys and units (facts): ``pd.totalPower`` W, ``pd.acVol`` mV, ``pd.acCur`` mA,
``pd.oilMaxOutPower`` W, ``pd.oilVal`` fuel %, ``pd.remainTime`` min, ``pd.temp`` °C.
"""

from __future__ import annotations

import json

from power_exporter.model import DeviceIdentity, Measure, Reading
from power_exporter.sources.ecoflow.app_device import AppDevice
from power_exporter.sources.ecoflow.online import OnlineModel

PUSH = {
    "params": {
        "pd.totalPower": 1840,
        "pd.acPower": 1790,
        "pd.dcPower": 50,
        "pd.acVol": 240150,
        "pd.acCur": 7450,
        "pd.oilMaxOutPower": 4000,
        "pd.oilVal": 63,
        "pd.remainTime": 312,
        "pd.temp": 71,
    }
}


def test_smart_generator_push() -> None:
    """Output power, AC volts and amperes, rated output; fuel and engine stay raw."""
    device = AppDevice(
        "genset",
        "DG21ZEB4ZE000001",
        DeviceIdentity(name="genset", source="ecoflow"),
        "smart_generator",
        OnlineModel(started=0.0),
        keep_for=900.0,
    )
    (event,) = device.on_payload(json.dumps(PUSH).encode(), reply=False, now=1.0)
    assert isinstance(event, Reading)
    assert event.measures == {
        Measure.OUTPUT_POWER: 1840.0,
        Measure.OUTPUT_VOLTAGE: 240.15,
        Measure.OUTPUT_CURRENT: 7.45,
        Measure.NOMINAL_POWER: 4000.0,
    }
    assert event.raw["pd.oilVal"] == 63.0
