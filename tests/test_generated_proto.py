"""The committed protobuf code matches its .proto files (run scripts/gen-proto after an edit)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

SRC = Path(__file__).parents[1] / "src"
PROTOS = sorted(SRC.glob("power_exporter/sources/*/proto/*.proto"))


def test_there_are_protos() -> None:
    """The glob finds the .proto files (a moved folder must not silently skip the check)."""
    assert PROTOS


@pytest.mark.parametrize("proto", PROTOS, ids=lambda path: path.relative_to(SRC).as_posix())
def test_generated_code_is_current(proto: Path, tmp_path: Path) -> None:
    """The descriptor protoc makes of the .proto equals the one in the committed *_pb2.py."""
    relative = proto.relative_to(SRC).as_posix()
    out = tmp_path / "set.pb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{SRC}",
            f"--descriptor_set_out={out}",
            relative,
        ],
        check=True,
        cwd=SRC,
        capture_output=True,
    )
    fresh = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    module = importlib.import_module(relative.removesuffix(".proto").replace("/", ".") + "_pb2")
    committed = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
    for message in fresh.message_type:
        _drop_default_json_names(message)
    assert committed == fresh, f"{relative} changed: run scripts/gen-proto"
    assert proto.with_name(proto.stem + "_pb2.pyi").is_file()


def _json_name(name: str) -> str:
    """The default json_name of protoc: drop each ``_`` and upper-case the letter after it."""
    out, upper = [], False
    for char in name:
        if char == "_":
            upper = True
        else:
            out.append(char.upper() if upper else char)
            upper = False
    return "".join(out)


def _drop_default_json_names(message: descriptor_pb2.DescriptorProto) -> None:
    """The Python generator keeps a field's json_name only where it is not the default."""
    for field in message.field:
        if field.json_name == _json_name(field.name):
            field.ClearField("json_name")
    for nested in message.nested_type:
        _drop_default_json_names(nested)
