"""Raw ``ecoflow_*`` metrics, named exactly as seeds 001/002 named them.

A flattened quota key becomes a metric name in the seed's steps: array positions
(``[5]``) are taken out into labels ``index_0``, ``index_1``... in order; ``.``, ``[`` and
``]`` become ``_``; runs of ``_`` collapse and the ends are stripped; then camelCase turns
into snake_case the way the ``inflection`` package's ``underscore`` does (``bpSOC`` ->
``bp_soc``, ``qcUsb1Watts`` -> ``qc_usb1_watts``). The prefix (``ecoflow`` by default,
``metrics_prefix`` in the configuration) goes in front.

Every sample carries the labels ``device_name``, ``product_name`` and
``device_general_key`` (the exposition puts ``device`` first), plus ``{prefix}_online``: 1
with every reading, 0 while the device is down.

Three deliberate departures, so that the page passes ``promtool check metrics``: a name
the seed would have ended in ``_total``, ``_count``, ``_sum``, ``_bucket``, ``_created`` or
``_info`` (``pd.wattsOutSum``) gets ``_value`` appended; a name part promtool reads as an
abbreviated unit is spelled out (``pd.lcdOffSec`` -> ``pd_lcd_off_seconds``), or joined to
the part before it when it is a single letter (``a.b`` -> ``ab``); characters a metric name
cannot hold become ``_``.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Final

from power_exporter.sources.base import RawFamily, RawSample
from power_exporter.sources.ecoflow import devices
from power_exporter.sources.lru import LruCache

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from power_exporter.model import DeviceIdentity, Reading

log = logging.getLogger(__name__)

DEFAULT_PREFIX: Final = "ecoflow"
# Keys of DeviceIdentity.labels this naming reads; the prefix travels with the identity so
# that one naming object serves every configured device.
PREFIX_LABEL: Final = "metrics_prefix"
IDENTITY_LABELS: Final = ("device_name", "product_name", "device_general_key")

_INDEX: Final = re.compile(r"\[(\d+)\]")
_SEPARATORS: Final = re.compile(r"[.\[\]]")
_UNDERSCORES: Final = re.compile(r"_+")
# inflection.underscore: "ABCWord" -> "ABC_Word", "aB"/"1B" -> "a_B"/"1_B", "-" -> "_".
_ACRONYM: Final = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL: Final = re.compile(r"([a-z\d])([A-Z])")
_INVALID: Final = re.compile(r"[^a-zA-Z0-9_:]")
_RESERVED_SUFFIXES: Final = ("_total", "_count", "_sum", "_bucket", "_created", "_info")
# The name parts promtool's linter calls abbreviated units: the longer ones spelled out; the
# single letters, whose meaning we cannot know, joined to the part before them.
_UNIT_WORDS: Final[Mapping[str, str]] = {
    "sec": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "kb": "kilobytes",
    "mb": "megabytes",
    "gb": "gigabytes",
    "tb": "terabytes",
    "pb": "petabytes",
}
_UNIT_LETTERS: Final = frozenset("smhdb")
_CACHE_LIMIT: Final = 50_000


def underscore(word: str) -> str:
    """Turn camelCase into snake_case, as ``inflection.underscore`` does it."""
    word = _ACRONYM.sub(r"\1_\2", word)
    word = _CAMEL.sub(r"\1_\2", word)
    return word.replace("-", "_").lower()


def split_key(key: str) -> tuple[str, tuple[str, ...]]:
    """A flattened key as (metric name without prefix, array positions).

    ``bms.cells[5].voltage`` -> ``("bms_cells_voltage", ("5",))``.
    """
    indices = tuple(_INDEX.findall(key))
    name = _SEPARATORS.sub("_", _INDEX.sub("", key))
    name = _UNDERSCORES.sub("_", name).strip("_")
    name = _UNDERSCORES.sub("_", _INVALID.sub("_", underscore(name))).strip("_")
    return name, indices


def _spell_units(name: str) -> str:
    parts: list[str] = []
    for part in name.split("_"):
        if part in _UNIT_LETTERS:
            parts.append((parts.pop() if parts else "") + part)
        else:
            parts.append(_UNIT_WORDS.get(part, part))
    return "_".join(parts)


def metric_name(prefix: str, key: str) -> str:
    """The full metric name of a flattened quota key."""
    name, _ = split_key(key)
    full = _spell_units(f"{prefix}_{name}" if name else prefix)
    if full.endswith(_RESERVED_SUFFIXES):
        full += "_value"
    return full


class EcoflowNaming:
    """The raw naming of the ``ecoflow`` kind (one object, shared by every device)."""

    def __init__(self) -> None:
        # Bounded: a device (or the cloud) may send new keys at every message.
        self._families: LruCache[str, RawFamily] = LruCache(_CACHE_LIMIT)
        self._keys: LruCache[tuple[str, str], tuple[RawFamily, tuple[tuple[str, str], ...]]] = (
            LruCache(_CACHE_LIMIT)
        )

    def _family(self, name: str, help_text: str) -> RawFamily:
        family = self._families.get(name)
        if family is None:
            family = RawFamily(name=name, kind="gauge", help=help_text)
            self._families.put(name, family)
        return family

    def online_family(self, prefix: str) -> RawFamily:
        """``{prefix}_online``."""
        return self._family(f"{prefix}_online", "1 if device is online")

    def _lookup(self, prefix: str, key: str) -> tuple[RawFamily, tuple[tuple[str, str], ...]]:
        found = self._keys.get((prefix, key))
        if found is None:
            _, indices = split_key(key)
            help_key = _INDEX.sub("", key)
            family = self._family(metric_name(prefix, key), f"Device metric {help_key}")
            labels = tuple((f"index_{i}", index) for i, index in enumerate(indices))
            found = (family, labels)
            self._keys.put((prefix, key), found)
        return found

    @staticmethod
    def _identity_labels(identity: DeviceIdentity) -> tuple[str, tuple[tuple[str, str], ...]]:
        labels = identity.labels
        prefix = labels.get(PREFIX_LABEL) or DEFAULT_PREFIX
        if all(name in labels for name in IDENTITY_LABELS):
            values = tuple((name, labels[name]) for name in IDENTITY_LABELS)
            return prefix, values
        # A device that was never read: name it from its serial (or configured name, which is
        # the serial for devices configured from the seed's environment variables).
        resolved = devices.resolve(identity.serial or identity.name)
        values = (
            ("device_name", resolved.device_name),
            ("product_name", resolved.product_name),
            ("device_general_key", resolved.general_key),
        )
        return prefix, values

    def samples(self, reading: Reading) -> Iterator[RawSample]:
        """``{prefix}_online 1`` and one gauge per numeric quota value."""
        prefix, base = self._identity_labels(reading.identity)
        online = self.online_family(prefix)
        yield RawSample(online, 1.0, base)
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = {(online.name, ())}
        for key, value in reading.raw.items():
            family, indices = self._lookup(prefix, key)
            series = (family.name, indices)
            if series in seen:  # two keys that name the same series: the first one wins
                continue
            seen.add(series)
            yield RawSample(family, value, base + indices)

    def down_samples(self, identity: DeviceIdentity) -> Iterator[RawSample]:
        """``{prefix}_online 0``: it stays while the device's other series are gone."""
        prefix, base = self._identity_labels(identity)
        yield RawSample(self.online_family(prefix), 0.0, base)


NAMING: Final = EcoflowNaming()
