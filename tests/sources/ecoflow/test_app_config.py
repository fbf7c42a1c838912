"""Configuration of ``api: mqtt`` / ``api: device``, and seed 002's environment variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from power_exporter.sources.ecoflow.app_mqtt import AppMqttSource, open_source, parse_broker
from power_exporter.sources.ecoflow.config import EcoflowConfig, from_env

if TYPE_CHECKING:
    from pathlib import Path

BASE: dict[str, object] = {
    "name": "garage",
    "source": "ecoflow",
    "api": "device",
    "serial": "R651PC0CXGCA0798",
    "user": "me@example.com",
    "password": "sentinel-PW-77aa",
}


def config(**keys: object) -> EcoflowConfig:
    return EcoflowConfig.model_validate({**BASE, **keys})


class TestKeys:
    def test_defaults_follow_the_online_model(self) -> None:
        """30 s between requests, assume offline at 300 s, down at 900 s, keepalive 60 s."""
        cfg = config()
        assert cfg.quota_request_interval == 30.0
        assert (cfg.assume_offline_after, cfg.stale_after) == (300.0, 900.0)
        assert (cfg.mqtt_keepalive, cfg.mqtt_timeout, cfg.max_reconnect_delay) == (60, None, 300.0)
        assert cfg.base_url == "https://api.ecoflow.com"  # the app login host, not api-e
        assert "sentinel-PW-77aa" not in repr(cfg)

    def test_broker_with_and_without_scheme(self) -> None:
        """``mqtts://host:port`` and ``host:port`` both name the broker; plain MQTT does not."""
        assert config(broker="mqtts://127.0.0.1:8883").broker == "127.0.0.1:8883"
        assert config(broker="broker.example:1884").broker == "broker.example:1884"
        assert parse_broker("127.0.0.1:18883") == ("127.0.0.1", 18883)
        assert parse_broker("mqtts://broker.example") == ("broker.example", 8883)
        with pytest.raises(ValidationError, match="TLS"):
            config(broker="mqtt://127.0.0.1:1883")

    @pytest.mark.parametrize(
        ("keys", "message"),
        [
            ({"serial": ["R651PC0CXGCA0798", "R651PC0CXGCA0798"]}, "without repeats"),
            ({"serial": [], "api": "mqtt"}, "non-empty"),
            ({"assume_offline_after": "20m"}, "assume_offline_after"),
            ({"password": None}, "needs user and password"),
            ({"access_key": "a", "secret_key": "b"}, "are both set"),
            ({"api": "websocket"}, "api"),
        ],
    )
    def test_bad_entries(self, keys: dict[str, object], message: str) -> None:
        """Each mistake is a validation error that says what is wrong."""
        with pytest.raises(ValidationError, match=message):
            config(**keys)

    def test_password_file(self, tmp_path: Path) -> None:
        """``password_file`` holds the password (its trailing newline dropped)."""
        secret = tmp_path / "password"
        secret.write_text("from-a-file\n", encoding="utf-8")
        cfg = config(password=None, password_file=str(secret))
        assert cfg.account_password() == "from-a-file"

    def test_open_source_by_api(self) -> None:
        """Both account APIs open the app-MQTT source; device mode nudges on an interval."""
        device = open_source(config())
        passive = open_source(config(api="mqtt", user="other@example.com"))
        assert isinstance(device, AppMqttSource)
        assert isinstance(passive, AppMqttSource)
        assert device.device.online.nudge_every == 30.0
        assert passive.device.online.nudge_every is None


class TestEnvironment:
    def test_seed_variables(self) -> None:
        """Seed 002's account variables and timings map onto the entry."""
        environ = {
            "ECOFLOW_DEVICE_SN": "R651PC0CXGCA0798",
            "ECOFLOW_ACCOUNT_USER": "me@example.com",
            "ECOFLOW_ACCOUNT_PASSWORD": "sentinel-PW-77aa",
            "ECOFLOW_API_TYPE": "Device",
            "QUOTA_REQUEST_INTERVAL": "15",
            "MQTT_TIMEOUT": "120",
            "MQTT_KEEPALIVE": "30",
            "IDLE_CHECK_INTERVAL": "5",
            "MAX_RECONNECT_DELAY": "120",
        }
        (entry,) = from_env(environ)
        cfg = EcoflowConfig.model_validate(entry)
        assert (cfg.name, cfg.api, cfg.serial) == ("R651PC0CXGCA0798", "device", cfg.name)
        assert cfg.user == "me@example.com"
        assert cfg.account_password() == "sentinel-PW-77aa"
        assert cfg.quota_request_interval == 15.0
        assert cfg.mqtt_timeout == 120.0
        assert cfg.mqtt_keepalive == 30
        assert cfg.idle_check_interval == 5.0
        assert cfg.max_reconnect_delay == 120.0

    def test_default_api_is_mqtt(self) -> None:
        """Without ECOFLOW_API_TYPE the account is used passively, as in the seed."""
        (entry,) = from_env(
            {
                "ECOFLOW_DEVICE_SN": "R651X",
                "ECOFLOW_ACCOUNT_USER": "u",
                "ECOFLOW_ACCOUNT_PASSWORD": "p",
            }
        )
        assert EcoflowConfig.model_validate(entry).api == "mqtt"

    def test_keys_and_account_together_is_an_error(self) -> None:
        """Developer keys and account credentials both set: a clear error, as in the seed."""
        (entry,) = from_env(
            {
                "ECOFLOW_DEVICE_SN": "R651X",
                "ECOFLOW_ACCESS_KEY": "a",
                "ECOFLOW_SECRET_KEY": "s",
                "ECOFLOW_ACCOUNT_USER": "u",
                "ECOFLOW_ACCOUNT_PASSWORD": "p",
            }
        )
        with pytest.raises(ValidationError, match=r"developer keys .* and account credentials"):
            EcoflowConfig.model_validate(entry)

    def test_unknown_api_type_is_an_error(self) -> None:
        """ECOFLOW_API_TYPE other than mqtt or device is refused."""
        (entry,) = from_env(
            {
                "ECOFLOW_DEVICE_SN": "R651X",
                "ECOFLOW_ACCOUNT_USER": "u",
                "ECOFLOW_ACCOUNT_PASSWORD": "p",
                "ECOFLOW_API_TYPE": "push",
            }
        )
        with pytest.raises(ValidationError, match="api"):
            EcoflowConfig.model_validate(entry)
