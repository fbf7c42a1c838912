"""Fixtures: real apcupsd daemons (test, pcnet and net drivers), started per test or module."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.sources.apcupsd.config import ApcupsdConfig
from tests.peers.apcupsd import Apcupsd

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


def apcupsd_config(**keys: object) -> ApcupsdConfig:
    """Validate an apcupsd device config as the loader would (a dict from YAML)."""
    return ApcupsdConfig.model_validate({"name": "ups", "source": "apcupsd", **keys})


@pytest.fixture(scope="module")
def test_driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apcupsd]:
    """One apcupsd with the test driver (fixed values), shared by a module."""
    daemon = Apcupsd(tmp_path_factory.mktemp("apcupsd-test"))
    try:
        yield daemon.start()
    finally:
        daemon.stop()


@pytest.fixture
def apcupsd(tmp_path: Path) -> Iterator[Callable[..., Apcupsd]]:
    """Start apcupsd instances of our own, for tests that stop them or drive them."""
    started: list[Apcupsd] = []

    def make(upstype: str = "test", *, upsname: str = "testups", device: str = "") -> Apcupsd:
        folder = tmp_path / f"apcupsd{len(started)}"
        daemon = Apcupsd(folder, upstype=upstype, upsname=upsname, device=device)
        started.append(daemon)
        return daemon.start()

    try:
        yield make
    finally:
        for daemon in reversed(started):
            daemon.stop()
