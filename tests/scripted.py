"""A scripted source kind for testing the core (runtime, store, HTTP) on its own.

Each configured device looks up its script by name: a list of steps, each a list of events
to return from ``read()`` or an exception to raise. The script repeats its last step.
Real protocols are tested against real peers in tests/sources/.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Self

from power_exporter.model import DeviceIdentity, Flag, Measure, Reading
from power_exporter.sources.base import DeviceConfig, SourceKind

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from types import TracebackType

    from power_exporter.model import Event

Step = list["Event"] | BaseException


@dataclass
class Script:
    """What a scripted device does, and what was asked of it."""

    steps: list[Step]
    reads: int = 0
    opens: int = 0
    closes: int = 0
    stream: bool = False
    ends: bool = False  # a stream that ends after its steps, rather than waiting
    position: int = field(default=0)
    instances: list[object] = field(default_factory=list)
    # What the runtime handed over with ``restrict`` (sharded fan-out entries only).
    owns: list[Callable[[str], bool]] = field(default_factory=list)

    def next_step(self) -> Step:
        step = self.steps[min(self.position, len(self.steps) - 1)]
        self.position += 1
        return step


SCRIPTS: dict[str, Script] = {}


class ScriptedConfig(DeviceConfig):
    """A device that follows its script."""

    source: Literal["scripted"] = "scripted"
    fan_out: bool = False  # the entry's devices are <name>/<sub> (sharded per device)
    listed: tuple[str, ...] | None = None  # a fan-out entry's devices, known from the config

    @property
    def fans_out(self) -> bool:
        """As ``fan_out`` says."""
        return self.fan_out

    @property
    def fan_out_devices(self) -> frozenset[str] | None:
        """As ``listed`` says."""
        return None if self.listed is None else frozenset(self.listed)


class ScriptedSource:
    """Polled or streaming, as the script says."""

    def __init__(self, cfg: ScriptedConfig) -> None:
        self.script = SCRIPTS[cfg.name]
        self.script.instances.append(self)

    async def __aenter__(self) -> Self:
        self.script.opens += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.script.closes += 1

    def restrict(self, owns: Callable[[str], bool]) -> None:
        self.script.owns.append(owns)

    async def read(self) -> Sequence[Event]:
        self.script.reads += 1
        step = self.script.next_step()
        if isinstance(step, BaseException):
            raise step
        return step


class ScriptedStream(ScriptedSource):
    """The streaming flavour: yields each step's events, raises its exceptions."""

    async def stream(self) -> AsyncIterator[Event]:
        while self.script.position < len(self.script.steps):
            step = self.script.next_step()
            if isinstance(step, BaseException):
                raise step
            for event in step:
                yield event
        if not self.script.ends:
            await asyncio.Event().wait()


def _open(cfg: DeviceConfig) -> ScriptedSource:
    assert isinstance(cfg, ScriptedConfig)
    script = SCRIPTS[cfg.name]
    return ScriptedStream(cfg) if script.stream else ScriptedSource(cfg)


KIND = SourceKind(name="scripted", config=ScriptedConfig, open=_open)
KINDS = {"scripted": KIND}


def reading(
    name: str, charge: float = 0.5, *, online: bool = True, taken_at: float | None = None
) -> Reading:
    """A plausible UPS reading."""
    return Reading(
        identity=DeviceIdentity(name=name, source="scripted", vendor="ACME", model="X1"),
        taken_at=time.time() if taken_at is None else taken_at,
        measures={Measure.BATTERY_CHARGE: charge, Measure.INPUT_VOLTAGE: 230.0},
        flags=frozenset({Flag.ONLINE} if online else {Flag.ON_BATTERY}),
        known_flags=frozenset({Flag.ONLINE, Flag.ON_BATTERY}),
    )


def config(name: str, **kwargs: object) -> ScriptedConfig:
    """A scripted device config with short timings."""
    values: dict[str, object] = {"name": name, "interval": 0.05, "timeout": 0.5}
    values.update(kwargs)
    return ScriptedConfig.model_validate(values)
