"""Fixtures of the EcoFlow tests: the fake cloud, a test CA, a mosquitto broker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.sources.ecoflow.config import EcoflowConfig
from tests.peers.mosquitto import Mosquitto, TlsFiles, make_tls
from tests.sources.ecoflow.fake_cloud import FakeCloud

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

# The developer MQTT account the fake cloud certifies (a user of the broker).
MQTT_ACCOUNT = "open-test-account"
MQTT_PASSWORD = "open-test-password"


@pytest.fixture
async def cloud() -> AsyncIterator[FakeCloud]:
    """The fake developer API on 127.0.0.1, plain HTTP."""
    async with FakeCloud() as fake:
        yield fake


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A test CA and a certificate for localhost / 127.0.0.1."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[Mosquitto]:
    """One mosquitto for the session; tests keep apart by serial number."""
    with Mosquitto(
        tmp_path_factory.mktemp("mosquitto"), users={MQTT_ACCOUNT: MQTT_PASSWORD}, tls=tls
    ) as running:
        yield running


def config(cloud: FakeCloud, **keys: object) -> EcoflowConfig:
    """A REST configuration pointing at the fake cloud."""
    data: dict[str, object] = {
        "name": "station",
        "source": "ecoflow",
        "serial": "R331ZEB4ZEAL0001",
        "access_key": cloud.access_key,
        "secret_key": cloud.secret_key,
        "host": cloud.url,
        "http_retries": 2,
        "http_backoff_factor": 0.01,
        "http_timeout": 2,
    }
    data.update(keys)
    return EcoflowConfig.model_validate(data)
