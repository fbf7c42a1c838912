"""The raw NUT series, named as DRuggeri/nut_exporter names them.

- Every numeric variable (see :mod:`.table`) is a gauge ``network_ups_tools_<variable>`` whose
  name is the variable's with every character outside ``[A-Za-z0-9_]`` (NUT uses ``.`` and
  ``-``) replaced by ``_``, case kept (``input.L1-N.voltage`` ->
  ``network_ups_tools_input_L1_N_voltage``), and value as NUT gives it (percent stays percent).
- Two adjustments keep every name acceptable to ``promtool check metrics``, where
  DRuggeri's names are not:

  * a name ending in a suffix Prometheus and OpenMetrics reserve for other metric types
    (``_total``, ``_count``, ``_sum``, ``_bucket``, ``_created``, ``_gcount``, ``_gsum``,
    ``_info``) gets ``_value`` appended: ``outlet.count`` ->
    ``network_ups_tools_outlet_count_value``, ``battery.current.total`` ->
    ``network_ups_tools_battery_current_total_value``;
  * a name with a lower-case letter followed by a capital (camelCase, which promtool rejects;
    no standard NUT name has one) is lower-cased as a whole;
  * a word that names a metric type (``counter``, ``gauge``, ``summary``, ``histogram``,
    which promtool rejects inside a name) is put in the plural:
    ``experimental.statistics.overload_counter`` ->
    ``network_ups_tools_experimental_statistics_overload_counters``.

  Should two variables end up with one name, the first in sorted order is kept.
- ``network_ups_tools_ups_status{flag="..."}``: 1 for every token in ``ups.status``, unknown
  ones included, and 0 for each of the usual flags that is absent (DRuggeri's default
  ``--nut.statuses``, plus ALARM), so the series of the common flags never vanish while the
  UPS is up; none at all for a device without a status (an ePDU).
- ``network_ups_tools_<variable>{state="..."}``: a text variable with a closed set of values
  (``ups.beeper.status``, ``ups.test.result``, ``ups.type``, ``outlet.N.status``...: table
  ``STATE_SETS``) as a state set: 1 for the value given (lower-cased), 0 for the others.
- ``network_ups_tools_device_info{model,mfr,serial,type,description,contact,location,part,
  macaddr}`` 1, from the ``device.*`` variables as given (blank when absent); it stays while the
  device is down, once it has been seen.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from power_exporter.sources.base import RawFamily, RawSample
from power_exporter.sources.lru import LruCache
from power_exporter.sources.nut.table import DEVICE_INFO_LABELS, NUT_FLAGS, STATUS_VAR, states_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from power_exporter.model import DeviceIdentity, Reading

PREFIX: Final = "network_ups_tools_"
RESERVED_SUFFIXES: Final = (
    "_total",
    "_count",
    "_sum",
    "_bucket",
    "_created",
    "_gcount",
    "_gsum",
    "_info",
)
RESERVED_FIX: Final = "_value"
# promtool rejects a metric name holding a type's name as a word ("_counter_", or at the end):
# such a word of a NUT name is put in the plural.
TYPE_WORDS: Final = {
    "counter": "counters",
    "gauge": "gauges",
    "summary": "summaries",
    "histogram": "histograms",
}
_TYPE_WORD = re.compile(r"_(" + "|".join(TYPE_WORDS) + r")(?=_|$)", re.IGNORECASE)

STATUS_FAMILY: Final = RawFamily(
    name="network_ups_tools_ups_status",
    kind="gauge",
    help="NUT ups.status: 1 for each flag upsd reports, 0 for the usual flags it does not",
)
DEVICE_INFO_FAMILY: Final = RawFamily(
    name="network_ups_tools_device_info",
    kind="info",
    help="NUT device.* identity of the UPS (always 1)",
)

_NOT_NAME_CHAR = re.compile(r"[^A-Za-z0-9_]")
_CAMEL = re.compile(r"[a-z][A-Z]")


def metric_name(variable: str) -> str:
    """Return the raw metric name of a NUT variable (rules in the module docstring)."""
    name = PREFIX + _NOT_NAME_CHAR.sub("_", variable)
    if _CAMEL.search(name):
        name = name.lower()
    name = _TYPE_WORD.sub(lambda word: "_" + TYPE_WORDS[word.group(1).lower()], name)
    if name.endswith(RESERVED_SUFFIXES):
        name += RESERVED_FIX
    return name


class NutNaming:
    """The RawNaming of NUT devices (and of replayed NUT dumps)."""

    def __init__(self) -> None:
        # Bounded: a upsd may invent new variable names at every poll.
        self._families: LruCache[str, RawFamily] = LruCache()
        # What a reading's variables and values give, each worked out once (a device's
        # variables and most of its texts are the same at every poll): variable -> family,
        # variable -> its state set (() when it has none), and a status or a state set's
        # value -> its samples.
        self._of_variable: LruCache[str, RawFamily] = LruCache()
        self._states: LruCache[str, tuple[str, ...]] = LruCache()
        self._texts: LruCache[tuple[str, str], tuple[RawSample, ...]] = LruCache()

    def family(self, variable: str) -> RawFamily:
        """Return the gauge family of one variable, one object for one name while it is cached."""
        family = self._of_variable.get(variable)
        if family is not None and self._families.get(family.name) is family:
            return family
        name = metric_name(variable)
        family = self._families.get(name)
        if family is None:
            family = RawFamily(name=name, kind="gauge", help=f"NUT variable {variable}")
            self._families.put(name, family)
        self._of_variable.put(variable, family)
        return family

    def _states_of(self, variable: str) -> tuple[str, ...]:
        states = self._states.get(variable)
        if states is None:
            states = states_of(variable) or ()
            self._states.put(variable, states)
        return states

    def _text_samples(
        self, variable: str, value: str, states: tuple[str, ...]
    ) -> tuple[RawSample, ...]:
        key = (variable, value)
        samples = self._texts.get(key)
        if samples is None:
            family = self.family(variable)
            samples = tuple(
                status_samples(value)
                if variable == STATUS_VAR
                else state_samples(family, value, states)
            )
            self._texts.put(key, samples)
        return samples

    def samples(self, reading: Reading) -> Iterable[RawSample]:
        """Every numeric variable, the status flags and the device info."""
        seen: set[str] = set()
        samples: list[RawSample] = []
        raw = reading.raw
        for variable in sorted(raw):
            family = self.family(variable)
            if family.name in seen:
                continue
            seen.add(family.name)
            samples.append(RawSample(family, raw[variable]))
        text = reading.text
        status = text.get(STATUS_VAR, "")
        if status.strip():  # no status (an ePDU): no status series
            samples.extend(self._text_samples(STATUS_VAR, status, ()))
        for variable in sorted(text):
            states = self._states_of(variable)
            if states:
                family = self.family(variable)
                if family.name not in seen:
                    seen.add(family.name)
                    samples.extend(self._text_samples(variable, text[variable], states))
        samples.extend(self.down_samples(reading.identity))
        return samples

    def down_samples(self, identity: DeviceIdentity) -> Iterable[RawSample]:
        """Return the device info, once the device has been seen (its labels are known)."""
        if not identity.labels:
            return ()
        labels = tuple((label, identity.labels.get(label, "")) for label in DEVICE_INFO_LABELS)
        return (RawSample(DEVICE_INFO_FAMILY, 1.0, labels),)


def state_samples(family: RawFamily, value: str, states: tuple[str, ...]) -> list[RawSample]:
    """A state set: ``{state="<value>"} 1`` and 0 for every other state of the set."""
    given = value.strip().lower()
    samples = [
        RawSample(family, 1.0 if state == given else 0.0, (("state", state),)) for state in states
    ]
    if given and given not in states:
        samples.append(RawSample(family, 1.0, (("state", given),)))
    return samples


def status_samples(status: str) -> list[RawSample]:
    """``network_ups_tools_ups_status{flag}``: present tokens 1, absent usual flags 0."""
    present = list(dict.fromkeys(status.split()))
    samples = [RawSample(STATUS_FAMILY, 1.0, (("flag", token),)) for token in present]
    samples.extend(
        RawSample(STATUS_FAMILY, 0.0, (("flag", token),))
        for token in NUT_FLAGS
        if token not in present
    )
    return samples


NUT_NAMING: Final = NutNaming()
"""The one naming object of the ``nut`` and ``replay`` kinds (families are cached in it)."""
