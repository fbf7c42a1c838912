from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DpuAppShow(_message.Message):
    __slots__ = ("soc", "bp_num", "pcs_type", "c20_chg_max_watts", "para_chg_max_watts", "remain_time", "sys_err_code", "watts_in_sum", "watts_out_sum", "out_usb1_pwr", "out_usb2_pwr", "out_typec1_pwr", "out_typec2_pwr", "out_ads_pwr", "out_ac_l1_1_pwr", "out_ac_l1_2_pwr", "out_ac_l2_1_pwr", "out_ac_l2_2_pwr", "out_ac_tt_pwr", "out_ac_l14_pwr", "out_ac_5p8_pwr", "in_ac_5p8_pwr", "in_ac_c20_pwr", "in_lv_mppt_pwr", "in_hv_mppt_pwr", "out_pr_pwr")
    SOC_FIELD_NUMBER: _ClassVar[int]
    BP_NUM_FIELD_NUMBER: _ClassVar[int]
    PCS_TYPE_FIELD_NUMBER: _ClassVar[int]
    C20_CHG_MAX_WATTS_FIELD_NUMBER: _ClassVar[int]
    PARA_CHG_MAX_WATTS_FIELD_NUMBER: _ClassVar[int]
    REMAIN_TIME_FIELD_NUMBER: _ClassVar[int]
    SYS_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    WATTS_IN_SUM_FIELD_NUMBER: _ClassVar[int]
    WATTS_OUT_SUM_FIELD_NUMBER: _ClassVar[int]
    OUT_USB1_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_USB2_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_TYPEC1_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_TYPEC2_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_ADS_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L1_1_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L1_2_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L2_1_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L2_2_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_TT_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L14_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_5P8_PWR_FIELD_NUMBER: _ClassVar[int]
    IN_AC_5P8_PWR_FIELD_NUMBER: _ClassVar[int]
    IN_AC_C20_PWR_FIELD_NUMBER: _ClassVar[int]
    IN_LV_MPPT_PWR_FIELD_NUMBER: _ClassVar[int]
    IN_HV_MPPT_PWR_FIELD_NUMBER: _ClassVar[int]
    OUT_PR_PWR_FIELD_NUMBER: _ClassVar[int]
    soc: int
    bp_num: int
    pcs_type: int
    c20_chg_max_watts: int
    para_chg_max_watts: int
    remain_time: int
    sys_err_code: int
    watts_in_sum: float
    watts_out_sum: float
    out_usb1_pwr: float
    out_usb2_pwr: float
    out_typec1_pwr: float
    out_typec2_pwr: float
    out_ads_pwr: float
    out_ac_l1_1_pwr: float
    out_ac_l1_2_pwr: float
    out_ac_l2_1_pwr: float
    out_ac_l2_2_pwr: float
    out_ac_tt_pwr: float
    out_ac_l14_pwr: float
    out_ac_5p8_pwr: float
    in_ac_5p8_pwr: float
    in_ac_c20_pwr: float
    in_lv_mppt_pwr: float
    in_hv_mppt_pwr: float
    out_pr_pwr: float
    def __init__(self, soc: _Optional[int] = ..., bp_num: _Optional[int] = ..., pcs_type: _Optional[int] = ..., c20_chg_max_watts: _Optional[int] = ..., para_chg_max_watts: _Optional[int] = ..., remain_time: _Optional[int] = ..., sys_err_code: _Optional[int] = ..., watts_in_sum: _Optional[float] = ..., watts_out_sum: _Optional[float] = ..., out_usb1_pwr: _Optional[float] = ..., out_usb2_pwr: _Optional[float] = ..., out_typec1_pwr: _Optional[float] = ..., out_typec2_pwr: _Optional[float] = ..., out_ads_pwr: _Optional[float] = ..., out_ac_l1_1_pwr: _Optional[float] = ..., out_ac_l1_2_pwr: _Optional[float] = ..., out_ac_l2_1_pwr: _Optional[float] = ..., out_ac_l2_2_pwr: _Optional[float] = ..., out_ac_tt_pwr: _Optional[float] = ..., out_ac_l14_pwr: _Optional[float] = ..., out_ac_5p8_pwr: _Optional[float] = ..., in_ac_5p8_pwr: _Optional[float] = ..., in_ac_c20_pwr: _Optional[float] = ..., in_lv_mppt_pwr: _Optional[float] = ..., in_hv_mppt_pwr: _Optional[float] = ..., out_pr_pwr: _Optional[float] = ...) -> None: ...

class DpuBackend(_message.Message):
    __slots__ = ("sys_work_sta", "pcs_work_sta", "ac_in_freq", "ac_out_freq", "pcs_dc_err_code", "pcs_ac_err_code", "lv_pv_err_code", "hv_pv_err_code", "bat_vol", "bat_amp", "bms_input_watts", "bms_output_watts", "out_ac_l1_1_vol", "out_ac_l1_1_amp", "out_ac_l1_2_vol", "out_ac_l1_2_amp", "out_ac_l2_1_vol", "out_ac_l2_1_amp", "out_ac_l2_2_vol", "out_ac_l2_2_amp", "out_ac_tt_vol", "out_ac_tt_amp", "out_ac_l14_vol", "out_ac_l14_amp", "out_ac_5p8_vol", "out_ac_5p8_amp", "in_ac_5p8_vol", "in_ac_5p8_amp", "in_ac_c20_vol", "in_ac_c20_amp", "in_lv_mppt_vol", "in_lv_mppt_amp", "in_hv_mppt_vol", "in_hv_mppt_amp", "pcs_dc_temp", "pcs_ac_temp", "mppt_lv_temp", "mppt_hv_temp")
    SYS_WORK_STA_FIELD_NUMBER: _ClassVar[int]
    PCS_WORK_STA_FIELD_NUMBER: _ClassVar[int]
    AC_IN_FREQ_FIELD_NUMBER: _ClassVar[int]
    AC_OUT_FREQ_FIELD_NUMBER: _ClassVar[int]
    PCS_DC_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    PCS_AC_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    LV_PV_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    HV_PV_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    BAT_VOL_FIELD_NUMBER: _ClassVar[int]
    BAT_AMP_FIELD_NUMBER: _ClassVar[int]
    BMS_INPUT_WATTS_FIELD_NUMBER: _ClassVar[int]
    BMS_OUTPUT_WATTS_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L1_1_VOL_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L1_1_AMP_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L1_2_VOL_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L1_2_AMP_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L2_1_VOL_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L2_1_AMP_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L2_2_VOL_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L2_2_AMP_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_TT_VOL_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_TT_AMP_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L14_VOL_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_L14_AMP_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_5P8_VOL_FIELD_NUMBER: _ClassVar[int]
    OUT_AC_5P8_AMP_FIELD_NUMBER: _ClassVar[int]
    IN_AC_5P8_VOL_FIELD_NUMBER: _ClassVar[int]
    IN_AC_5P8_AMP_FIELD_NUMBER: _ClassVar[int]
    IN_AC_C20_VOL_FIELD_NUMBER: _ClassVar[int]
    IN_AC_C20_AMP_FIELD_NUMBER: _ClassVar[int]
    IN_LV_MPPT_VOL_FIELD_NUMBER: _ClassVar[int]
    IN_LV_MPPT_AMP_FIELD_NUMBER: _ClassVar[int]
    IN_HV_MPPT_VOL_FIELD_NUMBER: _ClassVar[int]
    IN_HV_MPPT_AMP_FIELD_NUMBER: _ClassVar[int]
    PCS_DC_TEMP_FIELD_NUMBER: _ClassVar[int]
    PCS_AC_TEMP_FIELD_NUMBER: _ClassVar[int]
    MPPT_LV_TEMP_FIELD_NUMBER: _ClassVar[int]
    MPPT_HV_TEMP_FIELD_NUMBER: _ClassVar[int]
    sys_work_sta: int
    pcs_work_sta: int
    ac_in_freq: int
    ac_out_freq: int
    pcs_dc_err_code: int
    pcs_ac_err_code: int
    lv_pv_err_code: int
    hv_pv_err_code: int
    bat_vol: float
    bat_amp: float
    bms_input_watts: float
    bms_output_watts: float
    out_ac_l1_1_vol: float
    out_ac_l1_1_amp: float
    out_ac_l1_2_vol: float
    out_ac_l1_2_amp: float
    out_ac_l2_1_vol: float
    out_ac_l2_1_amp: float
    out_ac_l2_2_vol: float
    out_ac_l2_2_amp: float
    out_ac_tt_vol: float
    out_ac_tt_amp: float
    out_ac_l14_vol: float
    out_ac_l14_amp: float
    out_ac_5p8_vol: float
    out_ac_5p8_amp: float
    in_ac_5p8_vol: float
    in_ac_5p8_amp: float
    in_ac_c20_vol: float
    in_ac_c20_amp: float
    in_lv_mppt_vol: float
    in_lv_mppt_amp: float
    in_hv_mppt_vol: float
    in_hv_mppt_amp: float
    pcs_dc_temp: float
    pcs_ac_temp: float
    mppt_lv_temp: float
    mppt_hv_temp: float
    def __init__(self, sys_work_sta: _Optional[int] = ..., pcs_work_sta: _Optional[int] = ..., ac_in_freq: _Optional[int] = ..., ac_out_freq: _Optional[int] = ..., pcs_dc_err_code: _Optional[int] = ..., pcs_ac_err_code: _Optional[int] = ..., lv_pv_err_code: _Optional[int] = ..., hv_pv_err_code: _Optional[int] = ..., bat_vol: _Optional[float] = ..., bat_amp: _Optional[float] = ..., bms_input_watts: _Optional[float] = ..., bms_output_watts: _Optional[float] = ..., out_ac_l1_1_vol: _Optional[float] = ..., out_ac_l1_1_amp: _Optional[float] = ..., out_ac_l1_2_vol: _Optional[float] = ..., out_ac_l1_2_amp: _Optional[float] = ..., out_ac_l2_1_vol: _Optional[float] = ..., out_ac_l2_1_amp: _Optional[float] = ..., out_ac_l2_2_vol: _Optional[float] = ..., out_ac_l2_2_amp: _Optional[float] = ..., out_ac_tt_vol: _Optional[float] = ..., out_ac_tt_amp: _Optional[float] = ..., out_ac_l14_vol: _Optional[float] = ..., out_ac_l14_amp: _Optional[float] = ..., out_ac_5p8_vol: _Optional[float] = ..., out_ac_5p8_amp: _Optional[float] = ..., in_ac_5p8_vol: _Optional[float] = ..., in_ac_5p8_amp: _Optional[float] = ..., in_ac_c20_vol: _Optional[float] = ..., in_ac_c20_amp: _Optional[float] = ..., in_lv_mppt_vol: _Optional[float] = ..., in_lv_mppt_amp: _Optional[float] = ..., in_hv_mppt_vol: _Optional[float] = ..., in_hv_mppt_amp: _Optional[float] = ..., pcs_dc_temp: _Optional[float] = ..., pcs_ac_temp: _Optional[float] = ..., mppt_lv_temp: _Optional[float] = ..., mppt_hv_temp: _Optional[float] = ...) -> None: ...

class DpuPack(_message.Message):
    __slots__ = ("bp_no", "bp_chg_sta", "soc", "bp_pwr", "bp_energy", "heat_time", "remain_time", "bp_soc_max", "bp_soc_min", "bp_err_code", "temp")
    BP_NO_FIELD_NUMBER: _ClassVar[int]
    BP_CHG_STA_FIELD_NUMBER: _ClassVar[int]
    SOC_FIELD_NUMBER: _ClassVar[int]
    BP_PWR_FIELD_NUMBER: _ClassVar[int]
    BP_ENERGY_FIELD_NUMBER: _ClassVar[int]
    HEAT_TIME_FIELD_NUMBER: _ClassVar[int]
    REMAIN_TIME_FIELD_NUMBER: _ClassVar[int]
    BP_SOC_MAX_FIELD_NUMBER: _ClassVar[int]
    BP_SOC_MIN_FIELD_NUMBER: _ClassVar[int]
    BP_ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    TEMP_FIELD_NUMBER: _ClassVar[int]
    bp_no: int
    bp_chg_sta: int
    soc: int
    bp_pwr: float
    bp_energy: float
    heat_time: int
    remain_time: int
    bp_soc_max: int
    bp_soc_min: int
    bp_err_code: int
    temp: int
    def __init__(self, bp_no: _Optional[int] = ..., bp_chg_sta: _Optional[int] = ..., soc: _Optional[int] = ..., bp_pwr: _Optional[float] = ..., bp_energy: _Optional[float] = ..., heat_time: _Optional[int] = ..., remain_time: _Optional[int] = ..., bp_soc_max: _Optional[int] = ..., bp_soc_min: _Optional[int] = ..., bp_err_code: _Optional[int] = ..., temp: _Optional[int] = ...) -> None: ...

class DpuPacks(_message.Message):
    __slots__ = ("bp_info",)
    BP_INFO_FIELD_NUMBER: _ClassVar[int]
    bp_info: _containers.RepeatedCompositeFieldContainer[DpuPack]
    def __init__(self, bp_info: _Optional[_Iterable[_Union[DpuPack, _Mapping]]] = ...) -> None: ...
