from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GlacierClassicDisplay(_message.Message):
    __slots__ = ("errcode", "sys_status", "pow_in_sum_w", "pow_out_sum_w", "dev_standby_time", "screen_off_time", "cms_batt_temp", "bms_err_code", "en_beep", "pd_err_code", "cms_batt_soc", "cms_dsg_rem_time", "cms_chg_rem_time", "cms_max_chg_soc", "cms_min_dsg_soc", "cms_chg_dsg_state", "cms_batt_design_cap", "plug_in_info_pv_flag", "plug_in_info_pv_type", "bms_main_sn", "plug_in_info_dcp_in_flag", "temp_unit", "set_point_left", "set_point_right", "child_lock", "simple_mode", "bat_protect", "cooling_mode", "temp_monitor_left", "temp_monitor_right", "lid_status", "zone_status", "temp_alert", "value777")
    ERRCODE_FIELD_NUMBER: _ClassVar[int]
    SYS_STATUS_FIELD_NUMBER: _ClassVar[int]
    POW_IN_SUM_W_FIELD_NUMBER: _ClassVar[int]
    POW_OUT_SUM_W_FIELD_NUMBER: _ClassVar[int]
    DEV_STANDBY_TIME_FIELD_NUMBER: _ClassVar[int]
    SCREEN_OFF_TIME_FIELD_NUMBER: _ClassVar[int]
    CMS_BATT_TEMP_FIELD_NUMBER: _ClassVar[int]
    BMS_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    EN_BEEP_FIELD_NUMBER: _ClassVar[int]
    PD_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    CMS_BATT_SOC_FIELD_NUMBER: _ClassVar[int]
    CMS_DSG_REM_TIME_FIELD_NUMBER: _ClassVar[int]
    CMS_CHG_REM_TIME_FIELD_NUMBER: _ClassVar[int]
    CMS_MAX_CHG_SOC_FIELD_NUMBER: _ClassVar[int]
    CMS_MIN_DSG_SOC_FIELD_NUMBER: _ClassVar[int]
    CMS_CHG_DSG_STATE_FIELD_NUMBER: _ClassVar[int]
    CMS_BATT_DESIGN_CAP_FIELD_NUMBER: _ClassVar[int]
    PLUG_IN_INFO_PV_FLAG_FIELD_NUMBER: _ClassVar[int]
    PLUG_IN_INFO_PV_TYPE_FIELD_NUMBER: _ClassVar[int]
    BMS_MAIN_SN_FIELD_NUMBER: _ClassVar[int]
    PLUG_IN_INFO_DCP_IN_FLAG_FIELD_NUMBER: _ClassVar[int]
    TEMP_UNIT_FIELD_NUMBER: _ClassVar[int]
    SET_POINT_LEFT_FIELD_NUMBER: _ClassVar[int]
    SET_POINT_RIGHT_FIELD_NUMBER: _ClassVar[int]
    CHILD_LOCK_FIELD_NUMBER: _ClassVar[int]
    SIMPLE_MODE_FIELD_NUMBER: _ClassVar[int]
    BAT_PROTECT_FIELD_NUMBER: _ClassVar[int]
    COOLING_MODE_FIELD_NUMBER: _ClassVar[int]
    TEMP_MONITOR_LEFT_FIELD_NUMBER: _ClassVar[int]
    TEMP_MONITOR_RIGHT_FIELD_NUMBER: _ClassVar[int]
    LID_STATUS_FIELD_NUMBER: _ClassVar[int]
    ZONE_STATUS_FIELD_NUMBER: _ClassVar[int]
    TEMP_ALERT_FIELD_NUMBER: _ClassVar[int]
    VALUE777_FIELD_NUMBER: _ClassVar[int]
    errcode: int
    sys_status: int
    pow_in_sum_w: float
    pow_out_sum_w: float
    dev_standby_time: int
    screen_off_time: int
    cms_batt_temp: int
    bms_err_code: int
    en_beep: int
    pd_err_code: int
    cms_batt_soc: float
    cms_dsg_rem_time: int
    cms_chg_rem_time: int
    cms_max_chg_soc: int
    cms_min_dsg_soc: int
    cms_chg_dsg_state: int
    cms_batt_design_cap: int
    plug_in_info_pv_flag: int
    plug_in_info_pv_type: int
    bms_main_sn: str
    plug_in_info_dcp_in_flag: int
    temp_unit: int
    set_point_left: float
    set_point_right: float
    child_lock: int
    simple_mode: int
    bat_protect: int
    cooling_mode: int
    temp_monitor_left: float
    temp_monitor_right: float
    lid_status: int
    zone_status: int
    temp_alert: int
    value777: float
    def __init__(self, errcode: _Optional[int] = ..., sys_status: _Optional[int] = ..., pow_in_sum_w: _Optional[float] = ..., pow_out_sum_w: _Optional[float] = ..., dev_standby_time: _Optional[int] = ..., screen_off_time: _Optional[int] = ..., cms_batt_temp: _Optional[int] = ..., bms_err_code: _Optional[int] = ..., en_beep: _Optional[int] = ..., pd_err_code: _Optional[int] = ..., cms_batt_soc: _Optional[float] = ..., cms_dsg_rem_time: _Optional[int] = ..., cms_chg_rem_time: _Optional[int] = ..., cms_max_chg_soc: _Optional[int] = ..., cms_min_dsg_soc: _Optional[int] = ..., cms_chg_dsg_state: _Optional[int] = ..., cms_batt_design_cap: _Optional[int] = ..., plug_in_info_pv_flag: _Optional[int] = ..., plug_in_info_pv_type: _Optional[int] = ..., bms_main_sn: _Optional[str] = ..., plug_in_info_dcp_in_flag: _Optional[int] = ..., temp_unit: _Optional[int] = ..., set_point_left: _Optional[float] = ..., set_point_right: _Optional[float] = ..., child_lock: _Optional[int] = ..., simple_mode: _Optional[int] = ..., bat_protect: _Optional[int] = ..., cooling_mode: _Optional[int] = ..., temp_monitor_left: _Optional[float] = ..., temp_monitor_right: _Optional[float] = ..., lid_status: _Optional[int] = ..., zone_status: _Optional[int] = ..., temp_alert: _Optional[int] = ..., value777: _Optional[float] = ...) -> None: ...
