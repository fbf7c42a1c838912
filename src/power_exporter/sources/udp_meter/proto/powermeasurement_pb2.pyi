from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class power_measurement(_message.Message):
    __slots__ = ("timestamp", "energy_consumption", "current")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ENERGY_CONSUMPTION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    energy_consumption: float
    current: float
    def __init__(self, timestamp: _Optional[int] = ..., energy_consumption: _Optional[float] = ..., current: _Optional[float] = ...) -> None: ...
