"""Render deploy/kubernetes the way ``kubectl kustomize`` does, for the features it uses.

``kubectl kustomize`` (or ``kustomize build``) is the oracle where it is installed
(tests/ops/test_kustomize.py compares the two). This renderer lets the checks on the
rendered manifests run everywhere. It knows exactly the kustomization fields the shipped
files use and refuses any other, so it cannot silently render something kustomize would
not: resources, components, configMapGenerator (files, label options, the content-hash
name suffix and the references to it), JSON 6902 patches on a kind regex and a label
selector, strategic-merge ``$patch: delete`` patches (removing what they target), and the
``labels`` transformer without selectors or templates.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
from typing import TYPE_CHECKING, Any, Final

import yaml

from tests.ops.paths import KUBERNETES

if TYPE_CHECKING:
    from pathlib import Path

Object = dict[str, Any]

KNOWN_FIELDS: Final = frozenset(
    {"apiVersion", "kind", "resources", "components", "configMapGenerator", "patches", "labels"}
)


WORKLOADS: Final = frozenset({"Deployment", "DaemonSet", "StatefulSet"})


class UnsupportedError(ValueError):
    """The kustomization uses a field or form this renderer does not implement."""


def render(root: Path) -> list[Object]:
    """The objects ``kubectl kustomize root`` would print (ConfigMap hashes differ)."""
    objects, renames = _build(root)
    for obj in objects:
        _rename_config_maps(obj, renames)
    return objects


def _load(directory: Path) -> Object:
    data: Object = yaml.safe_load((directory / "kustomization.yaml").read_text("utf-8"))
    unknown = set(data) - KNOWN_FIELDS
    if unknown:
        raise UnsupportedError(f"{directory}: unsupported fields {sorted(unknown)}")
    return data


def _build(directory: Path) -> tuple[list[Object], dict[str, str]]:
    data = _load(directory)
    objects: list[Object] = []
    renames: dict[str, str] = {}
    for resource in data.get("resources") or []:
        path = directory / resource
        if path.is_dir():
            more, more_renames = _build(path)
            objects += more
            renames |= more_renames
        else:
            text = path.read_text("utf-8")
            objects += [doc for doc in yaml.safe_load_all(text) if doc is not None]
    for generator in data.get("configMapGenerator") or []:
        config_map = _generate(directory, generator)
        renames[generator["name"]] = config_map["metadata"]["name"]
        objects.append(config_map)
    for component in data.get("components") or []:
        objects, renames = _apply_component(directory / component, objects, renames)
    for patch in data.get("patches") or []:
        _apply_patch(patch, objects)
    for entry in data.get("labels") or []:
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise UnsupportedError("labels with includeSelectors or includeTemplates")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(entry["pairs"])
    return objects, renames


def _apply_component(
    directory: Path, objects: list[Object], renames: dict[str, str]
) -> tuple[list[Object], dict[str, str]]:
    if _load(directory).get("kind") != "Component":
        raise UnsupportedError(f"{directory} is not a Component")
    added, added_renames = _build_component(directory)
    objects = objects + added
    for patch in _load(directory).get("patches") or []:
        _apply_patch(patch, objects)
    return objects, renames | added_renames


def _build_component(directory: Path) -> tuple[list[Object], dict[str, str]]:
    data = _load(directory)
    stripped = {key: value for key, value in data.items() if key != "patches"}
    if stripped.get("components") or stripped.get("labels"):
        raise UnsupportedError(f"{directory}: nested components or labels")
    objects: list[Object] = []
    renames: dict[str, str] = {}
    for resource in stripped.get("resources") or []:
        text = (directory / resource).read_text("utf-8")
        objects += [doc for doc in yaml.safe_load_all(text) if doc is not None]
    for generator in stripped.get("configMapGenerator") or []:
        config_map = _generate(directory, generator)
        renames[generator["name"]] = config_map["metadata"]["name"]
        objects.append(config_map)
    return objects, renames


def _generate(directory: Path, generator: Object) -> Object:
    if set(generator) - {"name", "files", "options"} or set(generator.get("options", {})) - {
        "labels"
    }:
        raise UnsupportedError(f"configMapGenerator {generator['name']}: unsupported fields")
    data = {name: (directory / name).read_text("utf-8") for name in generator["files"]}
    digest = hashlib.sha256(yaml.safe_dump(data, sort_keys=True).encode()).hexdigest()[:10]
    metadata: Object = {"name": f"{generator['name']}-{digest}"}
    if "labels" in generator.get("options", {}):
        metadata["labels"] = dict(generator["options"]["labels"])
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def _selected(target: Object, obj: Object) -> bool:
    if set(target) - {"kind", "labelSelector"}:
        raise UnsupportedError(f"patch target {target}")
    if not re.fullmatch(target["kind"], obj["kind"]):
        return False
    labels = obj["metadata"].get("labels", {})
    for term in target.get("labelSelector", "").split(","):
        if term:
            key, _, value = term.partition("=")
            if labels.get(key) != value:
                return False
    return True


def _apply_patch(patch: Object, objects: list[Object]) -> None:
    if set(patch) != {"target", "patch"}:
        raise UnsupportedError(f"patch form {sorted(patch)}")
    operations = yaml.safe_load(patch["patch"])
    if isinstance(operations, dict):
        if operations.get("$patch") != "delete" or set(operations) - {
            "$patch",
            "apiVersion",
            "kind",
            "metadata",
        }:
            raise UnsupportedError(f"strategic merge patch {sorted(operations)}")
        doomed = [
            obj
            for obj in objects
            if _selected(patch["target"], obj)
            and obj["kind"] == operations["kind"]
            and obj["metadata"]["name"] == operations["metadata"]["name"]
        ]
        objects[:] = [obj for obj in objects if all(obj is not gone for gone in doomed)]
        return
    for obj in objects:
        if _selected(patch["target"], obj):
            for operation in operations:
                _json_patch(obj, operation)


def _json_patch(obj: Object, operation: Object) -> None:
    op, path = operation["op"], operation["path"]
    if op not in {"add", "replace"}:
        raise UnsupportedError(f"JSON patch op {op}")
    *parents, last = path.strip("/").split("/")
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if op == "replace" and last not in node:
        raise KeyError(f"{path}: nothing to replace")
    node[last] = copy.deepcopy(operation["value"])


def _rename_config_maps(obj: Object, renames: dict[str, str]) -> None:
    if obj["kind"] not in WORKLOADS:
        return
    for volume in obj["spec"]["template"]["spec"].get("volumes", []):
        if "configMap" in volume and volume["configMap"]["name"] in renames:
            volume["configMap"]["name"] = renames[volume["configMap"]["name"]]


def base_copy(tmp_path: Path) -> Path:
    """A copy of deploy/kubernetes under ``tmp_path`` (made once per test)."""
    base = tmp_path / "kubernetes"
    if not base.exists():
        shutil.copytree(KUBERNETES, base)
    return base


def overlay(tmp_path: Path, *components: str, release: str | None = None) -> Path:
    """An overlay on a copy of deploy/kubernetes with ``components`` (and a release)."""
    base_copy(tmp_path)
    directory = tmp_path / ("overlay-" + "-".join(components) + f"-{release}")
    directory.mkdir()
    data: Object = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../kubernetes"],
        "components": [f"../kubernetes/components/{name}" for name in components],
    }
    if release is not None:
        data["labels"] = [{"pairs": {"release": release}}]
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return directory
