"""The ``snmp`` source: one UPS or PDU network card per device, read with GETBULK walks.

A read first learns the agent's profile (``profile: auto``: sysObjectID, sysDescr and
whether it serves the UPS-MIB, in one GET) and keeps it, then walks just the subtrees that
profile needs, all at once, one cursor each. Every device shares one pysnmp engine
(:data:`~.engine.ENGINES`), held while the source is open; a gate on it bounds the reads in
flight, so a thousand devices polled together do not flood the socket.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Self

from power_exporter.errors import ConnectError, SourceError
from power_exporter.sources.monotonic import Totals
from power_exporter.sources.snmp.config import (
    AUTO_PROFILE,
    SCHEME,
    WELL_KNOWN_COMMUNITY,
    SnmpConfig,
    target_config,
)
from power_exporter.sources.snmp.engine import ENGINES, Agent, EngineHolder
from power_exporter.sources.snmp.profiles import (
    PROFILES,
    SYS_DESCR,
    SYS_OBJECT_ID,
    UPS_IDENT_MANUFACTURER,
    choose,
)
from power_exporter.sources.snmp.reading import build_reading

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Sequence
    from types import TracebackType

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig
    from power_exporter.sources.snmp.columns import Profile

log = logging.getLogger(__name__)


class SnmpSource:
    """A polled source reading one SNMP agent."""

    def __init__(self, cfg: SnmpConfig, engines: EngineHolder = ENGINES) -> None:
        self.cfg = cfg
        self._engines = engines
        self._agent: Agent | None = None
        self._gate: asyncio.Semaphore | None = None
        self._profile: Profile | None = (
            None if cfg.profile == AUTO_PROFILE else PROFILES[cfg.profile]
        )
        self._sys_descr = ""
        self._dropped: frozenset[str] = frozenset()
        self._totals = Totals()  # energy totals (rack PDUs), carried over the card's resets

    async def __aenter__(self) -> Self:
        if self._agent is not None:
            raise RuntimeError("SnmpSource is not reentrant")
        engine, self._gate = self._engines.acquire()
        self._agent = Agent(self.cfg, engine)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._agent is not None:
            self._agent = None
            self._gate = None
            self._engines.release()

    @property
    def agent(self) -> Agent:
        """This device's agent (only inside ``async with``)."""
        if self._agent is None or self._gate is None:
            raise RuntimeError("use SnmpSource inside 'async with'")
        return self._agent

    @property
    def profile(self) -> Profile | None:
        """The profile in use, once known."""
        return self._profile

    async def detect(self) -> Profile:
        """Learn (once) which profile the agent speaks, and its sysDescr."""
        agent = self.agent
        if self._profile is None or not self._sys_descr:
            found = await agent.get([SYS_OBJECT_ID, SYS_DESCR, UPS_IDENT_MANUFACTURER])
            descr = found.get(SYS_DESCR)
            self._sys_descr = descr if isinstance(descr, str) else ""
            if self._profile is None:
                sys_object_id = found.get(SYS_OBJECT_ID)
                self._profile = choose(
                    sys_object_id if isinstance(sys_object_id, str) else None,
                    found.get(UPS_IDENT_MANUFACTURER) is not None,
                )
                log.info(
                    "%s: agent at %s (sysObjectID %s) read with profile %s",
                    self.cfg.name,
                    agent.where,
                    sys_object_id,
                    self._profile.name,
                )
        return self._profile

    def _forget_profile(self) -> None:
        """After a failed read, detect again (unless ``profile:`` names one)."""
        self._sys_descr = ""
        if self.cfg.profile == AUTO_PROFILE:
            self._profile = None

    async def read(self) -> Sequence[Event]:
        """One poll of the agent: a Reading, or a SourceError for the runtime."""
        if self._gate is None:
            raise RuntimeError("use SnmpSource inside 'async with'")
        agent = self.agent
        await agent.prepare()
        # The agent's budget starts with the read's turn at the gate: a read queued behind a
        # large fleet's first poll is not charged for the others' time (the runtime's own
        # timeout still bounds the whole read).
        async with self._gate:
            with agent.budget():
                try:
                    profile = await self.detect()
                    walk = await agent.walk(profile.subtrees)
                except SourceError:
                    self._forget_profile()  # the card may come back as another one
                    raise
        reading, problems = build_reading(
            self.cfg.name,
            profile,
            walk,
            time.time(),
            self._sys_descr,
            raw=self.cfg.raw,
            totals=self._totals,
        )
        dropped = frozenset(problems)
        if dropped and dropped != self._dropped:
            log.info("%s: implausible values left out: %s", self.cfg.name, "; ".join(problems))
        self._dropped = dropped
        return [reading]


def open_source(cfg: DeviceConfig) -> SnmpSource:
    """Open an SnmpSource (the registry's ``open``) for an SnmpConfig."""
    if not isinstance(cfg, SnmpConfig):
        raise TypeError(f"the snmp kind needs an SnmpConfig, not {type(cfg).__name__}")
    return SnmpSource(cfg)


async def discover(where: str | None) -> list[dict[str, object]]:
    """``power-exporter discover snmp://[community@]host[:port]``: a config snippet.

    The snippet names the detected profile. A community other than ``public`` is not
    printed: it becomes ``${SNMP_COMMUNITY}``, to be set in the environment.
    """
    if where is None or not where.startswith(f"{SCHEME}://"):
        return []
    try:
        config = target_config(where)
    except ValueError as exc:
        raise ConnectError(str(exc)) from None
    cfg = SnmpConfig.model_validate({**config, "timeout": 5.0})
    async with SnmpSource(cfg) as source:
        profile = await source.detect()
    community = cfg.secret("community")
    del config["raw"]  # the snippet keeps the default: power_* only
    config["profile"] = profile.name
    config["community"] = community if community == WELL_KNOWN_COMMUNITY else "${SNMP_COMMUNITY}"
    return [config]
