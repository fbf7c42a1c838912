"""EcoFlow power stations, through EcoFlow's cloud.

``api: rest`` and ``api: open_mqtt`` use the developer keys of developer.ecoflow.com;
``api: mqtt`` and ``api: device`` the app account. Raw series are named as seeds 001/002
named them (``ecoflow_*``); normalized measures come from per-family tables.
"""

from __future__ import annotations

from functools import partial

from power_exporter.sources.base import SourceKind
from power_exporter.sources.ecoflow.accounts import Accounts
from power_exporter.sources.ecoflow.config import EcoflowConfig, from_env
from power_exporter.sources.ecoflow.naming import NAMING
from power_exporter.sources.ecoflow.source import open_source

KIND = SourceKind(
    name="ecoflow",
    config=EcoflowConfig,
    # One registry per kind: every entry of one account shares the account's session.
    open=partial(open_source, accounts=Accounts()),
    naming=NAMING,
    description="EcoFlow power stations via EcoFlow's cloud (developer API or app account)",
    from_env=from_env,
)

__all__ = ["KIND"]
