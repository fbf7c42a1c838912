"""EcoFlow protobuf messages: the ``.proto`` sources and the code protoc generated from them.

Regenerate with ``scripts/gen-proto`` after editing a ``.proto``; the generated ``*_pb2.py``
and ``*_pb2.pyi`` are committed so that an install needs no protobuf compiler.
"""
