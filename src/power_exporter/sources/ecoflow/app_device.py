"""One device on the app API: its payloads in, its readings and faults out.

Pushes (``/app/device/property/{sn}``) are partial updates; a protobuf ``get_reply`` is a full
snapshot (the cache rule of ``protobuf_families``); a JSON ``latestQuotas`` reply carries the
cloud's ``online`` flag: 0 takes the device down at once (``OfflineError``). Bad payloads are
counted by reason and become ``DeviceFault(DecodeError)``: the runtime counts them and keeps
the device up. The first problem of each kind is logged at WARNING, repeats at DEBUG.

A device that talks is up, even when nothing it says can be decoded (a family whose schema we
do not have): every protobuf envelope counts as data, and what the envelope itself tells is
kept raw (``envelope.messages[func][id]``, the messages seen per command pair, and
``envelope.seq``, the device's message counter), while each header we have no decoder for is
counted as ``read_errors_total{reason="undecoded"}``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Final

from power_exporter.errors import DecodeError, OfflineError
from power_exporter.model import DeviceFault, Reading, checked_measures
from power_exporter.sources.ecoflow import envelope, families, more_families
from power_exporter.sources.ecoflow.energy import EnergyCounters
from power_exporter.sources.ecoflow.envelope import JsonPayload, PayloadError, ProtoPayload
from power_exporter.sources.ecoflow.flatten import flatten
from power_exporter.sources.ecoflow.online import OnlineModel, Presence
from power_exporter.sources.ecoflow.protobuf_families import FieldCache, commands_for, normalize

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.model import DeviceIdentity, Event, Flag, Measure

log = logging.getLogger(__name__)

LATEST_QUOTAS: Final = "latestQuotas"
_LOGGED_LIMIT: Final = 200
_ENVELOPE: Final = "envelope"
_MAX_COMMANDS: Final = 64  # distinct command pairs kept raw per device


class UndecodedError(DecodeError):
    """A message the device sent under a command we have no decoder for (the device is up)."""

    reason = "undecoded"


class AppDevice:
    """The cache, online state and counters of one device of an app-API stream."""

    def __init__(
        self,
        name: str,
        serial: str,
        identity: DeviceIdentity,
        family: str | None,
        online: OnlineModel,
        *,
        keep_for: float,
    ) -> None:
        self.name = name
        self.serial = serial
        self.identity = identity
        self.family = family
        self.online = online
        self.cache = FieldCache(keep_for=keep_for)
        self.commands = commands_for(serial)
        self.counts: Counter[str] = Counter()
        self.protobuf: bool | None = None  # what the device has been seen to send
        self._commands: Counter[tuple[int, int]] = Counter()
        self.energy = EnergyCounters()
        self._logged: set[str] = set()

    # -- payloads in --------------------------------------------------------------------

    def on_payload(self, payload: bytes, *, reply: bool, now: float) -> list[Event]:
        """Decode and merge one payload; the events it makes (a reading, or a fault)."""
        self.counts["messages"] += 1
        try:
            decoded = envelope.decode(payload, self.commands)
        except PayloadError as exc:
            return [self._bad(exc.why, exc)]
        if isinstance(decoded, ProtoPayload):
            return self._on_proto(decoded, reply=reply, now=now)
        return self._on_json(decoded, reply=reply, now=now)

    def _on_proto(self, decoded: ProtoPayload, *, reply: bool, now: float) -> list[Event]:
        self.protobuf = True
        events: list[Event] = []
        for problem in decoded.problems:
            self.counts[problem.why] += 1
            detail = f"{problem.why} {problem.header.cmd_func}/{problem.header.cmd_id}"
            self._once(detail, "%s: %s", self.name, problem.detail)
            if problem.why == "unknown_command":
                events.append(DeviceFault(self.name, UndecodedError(problem.detail)))
            else:
                events.append(self._bad(problem.why, DecodeError(problem.detail)))
        self.cache.merge(_ENVELOPE, self._envelope(decoded), {}, now)
        self.cache.merge_sections(decoded.sections, now, full=reply)
        return [*self._data(now), *events]

    def _envelope(self, decoded: ProtoPayload) -> dict[str, float]:
        """What the envelope's headers tell by themselves (a device whose schema we lack)."""
        for info in decoded.headers:
            if info.cmd in self._commands or len(self._commands) < _MAX_COMMANDS:
                self._commands[info.cmd] += 1
        values = {
            f"{_ENVELOPE}.messages[{func}][{cmd}]": float(count)
            for (func, cmd), count in self._commands.items()
        }
        if decoded.headers:
            values[f"{_ENVELOPE}.seq"] = float(decoded.headers[-1].seq)
        return values

    def _on_json(self, decoded: JsonPayload, *, reply: bool, now: float) -> list[Event]:
        self.protobuf = False
        document = decoded.document
        if reply:
            if document.get("operateType") != LATEST_QUOTAS:
                self.counts["other_reply"] += 1
                return []
            data = document.get("data")
            if not isinstance(data, dict):
                return [self._bad("json", DecodeError("latestQuotas reply without data"))]
            if str(data.get("online", "1")) == "0":
                return self._cloud_offline()
            params = data.get("quotaMap")
        else:
            params = document.get("params", document.get("param"))
        if not isinstance(params, dict):
            return [self._bad("json", DecodeError("JSON payload without a params object"))]
        try:
            flat = flatten(params)
        except DecodeError as exc:
            return [self._bad("json", exc)]
        by_scope: dict[str, tuple[dict[str, float], dict[str, str]]] = {}
        for key, number in flat.numbers.items():
            by_scope.setdefault(key.split(".", 1)[0], ({}, {}))[0][key] = number
        for key, text in flat.text.items():
            by_scope.setdefault(key.split(".", 1)[0], ({}, {}))[1][key] = text
        for scope, (numbers, texts) in by_scope.items():
            self.cache.merge(f"json:{scope}", numbers, texts, now)
        return self._data(now)

    def _cloud_offline(self) -> list[Event]:
        if self.online.cloud_says_offline() is not None:
            log.info("%s: EcoFlow says %s is offline", self.name, self.serial)
        return [DeviceFault(self.name, OfflineError(f"EcoFlow says {self.serial} is offline"))]

    def _data(self, now: float) -> list[Event]:
        if self.online.data(now) is Presence.ONLINE:
            log.info("%s: data again from %s", self.name, self.serial)
        return [self.reading()]

    def _bad(self, why: str, error: DecodeError) -> Event:
        self.counts[why] += 1
        self._once(why, "%s: dropped a payload (%s): %s", self.name, why, error)
        return DeviceFault(self.name, error)

    def _once(self, key: str, message: str, *args: object) -> None:
        """WARNING the first time a kind of problem shows, DEBUG after (transitions, not floods)."""
        first = key not in self._logged and len(self._logged) < _LOGGED_LIMIT
        self._logged.add(key)
        log.log(logging.WARNING if first else logging.DEBUG, message, *args)

    # -- the clock ----------------------------------------------------------------------

    def tick(self, now: float) -> list[Event]:
        """Apply the clock: the cache's window and the online model's transitions."""
        self.cache.expire(now)
        change = self.online.tick(now)
        if change is Presence.ASSUME_OFFLINE:
            log.info(
                "%s: no data from %s for %.0f s: assumed offline, values kept",
                self.name,
                self.serial,
                self.online.silence(now),
            )
        elif change is Presence.OFFLINE and not self.online.cloud_offline:
            silence = self.online.silence(now)
            log.info("%s: no data from %s for %.0f s: offline", self.name, self.serial, silence)
            error = OfflineError(f"no data from {self.serial} for {silence:.0f} s")
            return [DeviceFault(self.name, error)]
        return []

    # -- readings out -------------------------------------------------------------------

    def reading(self) -> Reading:
        """The device's current values as a Reading."""
        raw = self.cache.values()
        measures: Mapping[Measure, float]
        flags: frozenset[Flag] = frozenset()
        known: frozenset[Flag] = frozenset()
        problems: list[str] = []
        normalized = normalize(self.serial, raw) if self.protobuf else None
        if normalized is not None:
            measures, flags, known = normalized.measures, normalized.flags, normalized.known_flags
            problems = list(normalized.problems)
        else:
            family = more_families.family_for(self.family, raw)
            if family is None:
                measures = {}
            else:
                measures, problems = checked_measures(families.measures(family, raw), "ecoflow")
                flags, known = families.flags(family, raw)
        # energy totals only of a device whose tables we know, as every other measure
        family = more_families.family_for(self.family, raw)
        tabled = normalized is not None or family is not None
        totals = self.energy.measures(self.serial, raw) if tabled else {}
        energy, energy_problems = checked_measures(totals.items(), "ecoflow")
        for problem in [*problems, *energy_problems]:
            self._once(f"measure {problem.split(':', 1)[0]}", "%s: dropped %s", self.name, problem)
        return Reading(
            identity=self.identity,
            taken_at=time.time(),
            measures={**measures, **energy},
            labelled=more_families.all_labelled(family, raw) if tabled else {},
            flags=flags,
            known_flags=known,
            raw=raw,
            text=self.cache.texts(),
        )
