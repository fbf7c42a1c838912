"""deploy/kubernetes: schemas of the built-in kinds, and the references between the objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kubernetes_validate
import pytest
import yaml

from power_exporter import webauth, webconfig
from power_exporter.config import load as load_config
from power_exporter.errors import ConfigError
from power_exporter.sources.registry import KINDS
from tests.ops.paths import DOCKERFILE, KUBERNETES

if TYPE_CHECKING:
    from pathlib import Path

CRDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule", "Kustomization"}
# The oldest Kubernetes still commonly run, and the newest the validator knows.
VERSIONS = ("1.28.0", kubernetes_validate.latest_version())


def documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, doc)
        for path in sorted(KUBERNETES.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc is not None
    ]


def one(kind: str, name: str) -> dict[str, Any]:
    found = [d for _, d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_every_kind_is_there() -> None:
    """Deployment, Service, ConfigMap, Secret, ServiceMonitor, PrometheusRule and a DaemonSet."""
    kinds = {doc["kind"] for _, doc in documents()}
    assert kinds >= {"Deployment", "Service", "ConfigMap", "Secret", "ServiceMonitor"}
    assert kinds >= {"PrometheusRule", "DaemonSet", "PodMonitor"}


@pytest.mark.parametrize("version", VERSIONS)
def test_builtin_kinds_match_the_schema(version: str) -> None:
    """Every built-in object validates strictly (no unknown fields) against the API schema."""
    checked = 0
    for name, doc in documents():
        if doc["kind"] in CRDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']}/{doc['metadata']['name']}: {exc.message}")
        checked += 1
    assert checked >= 6


def test_the_validator_catches_a_bad_field() -> None:
    """A misspelt field is refused, so the schema check above is not a formality."""
    deployment = one("Deployment", "power-exporter")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    container(broken)["livenesProbe"] = container(broken).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_service_and_monitors_find_their_pods() -> None:
    """Service -> Deployment pods and port; ServiceMonitor -> Service port; PodMonitor -> pods."""
    deployment = one("Deployment", "power-exporter")
    service = one("Service", "power-exporter")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(service["spec"]["selector"], pod_labels)
    assert selects(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    container_ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    for port in service_ports.values():
        assert port["targetPort"] in container_ports
    monitor = one("ServiceMonitor", "power-exporter")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in service_ports
        assert endpoint["path"] == "/metrics"
    daemonset = one("DaemonSet", "power-exporter-usb")
    pod_monitor = one("PodMonitor", "power-exporter-usb")
    ds_labels = daemonset["spec"]["template"]["metadata"]["labels"]
    assert selects(pod_monitor["spec"]["selector"]["matchLabels"], ds_labels)
    # The two monitors must not both scrape the same pods.
    assert not selects(monitor["spec"]["selector"]["matchLabels"], ds_labels)
    ds_ports = {p["name"] for p in container(daemonset)["ports"]}
    assert {e["port"] for e in pod_monitor["spec"]["podMetricsEndpoints"]} <= ds_ports


def test_image_contract() -> None:
    """Port, user and health path agree with the Dockerfile and the exporter's open paths."""
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    for name in (("Deployment", "power-exporter"), ("DaemonSet", "power-exporter-usb")):
        workload = one(*name)
        spec = workload["spec"]["template"]["spec"]
        assert f"EXPOSE {container(workload)['ports'][0]['containerPort']}" in dockerfile
        assert f"USER {spec['securityContext']['runAsUser']}:" in dockerfile
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        security = container(workload)["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"]
        assert not security.get("privileged", False)
        for probe in ("readinessProbe", "livenessProbe"):
            assert container(workload)[probe]["httpGet"]["path"] in webauth.OPEN_PATHS


def _mounted(workload: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """The volume and the key inside it that ``path`` reads."""
    spec = workload["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in container(workload)["volumeMounts"]:
        target = mount["mountPath"]
        if mount.get("subPath") and path == target:
            return volumes[mount["name"]], mount["subPath"]
        if not mount.get("subPath") and path.startswith(target + "/"):
            return volumes[mount["name"]], path.removeprefix(target + "/")
    pytest.fail(f"{path} is not mounted")


def _key(volume: dict[str, Any], key: str) -> str:
    """The text a volume's key holds, from the ConfigMap or Secret in the manifests."""
    if "configMap" in volume:
        return str(one("ConfigMap", volume["configMap"]["name"])["data"][key])
    items = {i["path"]: i["key"] for i in volume["secret"].get("items", [])}
    return str(one("Secret", volume["secret"]["secretName"])["stringData"][items.get(key, key)])


def _arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


@pytest.mark.parametrize(
    ("kind", "name"), [("Deployment", "power-exporter"), ("DaemonSet", "power-exporter-usb")]
)
def test_mounted_config_loads(tmp_path: Path, kind: str, name: str) -> None:
    """The config (and web config) the args name are mounted, and load without error."""
    workload = one(kind, name)
    args = container(workload)["args"]
    text = _key(*_mounted(workload, _arg(args, "--config")))
    environ = {}
    for env in container(workload).get("env", []):
        environ[env["name"]] = "node-1" if "fieldRef" in env.get("valueFrom", {}) else "secret"
        if "secretKeyRef" in env.get("valueFrom", {}):
            ref = env["valueFrom"]["secretKeyRef"]
            assert ref["key"] in one("Secret", ref["name"])["stringData"]
    config_file = tmp_path / "config.yaml"
    config_file.write_text(text, encoding="utf-8")
    sources = {device["source"] for device in yaml.safe_load(text)["devices"]}
    missing = sources - set(KINDS)
    if missing:
        pytest.skip(f"source kinds not registered in this build: {sorted(missing)}")
    try:
        config = load_config(config_file, environ)
    except ConfigError as exc:
        pytest.fail(f"{kind}/{name} config: {exc}")
    assert config.devices
    if "--web.config.file" in args:
        web_file = tmp_path / "web-config.yml"
        web_file.write_text(_key(*_mounted(workload, _arg(args, "--web.config.file"))))
        webconfig.load(web_file)


def test_usb_daemonset_gets_hidraw_without_privileges() -> None:
    """The DaemonSet runs on labelled nodes and gets /dev/hidraw* from a device plugin."""
    daemonset = one("DaemonSet", "power-exporter-usb")
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"power-exporter/usb-ups": "true"}
    assert container(daemonset)["resources"]["limits"]["squat.ai/hidraw"] == 1
    assert "hostPath" not in str(spec["volumes"])


def test_kustomization_lists_existing_files() -> None:
    """kustomization.yaml names files that exist, and every base manifest."""
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    for resource in listed:
        assert (KUBERNETES / resource).is_file(), resource
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk - listed == {"daemonset.yaml"}
