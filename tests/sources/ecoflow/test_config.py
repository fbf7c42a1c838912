"""source: ecoflow in the configuration file, and seed 002's environment variables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.config import from_environment, load
from power_exporter.errors import ConfigError
from power_exporter.sources.ecoflow.config import EcoflowConfig

if TYPE_CHECKING:
    from pathlib import Path

SN = "R331ZEB4ZEAL0001"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _load_one(tmp_path: Path, body: str) -> EcoflowConfig:
    config = load(_write(tmp_path / "config.yaml", "devices:\n" + body))
    (device,) = config.devices
    assert isinstance(device, EcoflowConfig)
    return device


class TestFile:
    """Keys, defaults and errors of the YAML configuration."""

    def test_minimal_rest(self, tmp_path: Path) -> None:
        """Defaults: api rest, EcoFlow's EU host, the seed's 10 s interval and prefix."""
        device = _load_one(
            tmp_path,
            f"  - {{name: garage, source: ecoflow, serial: {SN}, access_key: a, secret_key: b}}\n",
        )
        assert device.api == "rest"
        assert device.base_url == "https://api-e.ecoflow.com"
        assert device.interval == 10.0
        assert device.metrics_prefix == "ecoflow"
        assert device.developer_keys() == ("a", "b")

    def test_secret_files_relative_to_the_config(self, tmp_path: Path) -> None:
        """*_file paths are read relative to the configuration file, newline stripped."""
        _write(tmp_path / "ak", "file-access\n")
        _write(tmp_path / "sk", "file-secret\n")
        device = _load_one(
            tmp_path,
            f"  - name: g\n    source: ecoflow\n    serial: '*'\n    access_key_file: ak\n"
            f"    secret_key_file: {tmp_path / 'sk'}\n    host: api-a.ecoflow.com\n",
        )
        assert device.developer_keys() == ("file-access", "file-secret")
        assert device.base_url == "https://api-a.ecoflow.com"

    def test_url_host_is_used_as_is(self, tmp_path: Path) -> None:
        """A full URL (a proxy, a test server) is the base URL."""
        device = _load_one(
            tmp_path,
            "  - {name: g, source: ecoflow, serial: X1, access_key: a, secret_key: b,"
            " host: 'http://127.0.0.1:8080/'}\n",
        )
        assert device.base_url == "http://127.0.0.1:8080"

    @pytest.mark.parametrize(
        ("keys", "field", "message"),
        [
            ("access_key: a", "devices[0]", "needs secret_key"),
            ("access_key: a, secret_key: b, user: me, password: p", "devices[0]", "both set"),
            (
                "access_key: a, access_key_file: /nonexistent, secret_key: b",
                "devices[0].access_key_file",
                "cannot read",
            ),
            ("api: device, user: me", "devices[0]", "needs user and password"),
            ("access_key: a, secret_key: b, broker: 'h:1'", "devices[0]", "broker"),
            ("access_key: a, secret_key: b, host: 'ftp://x'", "devices[0].host", "host name"),
            (
                "access_key: a, secret_key: b, metrics_prefix: '1x'",
                "devices[0].metrics_prefix",
                "pattern",
            ),
            ("access_key: a, secret_key: b, http_timeout: 60s", "devices[0]", "http_timeout"),
            ("access_key: a, secret_key: b, api: cloud", "devices[0].api", "rest"),
            (
                "access_key: a, secret_key: b, devices_json: nope.json",
                "devices[0].devices_json",
                "no such file",
            ),
            ("access_key: a, secret_key: b, colour: red", "devices[0].colour", "unknown key"),
        ],
    )
    def test_errors(self, tmp_path: Path, keys: str, field: str, message: str) -> None:
        """Each mistake is a ConfigError naming the file, the line and the field."""
        with pytest.raises(ConfigError, match=message) as info:
            _load_one(tmp_path, f"  - {{name: g, source: ecoflow, serial: X1, {keys}}}\n")
        assert info.value.file is not None
        assert info.value.file.endswith("config.yaml")
        assert info.value.line == 2
        assert info.value.field == field

    def test_device_name_needs_one_serial(self, tmp_path: Path) -> None:
        """device_name cannot name every device of an account."""
        with pytest.raises(ConfigError, match="device_name"):
            _load_one(
                tmp_path,
                "  - {name: g, source: ecoflow, serial: '*', access_key: a, secret_key: b,"
                " device_name: x}\n",
            )

    def test_account_keys_for_the_app_apis(self, tmp_path: Path) -> None:
        """api: mqtt/device take user/password(_file)/broker; the login host defaults apart."""
        _write(tmp_path / "pw", "hunter2\n")
        device = _load_one(
            tmp_path,
            "  - {name: g, source: ecoflow, serial: X1, api: mqtt, user: me@example.com,"
            " password_file: pw, broker: 'mqtt.ecoflow.com:8883'}\n",
        )
        assert device.account_password() == "hunter2"
        assert device.base_url == "https://api.ecoflow.com"


class TestEnvironment:
    """Without a file, seed 002's variables configure one device named by its serial."""

    def test_seed_variables(self, tmp_path: Path) -> None:
        """Every variable lands on its key; EXPORTER_PORT and LOG_LEVEL too."""
        devices_json = _write(
            tmp_path / "devices.json", '[{"sn": "R33", "name": "D2", "generalKey": "k"}]'
        )
        environ = {
            "ECOFLOW_DEVICE_SN": SN,
            "ECOFLOW_ACCESS_KEY": "ak",
            "ECOFLOW_SECRET_KEY": "sk",
            "ECOFLOW_API_HOST": "api-a.ecoflow.com",
            "EXPORTER_PORT": "9090",
            "METRICS_PREFIX": "solar",
            "COLLECTING_INTERVAL": "30",
            "RETRY_TIMEOUT": "30",
            "ESTABLISH_ATTEMPTS": "5",
            "HTTP_TIMEOUT": "25",
            "HTTP_RETRIES": "4",
            "HTTP_BACKOFF_FACTOR": "1.5",
            "DEVICE_LIST_CACHE_TTL": "120",
            "ECOFLOW_DEVICE_NAME": "Garage",
            "ECOFLOW_PRODUCT_NAME": "DELTA 2",
            "ECOFLOW_DEVICE_GENERAL_KEY": "my_key",
            "ECOFLOW_DEVICES_JSON": str(devices_json),
            "LOG_LEVEL": "DEBUG",
        }
        config = from_environment(environ)
        (device,) = config.devices
        assert isinstance(device, EcoflowConfig)
        assert device.name == SN
        assert device.serial == SN
        assert device.api == "rest"
        assert device.developer_keys() == ("ak", "sk")
        assert device.base_url == "https://api-a.ecoflow.com"
        assert device.metrics_prefix == "solar"
        assert device.interval == 30.0
        assert (device.http_timeout, device.http_retries, device.http_backoff_factor) == (
            25.0,
            4,
            1.5,
        )
        assert device.timeout == 35.0
        assert device.device_list_cache_ttl == 120.0
        assert (device.device_name, device.product_name, device.device_general_key) == (
            "Garage",
            "DELTA 2",
            "my_key",
        )
        assert device.devices_json == str(devices_json)
        assert config.settings.listen == ":9090"
        assert config.settings.log_level == "debug"

    def test_seed_001_prefix_spelling(self) -> None:
        """Seed 001's METRICTS_PREFIX works; METRICS_PREFIX wins over it."""
        environ = {
            "ECOFLOW_DEVICE_SN": SN,
            "ECOFLOW_ACCESS_KEY": "ak",
            "ECOFLOW_SECRET_KEY": "sk",
            "METRICTS_PREFIX": "old",
        }
        (device,) = from_environment(environ).devices
        assert isinstance(device, EcoflowConfig)
        assert device.metrics_prefix == "old"
        (device,) = from_environment({**environ, "METRICS_PREFIX": "new"}).devices
        assert isinstance(device, EcoflowConfig)
        assert device.metrics_prefix == "new"

    def test_nothing_set(self) -> None:
        """No ECOFLOW_DEVICE_SN, no EcoFlow device: nothing to serve, said so."""
        with pytest.raises(ConfigError, match="no devices configured"):
            from_environment({"ECOFLOW_ACCESS_KEY": "ak"})

    def test_keys_and_account_both_set(self) -> None:
        """Developer keys and account credentials together: seed 002's conflict, clearly."""
        environ = {
            "ECOFLOW_DEVICE_SN": SN,
            "ECOFLOW_ACCESS_KEY": "ak",
            "ECOFLOW_SECRET_KEY": "sk",
            "ECOFLOW_ACCOUNT_USER": "me@example.com",
            "ECOFLOW_ACCOUNT_PASSWORD": "pw",
        }
        with pytest.raises(ConfigError, match="both set") as info:
            from_environment(environ)
        assert "pw" not in str(info.value)
        assert "sk" not in str(info.value).replace("secret_key", "")

    def test_account_variables_pick_the_app_api(self) -> None:
        """Account credentials: ECOFLOW_API_TYPE (default mqtt), as in seed 002."""
        environ = {
            "ECOFLOW_DEVICE_SN": SN,
            "ECOFLOW_ACCOUNT_USER": "me@example.com",
            "ECOFLOW_ACCOUNT_PASSWORD": "pw",
        }
        (device,) = from_environment(environ).devices
        assert isinstance(device, EcoflowConfig)
        assert device.api == "mqtt"
        (device,) = from_environment({**environ, "ECOFLOW_API_TYPE": "Device"}).devices
        assert isinstance(device, EcoflowConfig)
        assert device.api == "device"

    def test_bad_value(self) -> None:
        """A bad number is a ConfigError naming the key."""
        environ = {
            "ECOFLOW_DEVICE_SN": SN,
            "ECOFLOW_ACCESS_KEY": "ak",
            "ECOFLOW_SECRET_KEY": "sk",
            "HTTP_RETRIES": "many",
        }
        with pytest.raises(ConfigError, match="http_retries"):
            from_environment(environ)
