"""deploy/kubernetes, rendered as kustomize renders it: schemas, references, selectors, TLS."""

from __future__ import annotations

import copy
import shutil
from typing import TYPE_CHECKING, Any

import aiohttp
import kubernetes_validate
import pytest
import yaml
from aiohttp import web

from power_exporter import cli, webauth, webconfig
from power_exporter.config import Settings
from power_exporter.config import load as load_config
from power_exporter.errors import ConfigError
from power_exporter.exposition.text import Renderer
from power_exporter.http import Fleet, make_app
from power_exporter.sharding import Shard
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.ops.kustomize import base_copy, overlay, render
from tests.ops.paths import DOCKERFILE, KUBERNETES, ROOT
from tests.ops.pki import make_pki

if TYPE_CHECKING:
    from pathlib import Path

CRDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
MONITORING = CRDS
# The oldest Kubernetes still commonly run, and the newest the validator knows.
VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
COMPONENTS = ("usb", "tls", "basic-auth")
SECRETS = KUBERNETES / "secret.example.yaml"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
Object = dict[str, Any]


def one(objects: list[Object], kind: str, name: str) -> Object:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def container(workload: Object) -> Object:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: Object = containers[0]
    return result


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def secrets() -> dict[str, Object]:
    docs = yaml.safe_load_all(SECRETS.read_text(encoding="utf-8"))
    return {doc["metadata"]["name"]: doc for doc in docs}


@pytest.fixture
def everything(tmp_path: Path) -> list[Object]:
    """The kustomization with every optional component on."""
    return render(overlay(tmp_path, *COMPONENTS))


@pytest.fixture
def default(tmp_path: Path) -> list[Object]:
    """`kubectl apply -k deploy/kubernetes` as shipped."""
    return render(base_copy(tmp_path))


def test_every_kind_is_there(everything: list[Object], default: list[Object]) -> None:
    """Deployment, Service, ConfigMap, monitors and rules; the DaemonSet with components/usb."""
    kinds = {doc["kind"] for doc in default}
    assert kinds == {"Deployment", "Service", "ConfigMap", "ServiceMonitor", "PrometheusRule"}
    assert {doc["kind"] for doc in everything} == kinds | {"DaemonSet", "PodMonitor"}


def test_no_secret_is_applied(default: list[Object], everything: list[Object]) -> None:
    """`kubectl apply -k` never overwrites a Secret made by hand: none is in the render."""
    assert not [o for o in default + everything if o["kind"] == "Secret"]
    assert set(secrets()) == {"power-exporter", "power-exporter-web", "power-exporter-scrape"}


@pytest.mark.parametrize("version", VERSIONS)
def test_builtin_kinds_match_the_schema(everything: list[Object], version: str) -> None:
    """Every built-in object validates strictly (no unknown fields) against the API schema."""
    checked = 0
    for doc in [*everything, *secrets().values()]:
        if doc["kind"] in CRDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
        checked += 1
    assert checked >= 8


def test_the_validator_catches_a_bad_field(default: list[Object]) -> None:
    """A misspelt field is refused, so the schema check above is not a formality."""
    broken = yaml.safe_load(yaml.safe_dump(one(default, "Deployment", "power-exporter")))
    container(broken)["livenesProbe"] = container(broken).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


class TestKubePrometheusStack:
    """Its default Prometheus selects monitors and rules by `release: <Helm release>`."""

    @staticmethod
    def selected(objects: list[Object], release: str) -> set[str]:
        # The chart's serviceMonitorSelector, podMonitorSelector and ruleSelector.
        selector = {"release": release}
        return {
            o["kind"]
            for o in objects
            if o["kind"] in MONITORING and selects(selector, o["metadata"]["labels"])
        }

    def test_default_release(self, everything: list[Object], default: list[Object]) -> None:
        """As shipped, a release named kube-prometheus-stack finds every monitor and rule."""
        assert self.selected(default, "kube-prometheus-stack") == {
            "ServiceMonitor",
            "PrometheusRule",
        }
        assert self.selected(everything, "kube-prometheus-stack") == MONITORING

    def test_release_set_in_an_overlay(self, tmp_path: Path) -> None:
        """An overlay's `labels` renames the release on every monitor and rule."""
        objects = render(overlay(tmp_path, *COMPONENTS, release="monitoring"))
        assert self.selected(objects, "monitoring") == MONITORING
        assert self.selected(objects, "kube-prometheus-stack") == set()

    def test_release_set_in_the_kustomization(self, tmp_path: Path) -> None:
        """The `labels` entry of kustomization.yaml is the one place to name the release."""
        base = base_copy(tmp_path)
        path = base / "kustomization.yaml"
        text = path.read_text(encoding="utf-8")
        assert text.count("release: kube-prometheus-stack") == 1
        path.write_text(text.replace("release: kube-prometheus-stack", "release: prom"))
        assert self.selected(render(base), "prom") == {"ServiceMonitor", "PrometheusRule"}

    def test_documented(self) -> None:
        """docs/deploy.md tells of the release label."""
        text = DEPLOY_DOC.read_text(encoding="utf-8")
        assert "release:" in text
        assert "kube-prometheus-stack" in text


def test_service_and_monitors_find_their_pods(everything: list[Object]) -> None:
    """Service -> Deployment pods and port; ServiceMonitor -> Service port; PodMonitor -> pods."""
    deployment = one(everything, "Deployment", "power-exporter")
    service = one(everything, "Service", "power-exporter")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(service["spec"]["selector"], pod_labels)
    assert selects(deployment["spec"]["selector"]["matchLabels"], pod_labels)
    container_ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    for port in service_ports.values():
        assert port["targetPort"] in container_ports
    monitor = one(everything, "ServiceMonitor", "power-exporter")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in service_ports
        assert endpoint["path"] == "/metrics"
    daemonset = one(everything, "DaemonSet", "power-exporter-usb")
    pod_monitor = one(everything, "PodMonitor", "power-exporter-usb")
    ds_labels = daemonset["spec"]["template"]["metadata"]["labels"]
    assert selects(pod_monitor["spec"]["selector"]["matchLabels"], ds_labels)
    # The two monitors must not both scrape the same pods.
    assert not selects(monitor["spec"]["selector"]["matchLabels"], ds_labels)
    ds_ports = {p["name"] for p in container(daemonset)["ports"]}
    assert {e["port"] for e in pod_monitor["spec"]["podMetricsEndpoints"]} <= ds_ports


def test_image_contract(everything: list[Object]) -> None:
    """Port, user and health path agree with the Dockerfile and the exporter's open paths."""
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    for name in (("Deployment", "power-exporter"), ("DaemonSet", "power-exporter-usb")):
        workload = one(everything, *name)
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


def monitors(objects: list[Object]) -> list[Object]:
    """Every scrape endpoint of the ServiceMonitor and PodMonitor."""
    out = []
    for obj in objects:
        if obj["kind"] == "ServiceMonitor":
            out += obj["spec"]["endpoints"]
        elif obj["kind"] == "PodMonitor":
            out += obj["spec"]["podMetricsEndpoints"]
    return out


def probes(objects: list[Object]) -> list[Object]:
    return [
        container(obj)[probe]
        for obj in objects
        if obj["kind"] in {"Deployment", "DaemonSet"}
        for probe in ("readinessProbe", "livenessProbe")
    ]


class TestTransportSecurity:
    """Probes and scrapes follow the web config: HTTPS with TLS, credentials with basic auth."""

    def test_plain_http(self, tmp_path: Path) -> None:
        """Without components/tls, probes and scrapes speak plain HTTP."""
        objects = render(overlay(tmp_path, "usb"))
        assert {p["httpGet"]["scheme"] for p in probes(objects)} == {"HTTP"}
        assert {e["scheme"] for e in monitors(objects)} == {"http"}
        assert not [e for e in monitors(objects) if "tlsConfig" in e or "basicAuth" in e]

    def test_tls_on(self, tmp_path: Path) -> None:
        """With components/tls every probe is HTTPS, every scrape https with the CA's Secret."""
        objects = render(overlay(tmp_path, "usb", "tls"))
        assert len(probes(objects)) == 4
        assert {p["httpGet"]["scheme"] for p in probes(objects)} == {"HTTPS"}
        scrape = secrets()["power-exporter-scrape"]["stringData"]
        assert len(monitors(objects)) == 2
        for endpoint in monitors(objects):
            assert endpoint["scheme"] == "https"
            ca = endpoint["tlsConfig"]["ca"]["secret"]
            assert ca["name"] == "power-exporter-scrape"
            assert ca["key"] in scrape

    def test_basic_auth_on(self, tmp_path: Path) -> None:
        """With components/basic-auth every scrape sends credentials; probes need none."""
        objects = render(overlay(tmp_path, "usb", "basic-auth"))
        scrape = secrets()["power-exporter-scrape"]["stringData"]
        assert len(monitors(objects)) == 2
        for endpoint in monitors(objects):
            for part in ("username", "password"):
                ref = endpoint["basicAuth"][part]
                assert ref["name"] == "power-exporter-scrape"
                assert ref["key"] in scrape
        assert {p["httpGet"]["path"] for p in probes(objects)} <= set(webauth.OPEN_PATHS)

    @staticmethod
    def tls_web_config(tmp_path: Path) -> Path:
        """The example web config with its TLS lines on, beside a certificate and key."""
        pki = make_pki(tmp_path)
        text = secrets()["power-exporter-web"]["stringData"]["web-config.yml"]
        text = text.replace("# tls_server_config:", "tls_server_config:")
        text = text.replace("#   cert_file: tls.crt", "  cert_file: tls.crt")
        text = text.replace("#   key_file: tls.key", "  key_file: tls.key")
        web = tmp_path / "web"
        web.mkdir()
        shutil.copy(pki.server.cert, web / "tls.crt")
        shutil.copy(pki.server.key, web / "tls.key")
        (web / "web-config.yml").write_text(text, encoding="utf-8")
        return web / "web-config.yml"

    async def test_probes_pass_only_with_the_tls_component(self, tmp_path: Path) -> None:
        """The rendered probes against an exporter serving TLS: only components/tls's pass.

        Without the component the kubelet's plain-HTTP probes fail: the crash-loop.
        """
        config = webconfig.load(self.tls_web_config(tmp_path))
        store = Store()
        app = make_app(
            store,
            Renderer(store, lambda kind: KINDS[kind].naming),
            None,
            webconfig.middlewares(config),
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=webconfig.ssl_context(config))
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as session:
                for components, passes in ((("usb", "tls"), True), (("usb",), False)):
                    for probe in probes(render(overlay(tmp_path, *components))):
                        get = probe["httpGet"]
                        url = f"{get['scheme'].lower()}://127.0.0.1:{port}{get['path']}"
                        # The kubelet does not verify the serving certificate.
                        try:
                            async with session.get(url, ssl=False) as response:
                                status = response.status
                        except aiohttp.ClientError:
                            status = None
                        assert (status == 200) is passes, f"{components}: {url} -> {status}"
        finally:
            await runner.cleanup()


def _mounted(objects: list[Object], workload: Object, path: str) -> str:
    """The text of the file at ``path`` in the workload's container."""
    spec = workload["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    for mount in container(workload)["volumeMounts"]:
        assert "subPath" not in mount, "a subPath mount never sees an update"
        if path.startswith(mount["mountPath"] + "/"):
            volume = volumes[mount["name"]]
            key = path.removeprefix(mount["mountPath"] + "/")
            if "configMap" in volume:
                return str(one(objects, "ConfigMap", volume["configMap"]["name"])["data"][key])
            return str(secrets()[volume["secret"]["secretName"]]["stringData"][key])
    pytest.fail(f"{path} is not mounted")


def _arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


@pytest.mark.parametrize(
    ("kind", "name"), [("Deployment", "power-exporter"), ("DaemonSet", "power-exporter-usb")]
)
def test_mounted_config_loads(
    everything: list[Object], tmp_path: Path, kind: str, name: str
) -> None:
    """The config and web config the args name are mounted, and load without error."""
    workload = one(everything, kind, name)
    args = container(workload)["args"]
    text = _mounted(everything, workload, _arg(args, "--config"))
    environ = {}
    for env in container(workload).get("env", []):
        environ[env["name"]] = "node-1" if "fieldRef" in env.get("valueFrom", {}) else "secret"
        if "secretKeyRef" in env.get("valueFrom", {}):
            ref = env["valueFrom"]["secretKeyRef"]
            assert ref["key"] in secrets()[ref["name"]]["stringData"]
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
    web_file = tmp_path / "web-config.yml"
    web_file.write_text(_mounted(everything, workload, _arg(args, "--web.config.file")))
    webconfig.load(web_file)


def test_config_change_rolls_out(tmp_path: Path) -> None:
    """Editing config.yaml renames the generated ConfigMap, and the pod templates follow."""
    before = render(overlay(tmp_path, "usb"))
    for path in (tmp_path / "kubernetes").rglob("config.yaml"):
        path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    after = render(overlay(tmp_path, "usb", release="x"))

    def references(objects: list[Object]) -> dict[str, str]:
        out = {}
        for obj in objects:
            if obj["kind"] in {"Deployment", "DaemonSet"}:
                volumes = obj["spec"]["template"]["spec"]["volumes"]
                (name,) = [v["configMap"]["name"] for v in volumes if "configMap" in v]
                assert one(objects, "ConfigMap", name)
                out[obj["kind"]] = name
        return out

    old, new = references(before), references(after)
    assert set(old) == set(new) == {"Deployment", "DaemonSet"}
    for kind in old:
        assert old[kind] != new[kind], f"{kind} would not roll out on a config change"


def test_usb_daemonset_can_open_hidraw(everything: list[Object]) -> None:
    """Labelled nodes, hidraw from a device plugin, the node's group, the runtime option."""
    daemonset = one(everything, "DaemonSet", "power-exporter-usb")
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"power-exporter/usb-ups": "true"}
    assert container(daemonset)["resources"]["limits"]["squat.ai/hidraw"] == 1
    assert "hostPath" not in str(spec["volumes"])
    groups = spec["securityContext"]["supplementalGroups"]
    assert groups
    assert all(isinstance(gid, int) and gid > 0 for gid in groups)
    manifest = (KUBERNETES / "components" / "usb" / "daemonset.yaml").read_text("utf-8")
    for text in (manifest, DEPLOY_DOC.read_text(encoding="utf-8")):
        assert "device_ownership_from_security_context" in text
        assert f"--gid {groups[0]}" in text


class TestSharded:
    """components/sharded: a StatefulSet of replicas, each its shard of one config."""

    @pytest.fixture
    def sharded(self, tmp_path: Path) -> list[Object]:
        return render(overlay(tmp_path, "sharded", *COMPONENTS))

    def test_statefulset_replaces_the_deployment(self, sharded: list[Object]) -> None:
        """No Deployment polls beside the shards; the StatefulSet's pods are the Service's."""
        kinds = {doc["kind"] for doc in sharded}
        assert "Deployment" not in kinds
        statefulset = one(sharded, "StatefulSet", "power-exporter")
        pods = statefulset["spec"]["template"]["metadata"]["labels"]
        assert selects(one(sharded, "Service", "power-exporter")["spec"]["selector"], pods)
        for version in VERSIONS:
            kubernetes_validate.validate(statefulset, version, strict=True)
            kubernetes_validate.validate(
                one(sharded, "Service", "power-exporter-shards"), version, strict=True
            )

    def test_pod_template_is_the_deployments(
        self, sharded: list[Object], everything: list[Object]
    ) -> None:
        """The StatefulSet's pod is the Deployment's plus the shard flags, nothing else."""
        deployment = one(everything, "Deployment", "power-exporter")
        template = copy.deepcopy(one(sharded, "StatefulSet", "power-exporter")["spec"]["template"])
        args = template["spec"]["containers"][0]["args"]
        added = [arg for arg in args if arg not in container(deployment)["args"]]
        assert [arg.split("=")[0] for arg in added] == [
            "--total-shards",
            "--shard-from-hostname",
            "--shard-peers",
        ]
        template["spec"]["containers"][0]["args"] = [arg for arg in args if arg not in added]
        assert template == deployment["spec"]["template"]

    def test_headless_service_is_not_scraped(self, sharded: list[Object]) -> None:
        """The ServiceMonitor selects the exporter Service only: each replica scraped once."""
        monitor = one(sharded, "ServiceMonitor", "power-exporter")
        selector = monitor["spec"]["selector"]["matchLabels"]
        services = [o for o in sharded if o["kind"] == "Service"]
        assert [
            s["metadata"]["name"] for s in services if selects(selector, s["metadata"]["labels"])
        ] == ["power-exporter"]
        headless = one(sharded, "Service", "power-exporter-shards")
        assert headless["spec"]["clusterIP"] == "None"
        assert (
            one(sharded, "StatefulSet", "power-exporter")["spec"]["serviceName"]
            == "power-exporter-shards"
        )

    def test_tls_probes_follow(self, sharded: list[Object]) -> None:
        """With components/tls the kubelet probes the shards over HTTPS too."""
        statefulset = one(sharded, "StatefulSet", "power-exporter")
        for probe in ("readinessProbe", "livenessProbe"):
            assert container(statefulset)[probe]["httpGet"]["scheme"] == "HTTPS"

    @pytest.mark.parametrize("ordinal", [0, 1, 2])
    def test_each_pod_finds_its_shard_and_peers(
        self, sharded: list[Object], monkeypatch: pytest.MonkeyPatch, ordinal: int
    ) -> None:
        """Pod power-exporter-N is shard N of `replicas`; its peers are the pods' DNS names."""
        statefulset = one(sharded, "StatefulSet", "power-exporter")
        name, spec = statefulset["metadata"]["name"], statefulset["spec"]
        monkeypatch.setenv("HOSTNAME", f"{name}-{ordinal}")
        for variable in ("POWER_EXPORTER_SHARD", "POWER_EXPORTER_TOTAL_SHARDS"):
            monkeypatch.delenv(variable, raising=False)
        args = cli.build_parser().parse_args(container(statefulset)["args"])
        options = cli._sharding(args, Settings())
        assert options["shard"] == Shard(ordinal, spec["replicas"])
        fleet = Fleet.from_template(options["shard_peers"], ordinal, spec["replicas"], list)
        port = container(statefulset)["ports"][0]["containerPort"]
        assert [peer.address for peer in fleet.peers] == [
            f"{name}-{n}.{spec['serviceName']}:{port}" for n in range(spec["replicas"])
        ]
