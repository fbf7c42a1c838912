from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PanelCircuit(_message.Message):
    __slots__ = ("vol", "watt", "amp")
    VOL_FIELD_NUMBER: _ClassVar[int]
    WATT_FIELD_NUMBER: _ClassVar[int]
    AMP_FIELD_NUMBER: _ClassVar[int]
    vol: float
    watt: float
    amp: float
    def __init__(self, vol: _Optional[float] = ..., watt: _Optional[float] = ..., amp: _Optional[float] = ...) -> None: ...

class PanelDisplay(_message.Message):
    __slots__ = ("cms_batt_soc", "grid_pwr", "load_pwr", "l1_vol", "l2_vol", "grid_l1_amp", "grid_l2_amp", "grid_l1_pwr", "grid_l2_pwr", "ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7", "ch8", "ch9", "ch10", "ch11", "ch12", "ch13", "ch14", "ch15", "ch16", "ch17", "ch18", "ch19", "ch20", "ch21", "ch22", "ch23", "ch24", "ch25", "ch26", "ch27", "ch28", "ch29", "ch30", "ch31", "ch32", "ch33", "ch34", "ch35", "ch36", "ch37", "ch38", "ch39", "ch40")
    CMS_BATT_SOC_FIELD_NUMBER: _ClassVar[int]
    GRID_PWR_FIELD_NUMBER: _ClassVar[int]
    LOAD_PWR_FIELD_NUMBER: _ClassVar[int]
    L1_VOL_FIELD_NUMBER: _ClassVar[int]
    L2_VOL_FIELD_NUMBER: _ClassVar[int]
    GRID_L1_AMP_FIELD_NUMBER: _ClassVar[int]
    GRID_L2_AMP_FIELD_NUMBER: _ClassVar[int]
    GRID_L1_PWR_FIELD_NUMBER: _ClassVar[int]
    GRID_L2_PWR_FIELD_NUMBER: _ClassVar[int]
    CH1_FIELD_NUMBER: _ClassVar[int]
    CH2_FIELD_NUMBER: _ClassVar[int]
    CH3_FIELD_NUMBER: _ClassVar[int]
    CH4_FIELD_NUMBER: _ClassVar[int]
    CH5_FIELD_NUMBER: _ClassVar[int]
    CH6_FIELD_NUMBER: _ClassVar[int]
    CH7_FIELD_NUMBER: _ClassVar[int]
    CH8_FIELD_NUMBER: _ClassVar[int]
    CH9_FIELD_NUMBER: _ClassVar[int]
    CH10_FIELD_NUMBER: _ClassVar[int]
    CH11_FIELD_NUMBER: _ClassVar[int]
    CH12_FIELD_NUMBER: _ClassVar[int]
    CH13_FIELD_NUMBER: _ClassVar[int]
    CH14_FIELD_NUMBER: _ClassVar[int]
    CH15_FIELD_NUMBER: _ClassVar[int]
    CH16_FIELD_NUMBER: _ClassVar[int]
    CH17_FIELD_NUMBER: _ClassVar[int]
    CH18_FIELD_NUMBER: _ClassVar[int]
    CH19_FIELD_NUMBER: _ClassVar[int]
    CH20_FIELD_NUMBER: _ClassVar[int]
    CH21_FIELD_NUMBER: _ClassVar[int]
    CH22_FIELD_NUMBER: _ClassVar[int]
    CH23_FIELD_NUMBER: _ClassVar[int]
    CH24_FIELD_NUMBER: _ClassVar[int]
    CH25_FIELD_NUMBER: _ClassVar[int]
    CH26_FIELD_NUMBER: _ClassVar[int]
    CH27_FIELD_NUMBER: _ClassVar[int]
    CH28_FIELD_NUMBER: _ClassVar[int]
    CH29_FIELD_NUMBER: _ClassVar[int]
    CH30_FIELD_NUMBER: _ClassVar[int]
    CH31_FIELD_NUMBER: _ClassVar[int]
    CH32_FIELD_NUMBER: _ClassVar[int]
    CH33_FIELD_NUMBER: _ClassVar[int]
    CH34_FIELD_NUMBER: _ClassVar[int]
    CH35_FIELD_NUMBER: _ClassVar[int]
    CH36_FIELD_NUMBER: _ClassVar[int]
    CH37_FIELD_NUMBER: _ClassVar[int]
    CH38_FIELD_NUMBER: _ClassVar[int]
    CH39_FIELD_NUMBER: _ClassVar[int]
    CH40_FIELD_NUMBER: _ClassVar[int]
    cms_batt_soc: float
    grid_pwr: float
    load_pwr: float
    l1_vol: float
    l2_vol: float
    grid_l1_amp: float
    grid_l2_amp: float
    grid_l1_pwr: float
    grid_l2_pwr: float
    ch1: PanelCircuit
    ch2: PanelCircuit
    ch3: PanelCircuit
    ch4: PanelCircuit
    ch5: PanelCircuit
    ch6: PanelCircuit
    ch7: PanelCircuit
    ch8: PanelCircuit
    ch9: PanelCircuit
    ch10: PanelCircuit
    ch11: PanelCircuit
    ch12: PanelCircuit
    ch13: PanelCircuit
    ch14: PanelCircuit
    ch15: PanelCircuit
    ch16: PanelCircuit
    ch17: PanelCircuit
    ch18: PanelCircuit
    ch19: PanelCircuit
    ch20: PanelCircuit
    ch21: PanelCircuit
    ch22: PanelCircuit
    ch23: PanelCircuit
    ch24: PanelCircuit
    ch25: PanelCircuit
    ch26: PanelCircuit
    ch27: PanelCircuit
    ch28: PanelCircuit
    ch29: PanelCircuit
    ch30: PanelCircuit
    ch31: PanelCircuit
    ch32: PanelCircuit
    ch33: PanelCircuit
    ch34: PanelCircuit
    ch35: PanelCircuit
    ch36: PanelCircuit
    ch37: PanelCircuit
    ch38: PanelCircuit
    ch39: PanelCircuit
    ch40: PanelCircuit
    def __init__(self, cms_batt_soc: _Optional[float] = ..., grid_pwr: _Optional[float] = ..., load_pwr: _Optional[float] = ..., l1_vol: _Optional[float] = ..., l2_vol: _Optional[float] = ..., grid_l1_amp: _Optional[float] = ..., grid_l2_amp: _Optional[float] = ..., grid_l1_pwr: _Optional[float] = ..., grid_l2_pwr: _Optional[float] = ..., ch1: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch2: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch3: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch4: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch5: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch6: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch7: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch8: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch9: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch10: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch11: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch12: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch13: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch14: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch15: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch16: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch17: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch18: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch19: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch20: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch21: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch22: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch23: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch24: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch25: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch26: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch27: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch28: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch29: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch30: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch31: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch32: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch33: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch34: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch35: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch36: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch37: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch38: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch39: _Optional[_Union[PanelCircuit, _Mapping]] = ..., ch40: _Optional[_Union[PanelCircuit, _Mapping]] = ...) -> None: ...

class OceanInverterDisplay(_message.Message):
    __slots__ = ("pcs_pwr", "cms_batt_soc", "pv1_pwr", "pv2_pwr", "pv3_pwr", "pv4_pwr", "pv5_pwr", "pv6_pwr", "pv7_pwr", "pv8_pwr")
    PCS_PWR_FIELD_NUMBER: _ClassVar[int]
    CMS_BATT_SOC_FIELD_NUMBER: _ClassVar[int]
    PV1_PWR_FIELD_NUMBER: _ClassVar[int]
    PV2_PWR_FIELD_NUMBER: _ClassVar[int]
    PV3_PWR_FIELD_NUMBER: _ClassVar[int]
    PV4_PWR_FIELD_NUMBER: _ClassVar[int]
    PV5_PWR_FIELD_NUMBER: _ClassVar[int]
    PV6_PWR_FIELD_NUMBER: _ClassVar[int]
    PV7_PWR_FIELD_NUMBER: _ClassVar[int]
    PV8_PWR_FIELD_NUMBER: _ClassVar[int]
    pcs_pwr: float
    cms_batt_soc: float
    pv1_pwr: float
    pv2_pwr: float
    pv3_pwr: float
    pv4_pwr: float
    pv5_pwr: float
    pv6_pwr: float
    pv7_pwr: float
    pv8_pwr: float
    def __init__(self, pcs_pwr: _Optional[float] = ..., cms_batt_soc: _Optional[float] = ..., pv1_pwr: _Optional[float] = ..., pv2_pwr: _Optional[float] = ..., pv3_pwr: _Optional[float] = ..., pv4_pwr: _Optional[float] = ..., pv5_pwr: _Optional[float] = ..., pv6_pwr: _Optional[float] = ..., pv7_pwr: _Optional[float] = ..., pv8_pwr: _Optional[float] = ...) -> None: ...

class OceanPackReport(_message.Message):
    __slots__ = ("slot", "bp_power")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    BP_POWER_FIELD_NUMBER: _ClassVar[int]
    slot: int
    bp_power: float
    def __init__(self, slot: _Optional[int] = ..., bp_power: _Optional[float] = ...) -> None: ...
