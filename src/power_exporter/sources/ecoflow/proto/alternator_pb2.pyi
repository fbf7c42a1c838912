from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AlternatorReport(_message.Message):
    __slots__ = ("status1", "temp", "alternator_power", "switch_off130", "start_voltage", "car_bat_volt", "bat_soc", "discharge_remaining", "charge_remaining", "station_power", "dcp_type", "dcp_detail", "operation_mode", "start_stop", "permanent_watts", "wifi_rssi", "rated_power", "cable_length608", "cable_length609", "sp_charger_car_batt_chg_amp_limit", "sp_charger_dev_batt_chg_amp_limit", "sp_charger_car_batt_chg_amp_max", "sp_charger_dev_batt_chg_amp_max")
    STATUS1_FIELD_NUMBER: _ClassVar[int]
    TEMP_FIELD_NUMBER: _ClassVar[int]
    ALTERNATOR_POWER_FIELD_NUMBER: _ClassVar[int]
    SWITCH_OFF130_FIELD_NUMBER: _ClassVar[int]
    START_VOLTAGE_FIELD_NUMBER: _ClassVar[int]
    CAR_BAT_VOLT_FIELD_NUMBER: _ClassVar[int]
    BAT_SOC_FIELD_NUMBER: _ClassVar[int]
    DISCHARGE_REMAINING_FIELD_NUMBER: _ClassVar[int]
    CHARGE_REMAINING_FIELD_NUMBER: _ClassVar[int]
    STATION_POWER_FIELD_NUMBER: _ClassVar[int]
    DCP_TYPE_FIELD_NUMBER: _ClassVar[int]
    DCP_DETAIL_FIELD_NUMBER: _ClassVar[int]
    OPERATION_MODE_FIELD_NUMBER: _ClassVar[int]
    START_STOP_FIELD_NUMBER: _ClassVar[int]
    PERMANENT_WATTS_FIELD_NUMBER: _ClassVar[int]
    WIFI_RSSI_FIELD_NUMBER: _ClassVar[int]
    RATED_POWER_FIELD_NUMBER: _ClassVar[int]
    CABLE_LENGTH608_FIELD_NUMBER: _ClassVar[int]
    CABLE_LENGTH609_FIELD_NUMBER: _ClassVar[int]
    SP_CHARGER_CAR_BATT_CHG_AMP_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SP_CHARGER_DEV_BATT_CHG_AMP_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SP_CHARGER_CAR_BATT_CHG_AMP_MAX_FIELD_NUMBER: _ClassVar[int]
    SP_CHARGER_DEV_BATT_CHG_AMP_MAX_FIELD_NUMBER: _ClassVar[int]
    status1: int
    temp: int
    alternator_power: float
    switch_off130: int
    start_voltage: int
    car_bat_volt: float
    bat_soc: float
    discharge_remaining: int
    charge_remaining: int
    station_power: float
    dcp_type: int
    dcp_detail: int
    operation_mode: int
    start_stop: int
    permanent_watts: float
    wifi_rssi: float
    rated_power: float
    cable_length608: float
    cable_length609: float
    sp_charger_car_batt_chg_amp_limit: float
    sp_charger_dev_batt_chg_amp_limit: float
    sp_charger_car_batt_chg_amp_max: float
    sp_charger_dev_batt_chg_amp_max: float
    def __init__(self, status1: _Optional[int] = ..., temp: _Optional[int] = ..., alternator_power: _Optional[float] = ..., switch_off130: _Optional[int] = ..., start_voltage: _Optional[int] = ..., car_bat_volt: _Optional[float] = ..., bat_soc: _Optional[float] = ..., discharge_remaining: _Optional[int] = ..., charge_remaining: _Optional[int] = ..., station_power: _Optional[float] = ..., dcp_type: _Optional[int] = ..., dcp_detail: _Optional[int] = ..., operation_mode: _Optional[int] = ..., start_stop: _Optional[int] = ..., permanent_watts: _Optional[float] = ..., wifi_rssi: _Optional[float] = ..., rated_power: _Optional[float] = ..., cable_length608: _Optional[float] = ..., cable_length609: _Optional[float] = ..., sp_charger_car_batt_chg_amp_limit: _Optional[float] = ..., sp_charger_dev_batt_chg_amp_limit: _Optional[float] = ..., sp_charger_car_batt_chg_amp_max: _Optional[float] = ..., sp_charger_dev_batt_chg_amp_max: _Optional[float] = ...) -> None: ...
