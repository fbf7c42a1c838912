"""Fixtures: one snmpsim serving every recording of tests/fixtures/snmp for the session."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from power_exporter.sources.snmp.config import SnmpConfig
from tests.peers.snmpsim import FIXTURES, V3_AUTH_KEY, V3_PRIV_KEY, V3_USER, start_snmpsim

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.peers.snmpsim import Snmpsim

RECORDINGS = sorted(FIXTURES.glob("*.snmprec"))
APC = "librenms_apc_smt750x-nmc2"


@pytest.fixture(scope="session")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpsim]:
    """Snmpsim with every recording, a community (and v3 context) each."""
    sim = start_snmpsim(tmp_path_factory.mktemp("snmpsim"), RECORDINGS, wait_for=APC)
    try:
        yield sim
    finally:
        sim.stop()


def v2c(sim: Snmpsim, community: str, **keys: object) -> SnmpConfig:
    """A v2c device config for one recording of the simulator."""
    return SnmpConfig.model_validate(
        {"name": "card", "source": "snmp", "host": sim.host, "community": community, **keys}
    )


def v3(sim: Snmpsim, context: str, **keys: object) -> SnmpConfig:
    """A v3 authPriv (SHA-256, AES-128) device config for one recording."""
    return SnmpConfig.model_validate(
        {
            "name": "card",
            "source": "snmp",
            "host": sim.host,
            "version": "3",
            "username": V3_USER,
            "auth_protocol": "SHA256",
            "auth_key": V3_AUTH_KEY,
            "priv_protocol": "AES",
            "priv_key": V3_PRIV_KEY,
            "context": context,
            **keys,
        }
    )
