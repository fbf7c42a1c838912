"""The home-energy families' own protobuf messages on the app API, by SN prefix.

STREAM, Smart Meter, PowerOcean (with DC Fit and Plus), DELTA Pro Ultra and Smart Home
Panel 2 send messages of their own (``proto/stream.proto``, ``powerocean.proto``,
``dpu.proto``, ``shp2.proto``). Their fields are named so that the keys come out as the
developer API's (``cmsBattSoc``, ``powGetSysGrid``, ``sysGridPwr``, ``bpSta[0].bpSoc``,
``hs_yj751_pd_appshow_addr.soc``, ``hs_yj751_bms_slave_addr.2.soc``,
``wattInfo.gridWatt``...): the family tables of ``more_families`` apply to both APIs alike.
Battery packs of STREAM report in the power stations' BMS heartbeat (32/50,
``bms_heartbeat[<num>].*``), its CMS in their 32/2. ``app_schemas.PREFIX_COMMANDS`` takes this
table in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from power_exporter.sources.ecoflow.envelope import COMMANDS, Command
from power_exporter.sources.ecoflow.proto import dpu_pb2, powerocean_pb2, shp2_pb2, stream_pb2

if TYPE_CHECKING:
    from collections.abc import Mapping

    from google.protobuf.message import Message


def _bare(_message: object) -> str:
    return ""


def _dpu_show(_message: object) -> str:
    return "hs_yj751_pd_appshow_addr."


def _dpu_backend(_message: object) -> str:
    return "hs_yj751_pd_backend_addr."


def _dpu_pack(pack: Message) -> str:
    """A battery pack's keys, as the developer API's: by the pack's own number (1 = first)."""
    number = getattr(pack, "bp_no", 0)
    return f"hs_yj751_bms_slave_addr.{number}." if number else ""


_STREAM_DISPLAY: Final = Command("stream_display", stream_pb2.StreamDisplay, _bare, json_names=True)
_BK_RUNTIME: Final = Command("bk_runtime", stream_pb2.StreamRuntime, _bare, json_names=True)
_SMART_METER_DISPLAY: Final = Command(
    "smart_meter_display", stream_pb2.SmartMeterDisplay, _bare, json_names=True
)
_POWEROCEAN_STREAM: Final = Command(
    "powerocean_energy_stream", powerocean_pb2.PowerOceanEnergyStream, _bare, json_names=True
)
_POWEROCEAN_PACKS: Final = Command(
    "powerocean_packs", powerocean_pb2.PowerOceanPacks, _bare, json_names=True
)

_POWEROCEAN_FIT: Final[Mapping[tuple[int, int], Command]] = {
    (96, 33): Command(
        "powerocean_fit_energy_stream",
        powerocean_pb2.PowerOceanFitEnergyStream,
        lambda _message: "96_33.",
        json_names=True,
    ),
}
_DPU: Final[Mapping[tuple[int, int], Command]] = {
    (2, 1): Command("dpu_app_show", dpu_pb2.DpuAppShow, _dpu_show, json_names=True),
    (2, 2): Command("dpu_backend", dpu_pb2.DpuBackend, _dpu_backend, json_names=True),
    (2, 4): Command("dpu_packs", dpu_pb2.DpuPacks, _dpu_pack, json_names=True, each="bp_info"),
}
_SHP2: Final[Mapping[tuple[int, int], Command]] = {
    (12, 1): Command("shp2_heartbeat", shp2_pb2.Shp2Heartbeat, _bare, json_names=True),
    (12, 32): Command("shp2_state", shp2_pb2.Shp2State, _bare, json_names=True),
    # settings (the main breaker's rating, two unnamed values): raw only
    (12, 33): Command(
        "shp2_settings", shp2_pb2.Shp2Settings, lambda _message: "12_33.", json_names=True
    ),
}
_STREAM: Final[Mapping[tuple[int, int], Command]] = {
    (254, 21): _STREAM_DISPLAY,
    (254, 22): _BK_RUNTIME,
    (32, 2): COMMANDS[(32, 2)],
    (32, 50): COMMANDS[(32, 50)],
}
_SMART_METER: Final[Mapping[tuple[int, int], Command]] = {
    (254, 21): _SMART_METER_DISPLAY,
    (254, 22): _BK_RUNTIME,
}
_POWEROCEAN: Final[Mapping[tuple[int, int], Command]] = {
    (96, 1): Command(
        "powerocean_heartbeat", powerocean_pb2.PowerOceanHeartbeat, _bare, json_names=True
    ),
    (96, 33): _POWEROCEAN_STREAM,
    (96, 7): _POWEROCEAN_PACKS,
}

# SN prefix -> the messages decoded for it, by (cmd_func, cmd_id).
ENERGY_SYSTEM_COMMANDS: Final[Mapping[str, Mapping[tuple[int, int], Command]]] = {
    # STREAM Ultra, Pro, AC Pro, Max, AC, Ultra X (not the microinverter, BK01/BK02)
    **dict.fromkeys(("BK11", "BK12", "BK31", "BK41", "BK51", "BK61"), _STREAM),
    "BK21": _SMART_METER,
    # PowerOcean, and the Plus (R37) with the same messages
    **dict.fromkeys(("HJ31", "HJ35", "HJ36", "HJ37", "R37"), _POWEROCEAN),
    "HC31": _POWEROCEAN_FIT,  # PowerOcean DC Fit: its energy stream numbered otherwise
    "Y711": _DPU,  # DELTA Pro Ultra
    "HD31": _SHP2,
}
