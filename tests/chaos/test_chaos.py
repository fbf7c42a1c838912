"""Fault injection, short: upsd killed three times under a real, scraped exporter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.chaos import chaos

if TYPE_CHECKING:
    from pathlib import Path


class TestChaos:
    def test_the_exporter_survives_upsd_kills(self, tmp_path: Path) -> None:
        """Every scrape answers; devices go down and up each round; fds and tasks stay flat."""
        result = chaos(3, tmp_path)
        assert result.alive
        assert result.failures == []
        assert result.scrapes > 50
        assert len(result.rounds) == 3
        assert result.tasks_before > 0
        for round_ in result.rounds:
            assert round_.fds <= result.fds_before
            assert round_.tasks <= result.tasks_before
