from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EnergyItem(_message.Message):
    __slots__ = ("timestamp", "watth_type", "watth")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    WATTH_TYPE_FIELD_NUMBER: _ClassVar[int]
    WATTH_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    watth_type: int
    watth: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, timestamp: _Optional[int] = ..., watth_type: _Optional[int] = ..., watth: _Optional[_Iterable[int]] = ...) -> None: ...

class BatchEnergyTotalReport(_message.Message):
    __slots__ = ("watth_seq", "watth_item")
    WATTH_SEQ_FIELD_NUMBER: _ClassVar[int]
    WATTH_ITEM_FIELD_NUMBER: _ClassVar[int]
    watth_seq: int
    watth_item: _containers.RepeatedCompositeFieldContainer[EnergyItem]
    def __init__(self, watth_seq: _Optional[int] = ..., watth_item: _Optional[_Iterable[_Union[EnergyItem, _Mapping]]] = ...) -> None: ...
