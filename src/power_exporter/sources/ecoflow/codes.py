"""The error and warning codes EcoFlow devices report, one series per component.

Facts: the project's EcoFlow field notes (section 1.3 display fields 1, 140, 213-215, 232,
437-439, 450; 1.6 BMS heartbeat field 4; 1.7 PowerStream heartbeat fields 1-10, 54, 55; 1.8
Smart Plug fields 1, 2; section 2 "error codes" and the developer API's names of section 4),
from tolwi/hassio-ecoflow-cloud's and foxthefox/ioBroker.ecoflow-mqtt's field tables, and the
real dumps in the tests' fixtures (every code there reads 0).

A code is kept as the device gives it: 0 means no error (no warning); what another value
means is the vendor's, and no table here guesses it. The ``component`` label is the part of
the device whose code it is, named after the device's own key (``inverter`` for ``inv``,
``pd`` the station's power-distribution board...); a battery pack's code also carries the
pack's number as ``battery`` ("0" the main pack), as ``power_battery_pack_*`` do. Fields whose
meaning is not settled (``allErrCode``, the BMS's fault and alarm bit fields, the list of
active codes) stay raw.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from power_exporter.model import Measure
from power_exporter.sources.ecoflow.batteries import JSON_PACKS, MAX_PACKS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.model import Labels

ERROR: Final = Measure.DEVICE_ERROR_CODE
WARNING: Final = Measure.DEVICE_WARNING_CODE

# 254/21 display fields: proto names (app API) and their camelCase (developer API).
_DISPLAY: Final[Mapping[str, str]] = {
    "errcode": "system",
    "bms_err_code": "bms",
    "pd_err_code": "pd",
    "llc_err_code": "llc",
    "mppt_err_code": "mppt",
    "llc_inv_err_code": "llc_inverter",
    "dcdc_err_code": "dcdc",
    "inv_err_code": "inverter",
    "plug_in_info_dcp_err_code": "dcp",
    "plug_in_info_dcp2_err_code": "dcp2",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_PS: Final = "20_1."
_PLUG: Final = "2_1."
# raw key -> (measure, component); one row per key.
CODES: Final[Mapping[str, tuple[Measure, str]]] = {
    **{key: (ERROR, component) for key, component in _DISPLAY.items()},
    **{_camel(key): (ERROR, component) for key, component in _DISPLAY.items()},
    # DELTA 2 / RIVER 2, DELTA Pro / Max / mini, RIVER Max / Pro / mini (JSON)
    "pd.errCode": (ERROR, "pd"),
    "inv.errCode": (ERROR, "inverter"),
    "mppt.faultCode": (ERROR, "mppt"),
    # PowerStream heartbeat (20/1): its solar inputs, battery port, DC bus (LLC), inverter
    _PS + "invErrCode": (ERROR, "inverter"),
    _PS + "pv1ErrCode": (ERROR, "pv1"),
    _PS + "pv2ErrCode": (ERROR, "pv2"),
    _PS + "batErrCode": (ERROR, "battery_port"),
    _PS + "llcErrCode": (ERROR, "llc"),
    _PS + "wirelessErrCode": (ERROR, "wireless"),
    _PS + "invWarnCode": (WARNING, "inverter"),
    _PS + "pv1WarnCode": (WARNING, "pv1"),
    _PS + "pv2WarningCode": (WARNING, "pv2"),
    _PS + "batWarningCode": (WARNING, "battery_port"),
    _PS + "llcWarningCode": (WARNING, "llc"),
    _PS + "wirelessWarnCode": (WARNING, "wireless"),
    # Smart Plug heartbeat (2/1)
    _PLUG + "errCode": (ERROR, "system"),
    _PLUG + "warnCode": (WARNING, "system"),
    # DELTA Pro Ultra (developer API)
    "hs_yj751_pd_appshow_addr.sysErrCode": (ERROR, "system"),
}

# A battery pack's own code: JSON ``<pack prefix>.errCode``, protobuf 32/50 field 4.
_PROTOBUF_PACK: Final = re.compile(r"bms_heartbeat\[(\d+)\]\.err_code")
_JSON_PACK_CODE: Final = "errCode"
# RIVER mini keeps its only pack under inv.*: its battery's code.
_RIVER_MINI_PACK: Final = "inv.batErrCode"


def _pack(key: str) -> str | None:
    """The pack number whose own error code ``key`` is, or None."""
    match = _PROTOBUF_PACK.fullmatch(key)
    if match is not None:
        return match[1]
    if key == _RIVER_MINI_PACK:
        return "0"
    prefix, _, name = key.rpartition(".")
    if name == _JSON_PACK_CODE and prefix in JSON_PACKS:
        return JSON_PACKS[prefix]
    return None


def labelled(raw: Mapping[str, float]) -> dict[Measure, dict[Labels, float]]:
    """The codes of a reading: measure -> labels -> the code, as the device gave it."""
    out: dict[Measure, dict[Labels, float]] = {}
    packs: set[str] = set()
    for key, value in raw.items():
        row = CODES.get(key)
        if row is not None:
            measure, component = row
            out.setdefault(measure, {})[(("component", component),)] = value
            continue
        number = _pack(key)
        if number is None or (number not in packs and len(packs) >= MAX_PACKS):
            continue
        packs.add(number)
        out.setdefault(ERROR, {})[(("component", "battery"), ("battery", number))] = value
    return out
