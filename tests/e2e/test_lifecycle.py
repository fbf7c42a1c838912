"""`power-exporter serve` as a real process: reload, listening, TLS certificate rotation.

Reload by SIGHUP and POST /-/reload, ``:PORT`` on both stacks, systemd socket activation and
a certificate replaced while serving.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_prometheus import fetch, free_port, running, wait_for
from tests.ops.paths import ROOT
from tests.ops.pki import make_pki

DEMO = ROOT / "examples" / "demo"
BINARY = os.path.join(os.path.dirname(sys.executable), "power-exporter")  # noqa: PTH118, PTH120


def devices_yaml(*names: str) -> str:
    files = {"a": "rack-ups.dev", "b": "desk-ups.dev", "c": "power-cut.seq"}
    lines = ["devices:"]
    for name in names:
        lines += [
            f"  - name: {name}",
            "    source: replay",
            f"    file: {DEMO / files[name]}",
            "    interval: 200ms",
        ]
    return "\n".join(lines) + "\n"


def samples(url: str, family: str) -> dict[str, float]:
    """``family``'s samples by device label (or "" for an unlabelled one)."""
    out: dict[str, float] = {}
    for metric in text_string_to_metric_families(fetch(url)):
        for sample in metric.samples:
            if sample.name == family:
                out[sample.labels.get("device", "")] = sample.value
    return out


def messages(lines: str) -> list[str]:
    return [json.loads(line)["message"] for line in lines.splitlines() if line.startswith("{")]


class TestReload:
    def test_sighup_adds_removes_keeps_and_refuses_a_bad_file(self, tmp_path: Path) -> None:
        """SIGHUP adds, removes and keeps devices; a broken file is refused, the old one serves.

        The unchanged device keeps its state (its message counter continues); the refusal
        carries the error check-config prints.
        """
        cfg = tmp_path / "config.yaml"
        cfg.write_text(devices_yaml("a", "b"))
        port = free_port()
        url = f"http://127.0.0.1:{port}/metrics"
        log = tmp_path / "exporter.log"
        command = [BINARY, "serve", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"]
        with running(command, log) as process:
            wait_for(
                "a read several times",
                lambda: samples(url, "power_exporter_messages_total").get("a", 0) >= 3,
                process,
            )
            before = samples(url, "power_exporter_messages_total")["a"]
            cfg.write_text(devices_yaml("a", "c"))
            process.send_signal(signal.SIGHUP)
            wait_for("c up", lambda: samples(url, "power_device_up").get("c") == 1.0, process)
            up = samples(url, "power_device_up")
            assert "b" not in up
            assert up["a"] == 1.0
            assert samples(url, "power_exporter_messages_total")["a"] >= before  # not reset
            wait_for(
                "a's counter continuing",
                lambda: samples(url, "power_exporter_messages_total")["a"] > before,
                process,
            )
            assert samples(url, "power_exporter_config_last_reload_successful") == {"": 1.0}

            cfg.write_text(devices_yaml("a") + "  - name: d\n    source: no-such-kind\n")
            check = subprocess.run(
                [BINARY, "check-config", str(cfg)], capture_output=True, text=True, check=False
            )
            assert check.returncode == 2
            error = check.stderr.strip().split("configuration error: ", 1)[1]
            process.send_signal(signal.SIGHUP)
            wait_for(
                "the reload refused",
                lambda: samples(url, "power_exporter_config_last_reload_successful") == {"": 0.0},
                process,
            )
            up = samples(url, "power_device_up")
            assert set(up) == {"a", "c"}
            counted = samples(url, "power_exporter_messages_total")["a"]
            wait_for(
                "a still read",
                lambda: samples(url, "power_exporter_messages_total")["a"] > counted,
                process,
            )
        said = messages(log.read_text())
        assert any(m.startswith("reloaded ") and "1 added, 1 removed" in m for m in said)
        assert any(m.endswith(f"configuration error: {error}") for m in said), said

    def test_post_reload_needs_the_lifecycle_flag(self, tmp_path: Path) -> None:
        """POST /-/reload is 403 by default and reloads with --web.enable-lifecycle."""
        cfg = tmp_path / "config.yaml"
        cfg.write_text(devices_yaml("a"))
        for flag, status in (([], 403), (["--web.enable-lifecycle"], 200)):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            command = [BINARY, "serve", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"]
            with running([*command, *flag], tmp_path / "exporter.log") as process:
                wait_for("served", lambda: fetch(f"{base}/healthz"), process)  # noqa: B023
                cfg.write_text(devices_yaml("a", "b"))
                request = urllib.request.Request(f"{base}/-/reload", method="POST")  # noqa: S310
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                        got = response.status
                except urllib.error.HTTPError as exc:
                    got = exc.code
                assert got == status
                listed = samples(f"{base}/metrics", "power_device_up")
                assert ("b" in listed) is (status == 200)
            cfg.write_text(devices_yaml("a"))


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def free_dual_port() -> int:
    """A port free on IPv4 and IPv6 alike (free_port looks at 127.0.0.1 only)."""
    with socket.socket(socket.AF_INET6) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", 0))
        port: int = sock.getsockname()[1]
        return port


class TestListen:
    @pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
    def test_port_alone_listens_on_both_stacks(self, tmp_path: Path) -> None:
        """``:PORT`` answers on 127.0.0.1 and on [::1]; a second address is served too."""
        cfg = tmp_path / "config.yaml"
        cfg.write_text(devices_yaml("a"))
        port, other = free_dual_port(), free_port()
        command = [
            BINARY, "serve", "--config", str(cfg),
            "--web.listen-address", f":{port}", "--listen", f"127.0.0.1:{other}",
        ]  # fmt: skip
        with running(command, tmp_path / "exporter.log") as process:
            for base in (f"127.0.0.1:{port}", f"[::1]:{port}", f"127.0.0.1:{other}"):
                wait_for(base, lambda: fetch(f"http://{base}/healthz") == "ok\n", process)  # noqa: B023

    def test_systemd_socket_activation(self, tmp_path: Path) -> None:
        """With --web.systemd-socket the exporter serves the socket passed as descriptor 3."""
        cfg = tmp_path / "config.yaml"
        cfg.write_text(devices_yaml("a"))
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        # What systemd does: the socket at descriptor 3, LISTEN_FDS=1, LISTEN_PID the
        # service's own pid (exec keeps it).
        shim = (
            "import os, sys\n"
            "os.dup2(int(sys.argv[1]), 3)\n"
            "os.environ.update(LISTEN_FDS='1', LISTEN_PID=str(os.getpid()))\n"
            "os.execv(sys.argv[2], sys.argv[2:])\n"
        )
        command = [
            sys.executable, "-c", shim, str(listener.fileno()),
            BINARY, "serve", "--config", str(cfg), "--web.systemd-socket",
        ]  # fmt: skip
        log = tmp_path / "exporter.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                command, stdout=output, stderr=subprocess.STDOUT, pass_fds=(listener.fileno(),)
            )
        listener.close()  # the exporter holds it now
        try:
            got = wait_for(
                "served on the passed socket",
                lambda: fetch(f"http://127.0.0.1:{port}/metrics"),
                process,  # type: ignore[arg-type]
            )
            assert 'power_device_up{device="a"}' in got
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0


class TestCertificateRotation:
    def test_replaced_certificate_is_served_at_the_next_handshake(self, tmp_path: Path) -> None:
        """The certificate files replaced while serving: the next handshake gets the new one."""
        (tmp_path / "one").mkdir()
        (tmp_path / "two").mkdir()
        first, second = make_pki(tmp_path / "one"), make_pki(tmp_path / "two")
        cert, key = tmp_path / "server.crt", tmp_path / "server.key"
        cert.write_bytes(first.server.cert.read_bytes())
        key.write_bytes(first.server.key.read_bytes())
        web = tmp_path / "web.yml"
        web.write_text(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
        cfg = tmp_path / "config.yaml"
        cfg.write_text(devices_yaml("a"))
        port = free_port()
        command = [
            BINARY, "serve", "--config", str(cfg), "--listen", f"127.0.0.1:{port}",
            "--web.config.file", str(web),
        ]  # fmt: skip

        def served_cert() -> bytes:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                context.wrap_socket(raw) as tls,
            ):
                der = tls.getpeercert(binary_form=True)
            assert der is not None
            return der

        def pem_der(path: Path) -> bytes:
            return ssl.PEM_cert_to_DER_cert(path.read_text())

        with running(command, tmp_path / "exporter.log") as process:
            assert wait_for("TLS", served_cert, process) == pem_der(first.server.cert)
            # As cert-manager or an ACME client does it: new files moved into place.
            for source, target in ((second.server.key, key), (second.server.cert, cert)):
                staged = target.with_suffix(".new")
                staged.write_bytes(source.read_bytes())
                staged.replace(target)
            assert served_cert() == pem_der(second.server.cert)
            trusted = ssl.create_default_context(cafile=str(second.ca))
            trusted.check_hostname = False
            with urllib.request.urlopen(
                f"https://127.0.0.1:{port}/healthz", context=trusted, timeout=5
            ) as response:
                assert response.status == 200


class TestFileLimit:
    @pytest.mark.parametrize(("soft", "hard", "warned"), [(256, 256, True), (256, 4096, False)])
    def test_file_limit_fits_the_connection_cap(
        self,
        tmp_path: Path,
        soft: int,
        hard: int,
        warned: bool,
    ) -> None:
        """The soft file limit is raised to what the cap needs, else a warning says so."""
        cfg = tmp_path / "config.yaml"
        cfg.write_text(devices_yaml("a"))
        port = free_port()
        command = [BINARY, "serve", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"]
        log = tmp_path / "exporter.log"

        # As `ulimit -n` in a shell, or LimitNOFILE in a unit, before the exporter starts.
        shim = (
            "import os, resource, sys\n"
            f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
            "os.execv(sys.argv[1], sys.argv[1:])\n"
        )
        with log.open("w") as output:
            process = subprocess.Popen(
                [sys.executable, "-c", shim, *command], stdout=output, stderr=subprocess.STDOUT
            )
        try:
            wait_for("served", lambda: fetch(f"http://127.0.0.1:{port}/healthz"), process)  # type: ignore[arg-type]
            limits = Path(f"/proc/{process.pid}/limits").read_text()
            files = next(line for line in limits.splitlines() if "open files" in line)
            assert int(files.split()[3]) == (soft if warned else 512 + 2 + 64)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
        said = messages(log.read_text())
        assert any("file limit" in m for m in said) is warned
