"""The online model of app-API devices: online, assume offline (nudge), offline."""

from __future__ import annotations

import itertools

import pytest

from power_exporter.sources.ecoflow.online import OnlineModel, Presence


class TestStates:
    def test_silence_walks_through_the_states(self) -> None:
        """300 s of silence: assume offline; 900 s: offline; data: online again."""
        model = OnlineModel(started=0.0)
        assert model.data(1.0) is None  # already online
        assert model.tick(300.0) is None
        assert model.tick(301.5) is Presence.ASSUME_OFFLINE
        assert model.tick(600.0) is None
        assert model.tick(901.0) is Presence.OFFLINE
        assert model.tick(5000.0) is None
        assert model.data(5001.0) is Presence.ONLINE
        assert model.state is Presence.ONLINE

    def test_no_data_at_all_counts_from_the_start(self) -> None:
        """A device never heard of goes the same way, counted from when we began listening."""
        model = OnlineModel(started=100.0, assume_offline_after=3.0, offline_after=5.0)
        assert model.tick(102.0) is None
        assert model.tick(103.0) is Presence.ASSUME_OFFLINE
        assert model.tick(105.0) is Presence.OFFLINE

    def test_cloud_says_offline_at_once(self) -> None:
        """A reply with online 0 makes the device offline at once, and it stays so until data."""
        model = OnlineModel(started=0.0)
        model.data(10.0)
        assert model.cloud_says_offline() is Presence.OFFLINE
        assert model.tick(11.0) is None
        assert model.state is Presence.OFFLINE
        assert model.data(12.0) is Presence.ONLINE
        assert model.tick(13.0) is None

    def test_durations_must_be_ordered(self) -> None:
        """assume_offline_after cannot exceed offline_after."""
        with pytest.raises(ValueError, match="assume_offline_after"):
            OnlineModel(started=0.0, assume_offline_after=10.0, offline_after=5.0)


class TestNudges:
    def test_device_api_asks_a_silent_device_less_and_less(self) -> None:
        """api: device: a nudge at once, then after 30, 60, 120 s... while none is answered.

        Data resets the gap to the interval.
        """
        model = OnlineModel(started=0.0, nudge_every=30.0)
        sent = []
        for now in range(200):
            if model.nudge_due(float(now)):
                model.nudged(float(now))
                sent.append(now)
            if now == 100:
                model.data(100.0)
        assert sent == [0, 30, 90, 130, 160]

    def test_device_api_skips_while_pushes_arrive(self) -> None:
        """Pushes every 2 s: no nudge is ever due."""
        model = OnlineModel(started=0.0, nudge_every=30.0)
        model.nudged(0.0)
        for now in range(2, 600, 2):
            model.data(float(now))
            assert not model.nudge_due(float(now) + 1.0)

    def test_backoff_is_capped_at_assume_offline(self) -> None:
        """A device that never answers is still asked every assume_offline_after (300 s)."""
        model = OnlineModel(started=0.0, nudge_every=30.0)
        sent = []
        for now in range(3000):
            if model.nudge_due(float(now)):
                model.nudged(float(now))
                sent.append(now)
        assert sent[:5] == [0, 30, 90, 210, 450]
        assert {b - a for a, b in itertools.pairwise(sent[4:])} == {300}

    def test_passive_mqtt_nudges_once_per_silence(self) -> None:
        """api: mqtt: one nudge when the device turns assume-offline, and again after new data."""
        model = OnlineModel(started=0.0, assume_offline_after=300.0, offline_after=900.0)
        sent = []
        for now in range(0, 2000, 10):
            model.tick(float(now))
            if model.nudge_due(float(now)):
                model.nudged(float(now))
                sent.append(now)
            if now == 1000:
                model.data(1000.0)
        assert sent == [300, 1300]
