"""Locked installs and the package itself: what a fresh machine gets is what the lock says.

The environments of `make run` and `make test` are installed from requirements/*.txt with
`--require-hashes`; these tests check the locks against pyproject.toml, the running test
environment against its lock, and that `make dist` builds an sdist and a wheel twine accepts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from power_exporter import __version__
from tests.ops.paths import ROOT

LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\;]+)", re.MULTILINE)
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
TOOLS = {"pytest", "mypy", "ruff", "hypothesis", "import-linter", "twine", "grpcio-tools"}


def pins(lock: str) -> dict[str, str]:
    text = (LOCKS / lock).read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        data: dict[str, object] = tomllib.load(f)["project"]
    return data


def requirements(*extras: str) -> list[Requirement]:
    data = project()
    found = [Requirement(r) for r in data["dependencies"]]  # type: ignore[attr-defined]
    optional: dict[str, list[str]] = data["optional-dependencies"]  # type: ignore[assignment]
    for extra in extras:
        found += [Requirement(r) for r in optional[extra]]
    return found


class TestLocks:
    @pytest.mark.parametrize(
        ("lock", "extras"),
        [
            ("run.txt", ("hid",)),
            ("test.txt", ("hid", "test")),
            ("bench.txt", ("hid", "test", "bench")),
            ("fuzz.txt", ("hid", "test", "fuzz")),
        ],
    )
    def test_every_requirement_is_pinned_within_its_bounds(
        self, lock: str, extras: tuple[str, ...]
    ) -> None:
        """Each of pyproject's requirements has a pin in the lock that its bounds admit."""
        pinned = pins(lock)
        for requirement in requirements(*extras):
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{lock} does not pin {name}"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"{lock}: {name}=={pinned[name]} is outside {requirement.specifier}"
            )
        for backend in ("hatchling", "editables"):  # installed without build isolation
            assert backend in pinned, f"{lock} does not pin the build backend's {backend}"

    @pytest.mark.parametrize("lock", ["run.txt", "test.txt", "bench.txt", "fuzz.txt"])
    def test_every_pin_has_hashes(self, lock: str) -> None:
        """Pip's --require-hashes refuses a lock with one pin that has none."""
        text = (LOCKS / lock).read_text(encoding="utf-8")
        blocks = re.split(r"\n(?=[A-Za-z0-9._-]+==)", text)
        pinned = [block for block in blocks if PIN.match(block)]
        assert len(pinned) == len(pins(lock))
        for block in pinned:
            assert HASH.search(block), block.splitlines()[0]

    def test_the_locks_agree(self) -> None:
        """A package pinned in two locks has one version: the environments differ only in extras."""
        run = pins("run.txt")
        for other in ("test.txt", "bench.txt", "fuzz.txt"):
            theirs = pins(other)
            for name, version in run.items():
                assert theirs.get(name) == version, (
                    f"{name}: run {version}, {other} {theirs.get(name)}"
                )

    def test_serving_installs_no_test_or_lint_tool(self) -> None:
        """`make run`'s lock has what serving needs and no test, type or lint tool."""
        assert not TOOLS & set(pins("run.txt"))
        assert set(pins("test.txt")) >= TOOLS

    @pytest.mark.skipif(
        os.environ.get("POWER_EXPORTER_UNLOCKED") == "1",
        reason="make test-latest runs the suite against the newest versions, not the lock",
    )
    def test_this_environment_is_the_lock(self) -> None:
        """`pip freeze` of the environment running the tests equals requirements/test.txt."""
        frozen = subprocess.run(
            [sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--all"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        locked = pins("test.txt")
        installed = {
            canonicalize_name(name): version
            for name, version in PIN.findall(frozen)
            # what `python -m venv` itself puts in, where the lock does not pin it
            if canonicalize_name(name) in locked or name not in {"pip", "setuptools", "wheel"}
        }
        assert installed == locked


class TestVersion:
    def test_the_version_is_the_newest_release_of_the_changelog(self) -> None:
        """The changelog's newest release heading is the version the package reports."""
        changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
        newest = re.search(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.MULTILINE)
        assert newest is not None, "CHANGELOG.md has no release heading such as ## [1.2.3] - date"
        assert __version__ == newest.group(1), "reinstall (make install) after a release heading"


class TestDist:
    def test_sdist_and_wheel_build_and_pass_twine_check(self, tmp_path: Path) -> None:
        """`make dist`'s commands: hatchling builds both, twine check --strict accepts them."""
        bin_dir = Path(sys.executable).parent
        subprocess.run(
            [
                str(bin_dir / "hatchling"),
                "build",
                "-t",
                "sdist",
                "-t",
                "wheel",
                "-d",
                str(tmp_path),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        built = sorted(p.name for p in tmp_path.iterdir())
        assert built == [
            f"power_exporter-{__version__}-py3-none-any.whl",
            f"power_exporter-{__version__}.tar.gz",
        ]
        check = subprocess.run(
            [str(bin_dir / "twine"), "check", "--strict", *map(str, tmp_path.iterdir())],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        wheel = next(tmp_path.glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            names = z.namelist()
        assert "power_exporter/cli.py" in names
        for data in ("static/status.css", "static/status.js", "schema.json"):  # the status page's
            assert f"power_exporter/status/{data}" in names
        assert not [n for n in names if n.startswith(("tests/", "power_exporter/tests"))]
        assert not [n for n in names if "fixtures" in n]
