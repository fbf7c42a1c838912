"""tests/ops/kustomize.py against the real kustomize: the same objects out of the same files."""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.ops.kustomize import WORKLOADS, overlay, render
from tests.peers import require_binary

if TYPE_CHECKING:
    from pathlib import Path

COMPONENTS = ("usb", "tls", "basic-auth")
SHARDED = ("sharded", *COMPONENTS)
HASH_SUFFIX = re.compile(r"-[a-z0-9]{10}$")
Object = dict[str, Any]


def _normalized(objects: list[Object]) -> list[Object]:
    """The objects in a fixed order, ConfigMap names without their hash suffix."""
    out = yaml.safe_load(yaml.safe_dump(objects))
    for obj in out:
        if obj["kind"] == "ConfigMap":
            obj["metadata"]["name"] = HASH_SUFFIX.sub("", obj["metadata"]["name"])
        if obj["kind"] in WORKLOADS:
            for volume in obj["spec"]["template"]["spec"]["volumes"]:
                if "configMap" in volume:
                    volume["configMap"]["name"] = HASH_SUFFIX.sub("", volume["configMap"]["name"])
    return sorted(out, key=lambda obj: (obj["kind"], obj["metadata"]["name"]))


@pytest.mark.parametrize(
    ("components", "release"),
    [((), None), (COMPONENTS, None), (COMPONENTS, "monitoring"), (SHARDED, None)],
)
def test_renderer_matches_kustomize(
    tmp_path: Path, components: tuple[str, ...], release: str | None
) -> None:
    """The real kustomize (kubectl kustomize, kustomize build) renders what our renderer does."""
    binary = require_binary("kustomize", "kubectl", install="install kubectl or kustomize")
    command = [binary, "kustomize"] if binary.endswith("kubectl") else [binary, "build"]
    directory = overlay(tmp_path, *components, release=release)
    result = subprocess.run(
        [*command, str(directory)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    theirs = [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]
    assert _normalized(render(directory)) == _normalized(theirs)
