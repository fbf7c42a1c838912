from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PowerOceanEnergyStream(_message.Message):
    __slots__ = ("sys_load_pwr", "sys_grid_pwr", "mppt_pwr", "bp_pwr", "bp_soc")
    SYS_LOAD_PWR_FIELD_NUMBER: _ClassVar[int]
    SYS_GRID_PWR_FIELD_NUMBER: _ClassVar[int]
    MPPT_PWR_FIELD_NUMBER: _ClassVar[int]
    BP_PWR_FIELD_NUMBER: _ClassVar[int]
    BP_SOC_FIELD_NUMBER: _ClassVar[int]
    sys_load_pwr: float
    sys_grid_pwr: float
    mppt_pwr: float
    bp_pwr: float
    bp_soc: int
    def __init__(self, sys_load_pwr: _Optional[float] = ..., sys_grid_pwr: _Optional[float] = ..., mppt_pwr: _Optional[float] = ..., bp_pwr: _Optional[float] = ..., bp_soc: _Optional[int] = ...) -> None: ...

class PowerOceanPack(_message.Message):
    __slots__ = ("bp_pwr", "bp_soc", "bp_soh", "bp_temp", "bp_max_cell_vol", "bp_min_cell_vol", "bp_run_sta", "bp_vol", "bp_amp", "bp_bus_vol", "bp_err_code", "bp_sn", "bp_cycles", "bp_design_cap", "bp_full_cap", "bp_max_cell_temp", "bp_min_cell_temp", "bp_max_mos_temp", "bp_min_mos_temp", "bp_real_soc", "bp_real_soh", "bms_chg_dsg_sta", "bp_remain_watth", "bp_accu_chg_energy", "bp_accu_dsg_energy")
    BP_PWR_FIELD_NUMBER: _ClassVar[int]
    BP_SOC_FIELD_NUMBER: _ClassVar[int]
    BP_SOH_FIELD_NUMBER: _ClassVar[int]
    BP_TEMP_FIELD_NUMBER: _ClassVar[int]
    BP_MAX_CELL_VOL_FIELD_NUMBER: _ClassVar[int]
    BP_MIN_CELL_VOL_FIELD_NUMBER: _ClassVar[int]
    BP_RUN_STA_FIELD_NUMBER: _ClassVar[int]
    BP_VOL_FIELD_NUMBER: _ClassVar[int]
    BP_AMP_FIELD_NUMBER: _ClassVar[int]
    BP_BUS_VOL_FIELD_NUMBER: _ClassVar[int]
    BP_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    BP_SN_FIELD_NUMBER: _ClassVar[int]
    BP_CYCLES_FIELD_NUMBER: _ClassVar[int]
    BP_DESIGN_CAP_FIELD_NUMBER: _ClassVar[int]
    BP_FULL_CAP_FIELD_NUMBER: _ClassVar[int]
    BP_MAX_CELL_TEMP_FIELD_NUMBER: _ClassVar[int]
    BP_MIN_CELL_TEMP_FIELD_NUMBER: _ClassVar[int]
    BP_MAX_MOS_TEMP_FIELD_NUMBER: _ClassVar[int]
    BP_MIN_MOS_TEMP_FIELD_NUMBER: _ClassVar[int]
    BP_REAL_SOC_FIELD_NUMBER: _ClassVar[int]
    BP_REAL_SOH_FIELD_NUMBER: _ClassVar[int]
    BMS_CHG_DSG_STA_FIELD_NUMBER: _ClassVar[int]
    BP_REMAIN_WATTH_FIELD_NUMBER: _ClassVar[int]
    BP_ACCU_CHG_ENERGY_FIELD_NUMBER: _ClassVar[int]
    BP_ACCU_DSG_ENERGY_FIELD_NUMBER: _ClassVar[int]
    bp_pwr: float
    bp_soc: int
    bp_soh: int
    bp_temp: _containers.RepeatedScalarFieldContainer[float]
    bp_max_cell_vol: int
    bp_min_cell_vol: int
    bp_run_sta: int
    bp_vol: float
    bp_amp: float
    bp_bus_vol: float
    bp_err_code: int
    bp_sn: str
    bp_cycles: int
    bp_design_cap: int
    bp_full_cap: int
    bp_max_cell_temp: float
    bp_min_cell_temp: float
    bp_max_mos_temp: float
    bp_min_mos_temp: float
    bp_real_soc: float
    bp_real_soh: float
    bms_chg_dsg_sta: int
    bp_remain_watth: float
    bp_accu_chg_energy: int
    bp_accu_dsg_energy: int
    def __init__(self, bp_pwr: _Optional[float] = ..., bp_soc: _Optional[int] = ..., bp_soh: _Optional[int] = ..., bp_temp: _Optional[_Iterable[float]] = ..., bp_max_cell_vol: _Optional[int] = ..., bp_min_cell_vol: _Optional[int] = ..., bp_run_sta: _Optional[int] = ..., bp_vol: _Optional[float] = ..., bp_amp: _Optional[float] = ..., bp_bus_vol: _Optional[float] = ..., bp_err_code: _Optional[int] = ..., bp_sn: _Optional[str] = ..., bp_cycles: _Optional[int] = ..., bp_design_cap: _Optional[int] = ..., bp_full_cap: _Optional[int] = ..., bp_max_cell_temp: _Optional[float] = ..., bp_min_cell_temp: _Optional[float] = ..., bp_max_mos_temp: _Optional[float] = ..., bp_min_mos_temp: _Optional[float] = ..., bp_real_soc: _Optional[float] = ..., bp_real_soh: _Optional[float] = ..., bms_chg_dsg_sta: _Optional[int] = ..., bp_remain_watth: _Optional[float] = ..., bp_accu_chg_energy: _Optional[int] = ..., bp_accu_dsg_energy: _Optional[int] = ...) -> None: ...

class PowerOceanPacks(_message.Message):
    __slots__ = ("bp_sta",)
    BP_STA_FIELD_NUMBER: _ClassVar[int]
    bp_sta: _containers.RepeatedCompositeFieldContainer[PowerOceanPack]
    def __init__(self, bp_sta: _Optional[_Iterable[_Union[PowerOceanPack, _Mapping]]] = ...) -> None: ...

class PowerOceanPhase(_message.Message):
    __slots__ = ("vol", "amp", "act_pwr", "react_pwr", "apparent_pwr")
    VOL_FIELD_NUMBER: _ClassVar[int]
    AMP_FIELD_NUMBER: _ClassVar[int]
    ACT_PWR_FIELD_NUMBER: _ClassVar[int]
    REACT_PWR_FIELD_NUMBER: _ClassVar[int]
    APPARENT_PWR_FIELD_NUMBER: _ClassVar[int]
    vol: float
    amp: float
    act_pwr: float
    react_pwr: float
    apparent_pwr: float
    def __init__(self, vol: _Optional[float] = ..., amp: _Optional[float] = ..., act_pwr: _Optional[float] = ..., react_pwr: _Optional[float] = ..., apparent_pwr: _Optional[float] = ...) -> None: ...

class PowerOceanPvString(_message.Message):
    __slots__ = ("vol", "amp", "pwr", "light_sta")
    VOL_FIELD_NUMBER: _ClassVar[int]
    AMP_FIELD_NUMBER: _ClassVar[int]
    PWR_FIELD_NUMBER: _ClassVar[int]
    LIGHT_STA_FIELD_NUMBER: _ClassVar[int]
    vol: float
    amp: float
    pwr: float
    light_sta: int
    def __init__(self, vol: _Optional[float] = ..., amp: _Optional[float] = ..., pwr: _Optional[float] = ..., light_sta: _Optional[int] = ...) -> None: ...

class PowerOceanMppt(_message.Message):
    __slots__ = ("mppt_pv", "mppt_ins_resist", "mppt_temp_val")
    MPPT_PV_FIELD_NUMBER: _ClassVar[int]
    MPPT_INS_RESIST_FIELD_NUMBER: _ClassVar[int]
    MPPT_TEMP_VAL_FIELD_NUMBER: _ClassVar[int]
    mppt_pv: _containers.RepeatedCompositeFieldContainer[PowerOceanPvString]
    mppt_ins_resist: float
    mppt_temp_val: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, mppt_pv: _Optional[_Iterable[_Union[PowerOceanPvString, _Mapping]]] = ..., mppt_ins_resist: _Optional[float] = ..., mppt_temp_val: _Optional[_Iterable[float]] = ...) -> None: ...

class PowerOceanMeter(_message.Message):
    __slots__ = ("meter_type", "meter_addr", "meter_data")
    METER_TYPE_FIELD_NUMBER: _ClassVar[int]
    METER_ADDR_FIELD_NUMBER: _ClassVar[int]
    METER_DATA_FIELD_NUMBER: _ClassVar[int]
    meter_type: int
    meter_addr: int
    meter_data: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, meter_type: _Optional[int] = ..., meter_addr: _Optional[int] = ..., meter_data: _Optional[_Iterable[float]] = ...) -> None: ...

class PowerOceanHeartbeat(_message.Message):
    __slots__ = ("bp_remain_watth", "pcs_ac_freq", "pcs_a_phase", "pcs_b_phase", "pcs_c_phase", "pcs_bus_volt", "pcs_leak_amp", "pcs_dci", "meter_heart_beat", "mppt_heart_beat", "pcs_vbus_ref", "pcs_active_power_ref", "ems_bus_volt", "ems_bp_alive_num", "ems_bp_power", "ems_ntc_temp_max")
    BP_REMAIN_WATTH_FIELD_NUMBER: _ClassVar[int]
    PCS_AC_FREQ_FIELD_NUMBER: _ClassVar[int]
    PCS_A_PHASE_FIELD_NUMBER: _ClassVar[int]
    PCS_B_PHASE_FIELD_NUMBER: _ClassVar[int]
    PCS_C_PHASE_FIELD_NUMBER: _ClassVar[int]
    PCS_BUS_VOLT_FIELD_NUMBER: _ClassVar[int]
    PCS_LEAK_AMP_FIELD_NUMBER: _ClassVar[int]
    PCS_DCI_FIELD_NUMBER: _ClassVar[int]
    METER_HEART_BEAT_FIELD_NUMBER: _ClassVar[int]
    MPPT_HEART_BEAT_FIELD_NUMBER: _ClassVar[int]
    PCS_VBUS_REF_FIELD_NUMBER: _ClassVar[int]
    PCS_ACTIVE_POWER_REF_FIELD_NUMBER: _ClassVar[int]
    EMS_BUS_VOLT_FIELD_NUMBER: _ClassVar[int]
    EMS_BP_ALIVE_NUM_FIELD_NUMBER: _ClassVar[int]
    EMS_BP_POWER_FIELD_NUMBER: _ClassVar[int]
    EMS_NTC_TEMP_MAX_FIELD_NUMBER: _ClassVar[int]
    bp_remain_watth: float
    pcs_ac_freq: float
    pcs_a_phase: PowerOceanPhase
    pcs_b_phase: PowerOceanPhase
    pcs_c_phase: PowerOceanPhase
    pcs_bus_volt: float
    pcs_leak_amp: float
    pcs_dci: float
    meter_heart_beat: _containers.RepeatedCompositeFieldContainer[PowerOceanMeter]
    mppt_heart_beat: _containers.RepeatedCompositeFieldContainer[PowerOceanMppt]
    pcs_vbus_ref: float
    pcs_active_power_ref: float
    ems_bus_volt: float
    ems_bp_alive_num: int
    ems_bp_power: float
    ems_ntc_temp_max: float
    def __init__(self, bp_remain_watth: _Optional[float] = ..., pcs_ac_freq: _Optional[float] = ..., pcs_a_phase: _Optional[_Union[PowerOceanPhase, _Mapping]] = ..., pcs_b_phase: _Optional[_Union[PowerOceanPhase, _Mapping]] = ..., pcs_c_phase: _Optional[_Union[PowerOceanPhase, _Mapping]] = ..., pcs_bus_volt: _Optional[float] = ..., pcs_leak_amp: _Optional[float] = ..., pcs_dci: _Optional[float] = ..., meter_heart_beat: _Optional[_Iterable[_Union[PowerOceanMeter, _Mapping]]] = ..., mppt_heart_beat: _Optional[_Iterable[_Union[PowerOceanMppt, _Mapping]]] = ..., pcs_vbus_ref: _Optional[float] = ..., pcs_active_power_ref: _Optional[float] = ..., ems_bus_volt: _Optional[float] = ..., ems_bp_alive_num: _Optional[int] = ..., ems_bp_power: _Optional[float] = ..., ems_ntc_temp_max: _Optional[float] = ...) -> None: ...

class PowerOceanFitEnergyStream(_message.Message):
    __slots__ = ("grid_pwr", "dcdc_pwr", "bp_pwr", "pv_pwr", "bp_soc", "load_pwr", "bp_heating_power", "heating_power")
    GRID_PWR_FIELD_NUMBER: _ClassVar[int]
    DCDC_PWR_FIELD_NUMBER: _ClassVar[int]
    BP_PWR_FIELD_NUMBER: _ClassVar[int]
    PV_PWR_FIELD_NUMBER: _ClassVar[int]
    BP_SOC_FIELD_NUMBER: _ClassVar[int]
    LOAD_PWR_FIELD_NUMBER: _ClassVar[int]
    BP_HEATING_POWER_FIELD_NUMBER: _ClassVar[int]
    HEATING_POWER_FIELD_NUMBER: _ClassVar[int]
    grid_pwr: float
    dcdc_pwr: float
    bp_pwr: float
    pv_pwr: float
    bp_soc: int
    load_pwr: float
    bp_heating_power: float
    heating_power: float
    def __init__(self, grid_pwr: _Optional[float] = ..., dcdc_pwr: _Optional[float] = ..., bp_pwr: _Optional[float] = ..., pv_pwr: _Optional[float] = ..., bp_soc: _Optional[int] = ..., load_pwr: _Optional[float] = ..., bp_heating_power: _Optional[float] = ..., heating_power: _Optional[float] = ...) -> None: ...
