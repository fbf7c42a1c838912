from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class TimestampedReport(_message.Message):
    __slots__ = ("timestamp", "value2", "value5")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    VALUE2_FIELD_NUMBER: _ClassVar[int]
    VALUE5_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    value2: float
    value5: int
    def __init__(self, timestamp: _Optional[int] = ..., value2: _Optional[float] = ..., value5: _Optional[int] = ...) -> None: ...
