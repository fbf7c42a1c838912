"""Sharding: which replica of a fleet owns which device.

Replicas sharing one configuration split its devices by rendezvous (highest random weight)
hashing of the device name: every shard scores the name with BLAKE2b, and the highest score
owns it. The owner depends on the name and the number of shards only, so every replica
agrees without talking to the others, and adding an M-th shard moves only the devices the
new shard now wins, about 1/M of them (a modulo hash would move nearly all).

An entry that names one device is run by the replica that owns its name; the others never
open it. An entry that fans out (``ups: "*"``) is opened by every replica, each keeping the
devices it owns: the runtime hands a source that implements ``ShardAware`` the ``owns``
predicate, so it lists its devices but reads only its own, and drops the events of others
as a safety net.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from power_exporter.errors import ConfigError
from power_exporter.model import Roster

if TYPE_CHECKING:
    from collections.abc import Mapping

    from power_exporter.model import Event

ENV_SHARD: Final = "POWER_EXPORTER_SHARD"
ENV_TOTAL: Final = "POWER_EXPORTER_TOTAL_SHARDS"
ENV_PEERS: Final = "POWER_EXPORTER_SHARD_PEERS"
# A StatefulSet's pod name (and so its hostname) ends in its ordinal: power-exporter-2.
_ORDINAL: Final = re.compile(r"-(\d+)$")


@lru_cache(maxsize=1 << 17)
def owner(name: str, total: int) -> int:
    """The shard, out of ``total``, that owns the device ``name``."""
    if total <= 1:
        return 0
    key = name.encode()
    scores = [
        hashlib.blake2b(b"%d\0%b" % (shard, key), digest_size=8).digest() for shard in range(total)
    ]
    return scores.index(max(scores))


@dataclass(frozen=True, slots=True)
class Shard:
    """This replica's place in the fleet: shard ``index`` of ``total``."""

    index: int = 0
    total: int = 1

    def __post_init__(self) -> None:
        if self.total < 1:
            raise ValueError(f"total_shards must be at least 1, not {self.total}")
        if not 0 <= self.index < self.total:
            raise ValueError(f"shard {self.index} is not within 0..{self.total - 1}")

    @property
    def sharded(self) -> bool:
        """Whether there is more than one replica."""
        return self.total > 1

    def owns(self, name: str) -> bool:
        """Whether this replica polls and serves the device ``name``."""
        return self.total == 1 or owner(name, self.total) == self.index

    def runs(self, entry: str, *, fans_out: bool, listed: frozenset[str] | None) -> bool:
        """Whether this replica runs an entry: it owns its name, or one of its devices.

        A fan-out entry whose devices are found at run time (``listed`` None) runs on every
        replica.
        """
        if not fans_out:
            return self.owns(entry)
        return listed is None or any(self.owns(name) for name in listed)

    def shown(self, entry: str, listed: frozenset[str] | None) -> list[str]:
        """What this replica shows of an entry before it is read.

        The entry's own name on the replica owning it (``listed`` None: one replica shows
        a fan-out entry until it lists devices), else the listed devices it owns, so that
        a session that cannot log in is seen where each device is served.
        """
        if listed is None:
            return [entry] if self.owns(entry) else []
        return sorted(name for name in listed if self.owns(name))

    def keep(self, event: Event) -> Event | None:
        """The part of a fan-out entry's event this replica keeps (None: another's device).

        A roster keeps the devices this replica owns; readings and faults of other devices
        are dropped.
        """
        if not self.sharded:
            return event
        if isinstance(event, Roster):
            mine = frozenset(name for name in event.devices if self.owns(name))
            return event if len(mine) == len(event.devices) else Roster(event.entry, mine)
        return event if self.owns(event.device) else None


UNSHARDED: Final = Shard()


def known(devices: frozenset[str], event: Event, *, bound: int) -> frozenset[str]:
    """A fan-out entry's devices, every replica's, after ``event``: at most ``bound``.

    A roster replaces them; without rosters, each device read is added.
    """
    if isinstance(event, Roster):
        listed = event.devices
        return listed if len(listed) <= bound else frozenset(sorted(listed)[:bound])
    if event.device in devices or len(devices) >= bound:
        return devices
    return devices | {event.device}


def ordinal(hostname: str) -> int | None:
    """The ordinal at the end of a StatefulSet pod's name (``power-exporter-2`` -> 2)."""
    match = _ORDINAL.search(hostname.split(".", 1)[0])
    return int(match.group(1)) if match else None


def resolve(
    shard: int | None,
    total: int | None,
    *,
    hostname: str,
    from_hostname: bool = False,
) -> Shard:
    """This replica's shard, from what the flags, environment and config say.

    ``shard`` and ``total`` are the first given of flag, environment variable and config
    key. Without a shard, a fleet (total above 1) takes it from the hostname's ordinal, as
    kube-state-metrics does in a StatefulSet; ``from_hostname`` insists on it.
    """
    total = 1 if total is None else total
    if from_hostname or (shard is None and total > 1):
        found = ordinal(hostname)
        if found is None:
            raise ConfigError(
                f"cannot tell this replica's shard: the hostname {hostname!r} does not end in"
                " -ORDINAL (a StatefulSet pod's name); pass --shard N",
                field="shard",
            )
        if shard is not None and shard != found:
            raise ConfigError(
                f"--shard {shard} disagrees with the hostname {hostname!r} (ordinal {found})",
                field="shard",
            )
        shard = found
    try:
        return Shard(0 if shard is None else shard, total)
    except ValueError as exc:
        raise ConfigError(str(exc), field="shard") from None


def first_int(*values: object, field: str) -> int | None:
    """The first of ``values`` that is given (flag, environment, config), as an int."""
    for value in values:
        if value is None or value == "":
            continue
        try:
            return int(str(value))
        except ValueError:
            raise ConfigError(f"{value!r} is not a whole number", field=field) from None
    return None


def peer_url(template: str, shard: int) -> str:
    """The URL of replica ``shard``, from a template such as ``http://pe-{shard}.pe:9860``."""
    return template.replace("{shard}", str(shard))


def check_peers(template: str) -> str:
    """Refuse a peer URL template without ``{shard}`` (every replica would be the same)."""
    if "{shard}" not in template:
        raise ConfigError(
            f"{template!r} names no replica: put {{shard}} where the shard number goes,"
            " as in http://power-exporter-{shard}.power-exporter:9860",
            field="shard_peers",
        )
    return template


def environment(environ: Mapping[str, str]) -> tuple[str | None, str | None, str | None]:
    """``POWER_EXPORTER_SHARD``, ``..._TOTAL_SHARDS`` and ``..._SHARD_PEERS``, where set."""
    return environ.get(ENV_SHARD), environ.get(ENV_TOTAL), environ.get(ENV_PEERS)
