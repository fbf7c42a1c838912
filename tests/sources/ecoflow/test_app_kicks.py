"""The app hub's takeover detector: short sessions in a row mean another client, not an outage.

A broker that drops our session soon after each connect while it stays reachable is another
client with our client id taking the session over: after KICKS_BEFORE_BACKOFF of them the hub
backs off and says so. A broker that cannot be reached at all (killed, restarting) is an
outage: it resets the count, so quick broker restarts never look like a takeover.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pydantic import SecretStr

from power_exporter.sources.ecoflow import app_hub
from power_exporter.sources.ecoflow.account import AppAccount, MqttCredentials
from power_exporter.sources.ecoflow.config import EcoflowConfig

if TYPE_CHECKING:
    import pytest

CREDS = MqttCredentials(
    host="127.0.0.1", port=8883, username="u", password="p", user_id="1", client_id="ANDROID_x_1"
)


def hub() -> app_hub.AppHub:
    cfg = EcoflowConfig.model_validate(
        {
            "name": "garage",
            "source": "ecoflow",
            "api": "mqtt",
            "serial": "R651PC0CXGCA0798",
            "user": "me@example.com",
            "password": "pw",
            "max_reconnect_delay": "60s",
        }
    )
    return app_hub.AppHub(AppAccount("https://127.0.0.1", "me@example.com", SecretStr("pw")), cfg)


def dropped(h: app_hub.AppHub, lasted: float, *, established: bool, delay: float = 1.0) -> float:
    h._established = established
    return h._next_delay(lasted, delay, CREDS)


class TestKicks:
    def test_short_sessions_back_off_and_warn_once(self, caplog: pytest.LogCaptureFixture) -> None:
        """Sessions closed within SHORT_SESSION, the broker reachable: a takeover, backed off."""
        h = hub()
        caplog.set_level(logging.DEBUG)
        delays = [dropped(h, 1.0, established=True) for _ in range(app_hub.KICKS_BEFORE_BACKOFF)]
        assert delays[-1] >= app_hub.KICK_BACKOFF[0]
        assert all(d <= 60 for d in delays[:-1])
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "taking the session over" in warnings[0].getMessage()
        assert "me@example.com" not in caplog.text  # the user is masked

    def test_a_broker_outage_between_short_sessions_is_not_a_takeover(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Short sessions, each followed by an unreachable broker: no backoff, no warning."""
        h = hub()
        for _ in range(10):  # the broker killed a few seconds after each connect, then restarting
            assert dropped(h, 2.0, established=True) <= 60
            assert dropped(h, 0.01, established=False) <= 60
        assert h._kicks == 0
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    def test_a_long_session_resets_the_count(self) -> None:
        """A session that lasted resets the detector."""
        h = hub()
        dropped(h, 1.0, established=True)
        dropped(h, 1.0, established=True)
        assert dropped(h, app_hub.SHORT_SESSION + 1, established=True) == app_hub.FIRST_RECONNECT
        assert h._kicks == 0
