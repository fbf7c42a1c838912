"""Fault injection, short: upsd, then mosquitto, killed under a real, scraped exporter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench import chaos_mqtt
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

    def test_the_exporter_survives_mosquitto_kills(self, tmp_path: Path) -> None:
        """EcoFlow open_mqtt and app mqtt devices come back with new data after each kill."""
        result = chaos_mqtt.chaos(2, tmp_path)
        assert result.alive
        assert result.failures == []
        assert len(result.rounds) == 2
        assert result.takeovers == 0
        assert result.tasks_before > 0
        for round_ in result.rounds:
            assert len(round_.back) == len(chaos_mqtt.SERIALS)  # every device, with new data
            assert round_.fds <= result.fds_before
            assert round_.tasks <= result.tasks_before
