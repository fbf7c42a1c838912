from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Shp2MasterTime(_message.Message):
    __slots__ = ("grid_watt",)
    GRID_WATT_FIELD_NUMBER: _ClassVar[int]
    grid_watt: float
    def __init__(self, grid_watt: _Optional[float] = ...) -> None: ...

class Shp2LoadTime(_message.Message):
    __slots__ = ("hall1_watt", "hall1_curr")
    HALL1_WATT_FIELD_NUMBER: _ClassVar[int]
    HALL1_CURR_FIELD_NUMBER: _ClassVar[int]
    hall1_watt: _containers.RepeatedScalarFieldContainer[int]
    hall1_curr: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, hall1_watt: _Optional[_Iterable[int]] = ..., hall1_curr: _Optional[_Iterable[int]] = ...) -> None: ...

class Shp2EnergyTime(_message.Message):
    __slots__ = ("charge_time", "discharge_time")
    CHARGE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISCHARGE_TIME_FIELD_NUMBER: _ClassVar[int]
    charge_time: int
    discharge_time: int
    def __init__(self, charge_time: _Optional[int] = ..., discharge_time: _Optional[int] = ...) -> None: ...

class Shp2BackupTime(_message.Message):
    __slots__ = ("ch_watt", "backup_discharge_time", "energy_1", "energy_2", "energy_3")
    CH_WATT_FIELD_NUMBER: _ClassVar[int]
    BACKUP_DISCHARGE_TIME_FIELD_NUMBER: _ClassVar[int]
    ENERGY_1_FIELD_NUMBER: _ClassVar[int]
    ENERGY_2_FIELD_NUMBER: _ClassVar[int]
    ENERGY_3_FIELD_NUMBER: _ClassVar[int]
    ch_watt: int
    backup_discharge_time: int
    energy_1: Shp2EnergyTime
    energy_2: Shp2EnergyTime
    energy_3: Shp2EnergyTime
    def __init__(self, ch_watt: _Optional[int] = ..., backup_discharge_time: _Optional[int] = ..., energy_1: _Optional[_Union[Shp2EnergyTime, _Mapping]] = ..., energy_2: _Optional[_Union[Shp2EnergyTime, _Mapping]] = ..., energy_3: _Optional[_Union[Shp2EnergyTime, _Mapping]] = ...) -> None: ...

class Shp2WattTime(_message.Message):
    __slots__ = ("grid_watt", "ch_watt", "all_hall_watt")
    GRID_WATT_FIELD_NUMBER: _ClassVar[int]
    CH_WATT_FIELD_NUMBER: _ClassVar[int]
    ALL_HALL_WATT_FIELD_NUMBER: _ClassVar[int]
    grid_watt: int
    ch_watt: int
    all_hall_watt: int
    def __init__(self, grid_watt: _Optional[int] = ..., ch_watt: _Optional[int] = ..., all_hall_watt: _Optional[int] = ...) -> None: ...

class Shp2Heartbeat(_message.Message):
    __slots__ = ("master_info", "load_info", "backup_info", "watt_info")
    MASTER_INFO_FIELD_NUMBER: _ClassVar[int]
    LOAD_INFO_FIELD_NUMBER: _ClassVar[int]
    BACKUP_INFO_FIELD_NUMBER: _ClassVar[int]
    WATT_INFO_FIELD_NUMBER: _ClassVar[int]
    master_info: Shp2MasterTime
    load_info: Shp2LoadTime
    backup_info: Shp2BackupTime
    watt_info: Shp2WattTime
    def __init__(self, master_info: _Optional[_Union[Shp2MasterTime, _Mapping]] = ..., load_info: _Optional[_Union[Shp2LoadTime, _Mapping]] = ..., backup_info: _Optional[_Union[Shp2BackupTime, _Mapping]] = ..., watt_info: _Optional[_Union[Shp2WattTime, _Mapping]] = ...) -> None: ...

class Shp2BackupEnergy(_message.Message):
    __slots__ = ("is_enable", "is_connect", "is_ac_open", "is_power_output", "is_grid_charge", "is_mppt_charge", "battery_percentage", "output_power", "ems_chg_flag", "ems_bat_temp", "lcd_input_watts", "pv_charge_watts")
    IS_ENABLE_FIELD_NUMBER: _ClassVar[int]
    IS_CONNECT_FIELD_NUMBER: _ClassVar[int]
    IS_AC_OPEN_FIELD_NUMBER: _ClassVar[int]
    IS_POWER_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    IS_GRID_CHARGE_FIELD_NUMBER: _ClassVar[int]
    IS_MPPT_CHARGE_FIELD_NUMBER: _ClassVar[int]
    BATTERY_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_POWER_FIELD_NUMBER: _ClassVar[int]
    EMS_CHG_FLAG_FIELD_NUMBER: _ClassVar[int]
    EMS_BAT_TEMP_FIELD_NUMBER: _ClassVar[int]
    LCD_INPUT_WATTS_FIELD_NUMBER: _ClassVar[int]
    PV_CHARGE_WATTS_FIELD_NUMBER: _ClassVar[int]
    is_enable: int
    is_connect: int
    is_ac_open: int
    is_power_output: int
    is_grid_charge: int
    is_mppt_charge: int
    battery_percentage: int
    output_power: float
    ems_chg_flag: int
    ems_bat_temp: int
    lcd_input_watts: int
    pv_charge_watts: int
    def __init__(self, is_enable: _Optional[int] = ..., is_connect: _Optional[int] = ..., is_ac_open: _Optional[int] = ..., is_power_output: _Optional[int] = ..., is_grid_charge: _Optional[int] = ..., is_mppt_charge: _Optional[int] = ..., battery_percentage: _Optional[int] = ..., output_power: _Optional[float] = ..., ems_chg_flag: _Optional[int] = ..., ems_bat_temp: _Optional[int] = ..., lcd_input_watts: _Optional[int] = ..., pv_charge_watts: _Optional[int] = ...) -> None: ...

class Shp2BackupIncre(_message.Message):
    __slots__ = ("backup_full_cap", "backup_bat_per", "backup_discharge_rmain_bat_cap", "cur_discharge_soc", "Energy1_info", "Energy2_info", "Energy3_info")
    BACKUP_FULL_CAP_FIELD_NUMBER: _ClassVar[int]
    BACKUP_BAT_PER_FIELD_NUMBER: _ClassVar[int]
    BACKUP_DISCHARGE_RMAIN_BAT_CAP_FIELD_NUMBER: _ClassVar[int]
    CUR_DISCHARGE_SOC_FIELD_NUMBER: _ClassVar[int]
    ENERGY1_INFO_FIELD_NUMBER: _ClassVar[int]
    ENERGY2_INFO_FIELD_NUMBER: _ClassVar[int]
    ENERGY3_INFO_FIELD_NUMBER: _ClassVar[int]
    backup_full_cap: int
    backup_bat_per: int
    backup_discharge_rmain_bat_cap: int
    cur_discharge_soc: int
    Energy1_info: Shp2BackupEnergy
    Energy2_info: Shp2BackupEnergy
    Energy3_info: Shp2BackupEnergy
    def __init__(self, backup_full_cap: _Optional[int] = ..., backup_bat_per: _Optional[int] = ..., backup_discharge_rmain_bat_cap: _Optional[int] = ..., cur_discharge_soc: _Optional[int] = ..., Energy1_info: _Optional[_Union[Shp2BackupEnergy, _Mapping]] = ..., Energy2_info: _Optional[_Union[Shp2BackupEnergy, _Mapping]] = ..., Energy3_info: _Optional[_Union[Shp2BackupEnergy, _Mapping]] = ...) -> None: ...

class Shp2MasterIncre(_message.Message):
    __slots__ = ("grid_sta", "grid_vol")
    GRID_STA_FIELD_NUMBER: _ClassVar[int]
    GRID_VOL_FIELD_NUMBER: _ClassVar[int]
    grid_sta: int
    grid_vol: int
    def __init__(self, grid_sta: _Optional[int] = ..., grid_vol: _Optional[int] = ...) -> None: ...

class Shp2State(_message.Message):
    __slots__ = ("grid_vol", "grid_freq", "eps_mode_info", "power_sta", "master_cur", "in_storm_mode", "smart_backup_mode", "backup_reserve_enable", "backup_reserve_soc", "backup_incre_info", "master_incre_info", "sys_cur_running_state")
    GRID_VOL_FIELD_NUMBER: _ClassVar[int]
    GRID_FREQ_FIELD_NUMBER: _ClassVar[int]
    EPS_MODE_INFO_FIELD_NUMBER: _ClassVar[int]
    POWER_STA_FIELD_NUMBER: _ClassVar[int]
    MASTER_CUR_FIELD_NUMBER: _ClassVar[int]
    IN_STORM_MODE_FIELD_NUMBER: _ClassVar[int]
    SMART_BACKUP_MODE_FIELD_NUMBER: _ClassVar[int]
    BACKUP_RESERVE_ENABLE_FIELD_NUMBER: _ClassVar[int]
    BACKUP_RESERVE_SOC_FIELD_NUMBER: _ClassVar[int]
    BACKUP_INCRE_INFO_FIELD_NUMBER: _ClassVar[int]
    MASTER_INCRE_INFO_FIELD_NUMBER: _ClassVar[int]
    SYS_CUR_RUNNING_STATE_FIELD_NUMBER: _ClassVar[int]
    grid_vol: int
    grid_freq: int
    eps_mode_info: int
    power_sta: int
    master_cur: int
    in_storm_mode: int
    smart_backup_mode: int
    backup_reserve_enable: int
    backup_reserve_soc: int
    backup_incre_info: Shp2BackupIncre
    master_incre_info: Shp2MasterIncre
    sys_cur_running_state: int
    def __init__(self, grid_vol: _Optional[int] = ..., grid_freq: _Optional[int] = ..., eps_mode_info: _Optional[int] = ..., power_sta: _Optional[int] = ..., master_cur: _Optional[int] = ..., in_storm_mode: _Optional[int] = ..., smart_backup_mode: _Optional[int] = ..., backup_reserve_enable: _Optional[int] = ..., backup_reserve_soc: _Optional[int] = ..., backup_incre_info: _Optional[_Union[Shp2BackupIncre, _Mapping]] = ..., master_incre_info: _Optional[_Union[Shp2MasterIncre, _Mapping]] = ..., sys_cur_running_state: _Optional[int] = ...) -> None: ...

class Shp2Settings(_message.Message):
    __slots__ = ("max_current_amp", "value22", "value23")
    MAX_CURRENT_AMP_FIELD_NUMBER: _ClassVar[int]
    VALUE22_FIELD_NUMBER: _ClassVar[int]
    VALUE23_FIELD_NUMBER: _ClassVar[int]
    max_current_amp: int
    value22: int
    value23: int
    def __init__(self, max_current_amp: _Optional[int] = ..., value22: _Optional[int] = ..., value23: _Optional[int] = ...) -> None: ...
