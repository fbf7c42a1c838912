"""Fixtures: one real upsd serving every nut-ddl dump for the whole session, and small ones."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from power_exporter.sources.nut.config import NutConfig
from tests.peers.upsd import Tls, Upsd, dumps

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

FIXTURES = Path(__file__).parents[2] / "fixtures" / "nut-ddl"
DUMPS = dumps(FIXTURES)
QUOTED_UPS = "tripp-lite-ups"
QUOTED_DESCRIPTION = 'Tripp Lite 09ae:2012 replay "nut-ddl" C:\\UPS'


def nut_config(**keys: object) -> NutConfig:
    """Validate a NUT device config as the loader would (a dict from YAML)."""
    return NutConfig.model_validate({"name": "rack", "source": "nut", **keys})


@pytest.fixture(scope="session")
def ddl_upsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upsd]:
    """One upsd with a dummy-ups per nut-ddl dump (started once: about 2 s)."""
    upsd = Upsd(
        tmp_path_factory.mktemp("upsd-ddl"),
        dict(DUMPS),
        descriptions={QUOTED_UPS: QUOTED_DESCRIPTION},
    )
    try:
        yield upsd.start()
    finally:
        upsd.stop()


@pytest.fixture
def small_upsd(tmp_path: Path) -> Iterator[Callable[..., Upsd]]:
    """Start small upsd instances of our own, for tests that kill and restart things."""
    started: list[Upsd] = []

    def make(names: list[str], *, tls: Tls | None = None) -> Upsd:
        upsd = Upsd(
            tmp_path / f"upsd{len(started)}", {name: DUMPS[name] for name in names}, tls=tls
        )
        started.append(upsd)
        return upsd.start()

    try:
        yield make
    finally:
        for upsd in started:
            upsd.stop()
