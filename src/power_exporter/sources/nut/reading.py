"""One NUT UPS's variables -> one Reading, through a plan made once per list of variable names.

A UPS sends the same variables in the same order at every poll. What follows from the names
alone (which variables may be numbers, which give a labelled measure and under which labels,
which ones the ``vars`` filter keeps) is worked out once per list of names and kept (a
:class:`Plan`); a poll then does per variable only what its value decides: whether it is a
number, which is kept per value string (a UPS repeats most of its values). The rules are the
tables' of :mod:`.table`; this module only applies them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from power_exporter.errors import StaleError
from power_exporter.model import Flag, Labels, Measure, Reading, measure_problem
from power_exporter.sources.lru import LruCache
from power_exporter.sources.nut.table import (
    CHARGER_VAR,
    LABELLED_PREFIXES,
    OUTLET_MEASURES,
    OUTLET_STATES,
    OUTLET_VAR,
    PHASE_MEASURES,
    PHASE_VAR,
    STATUS_VAR,
    WAIT_TOKEN,
    candidates_of,
    flags_of,
    identity_of,
    is_text_only,
    known_flags_of,
    numeric_value,
    states_of,
    status_tokens,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

PLANS_MAX: Final = 1024
"""Plans kept (least recently used forgotten): one per list of names, shared by like UPSes."""
NUMBERS_MAX: Final = 16384
"""Value strings whose number test is kept; the cache starts over when it is full."""

_TEXT: Final = math.nan  # the cached answer "not a number": this very object, told by `is`
NUMBER_CACHE: Final[dict[str, float]] = {}
"""Value string -> its number, or the very object ``_TEXT`` when it is not one."""


@dataclass(frozen=True, slots=True)
class LabelledSlot:
    """A variable that gives one series of a labelled measure (an outlet's, a phase's)."""

    measure: Measure
    labels: Labels
    variable: str
    status: bool = False  # ``outlet.<n>.status``: a state from its text, not a number


@dataclass(frozen=True, slots=True)
class Plan:
    """What the names of one list of variables decide, in the order the UPS gives them."""

    text_only: frozenset[str]  # identifiers that only look numeric
    labelled: tuple[LabelledSlot, ...]  # in the order the series are kept
    keep_raw: frozenset[str] | None  # the ``vars`` filter's numeric variables; None: all
    keep_text: frozenset[str] | None  # text variables kept; None: all


def make_plan(names: tuple[str, ...], keep: Callable[[str], bool] | None) -> Plan:
    """Work out what the variables ``names`` stand for, whatever their values."""
    ordered: list[tuple[tuple[Measure, int, str], LabelledSlot]] = []
    for name in names:
        if not name.startswith(LABELLED_PREFIXES):  # most variables: no regex at all
            continue
        if match := OUTLET_VAR.match(name):
            quantity, outlet = match[2], match[1]
            if quantity in OUTLET_MEASURES:
                slot = LabelledSlot(OUTLET_MEASURES[quantity], (("outlet", outlet),), name)
            elif quantity == "status":
                slot = LabelledSlot(Measure.OUTLET_ON, (("outlet", outlet),), name, status=True)
            else:
                continue
            ordered.append(((slot.measure, int(outlet), ""), slot))
        elif (match := PHASE_VAR.match(name)) and (match[1], match[3]) in PHASE_MEASURES:
            phase = match[2]
            slot = LabelledSlot(PHASE_MEASURES[match[1], match[3]], (("phase", phase),), name)
            ordered.append(((slot.measure, 0, phase), slot))
    # Outlets in number order, phases by name; a stable sort keeps the UPS's order on ties.
    ordered.sort(key=lambda row: row[0])
    return Plan(
        text_only=frozenset(filter(is_text_only, names)),
        labelled=tuple(slot for _, slot in ordered),
        keep_raw=None if keep is None else frozenset(filter(keep, names)),
        keep_text=None
        if keep is None
        else frozenset(name for name in names if keep(name) or not states_of(name)),
    )


PLAN_CACHE: Final[LruCache[tuple[tuple[str, ...], Callable[[str], bool] | None], Plan]] = LruCache(
    PLANS_MAX
)
"""(names in order, ``vars`` filter) -> plan."""


def plan_of(variables: Mapping[str, str], keep: Callable[[str], bool] | None) -> Plan:
    """The plan of these variables' names, made on first sight of that list."""
    key = (tuple(variables), keep)
    plan = PLAN_CACHE.get(key)
    if plan is None:
        plan = make_plan(key[0], keep)
        PLAN_CACHE.put(key, plan)
    return plan


def split(plan: Plan, variables: Mapping[str, str]) -> tuple[dict[str, float], dict[str, str]]:
    """The numeric variables (raw) and the others (text), as :func:`.table.numeric_value` says."""
    raw: dict[str, float] = {}
    text: dict[str, str] = {}
    numbers = NUMBER_CACHE
    text_only = plan.text_only
    for name, value in variables.items():
        number = numbers.get(value)
        if number is None:
            if len(numbers) >= NUMBERS_MAX:
                numbers.clear()
            found = numeric_value("", value)  # "": whether the name allows a number is known
            number = numbers[value] = _TEXT if found is None else found
        if number is _TEXT or name in text_only:
            text[name] = value
        else:
            raw[name] = number
    return raw, text


def labelled(
    plan: Plan, raw: Mapping[str, float], text: Mapping[str, str]
) -> dict[Measure, dict[Labels, float]]:
    """Per-outlet and per-phase measures (``outlet.<n>.status`` on/off gives ``outlet_on``)."""
    series: dict[Measure, dict[Labels, float]] = {}
    for slot in plan.labelled:
        if slot.status:
            state = text.get(slot.variable)
            value = None if state is None else OUTLET_STATES.get(state.strip().lower())
        else:
            value = raw.get(slot.variable)
        if value is not None:
            series.setdefault(slot.measure, {})[slot.labels] = value
    return series


_STATUS_VARS: Final = (STATUS_VAR, CHARGER_VAR)
StatusKey: TypeAlias = tuple[str | None, str | None]
Status: TypeAlias = tuple[bool, frozenset[Flag], frozenset[Flag]]
STATUS_CACHE: Final[dict[StatusKey, Status]] = {}
"""(ups.status, battery.charger.status) -> (WAIT?, flags, known flags): few pairs recur."""


def status_of(variables: Mapping[str, str]) -> Status:
    """Whether ``ups.status`` says WAIT, the flags set, and the flags the device can tell."""
    key = (variables.get(STATUS_VAR), variables.get(CHARGER_VAR))
    status = STATUS_CACHE.get(key)
    if status is None:
        if len(STATUS_CACHE) >= NUMBERS_MAX:
            STATUS_CACHE.clear()
        given = {name: value for name, value in zip(_STATUS_VARS, key, strict=True) if value}
        waiting = WAIT_TOKEN in status_tokens(given)
        status = STATUS_CACHE[key] = (waiting, flags_of(given), known_flags_of(given))
    return status


def nut_reading(
    name: str,
    source: str,
    variables: Mapping[str, str],
    taken_at: float,
    keep: Callable[[str], bool] | None = None,
) -> tuple[Reading, list[str]]:
    """Build a Reading of one UPS from its variables, and say why any measure was dropped.

    ``keep`` says which numeric variables stay in ``raw`` (the ``vars`` filter), and which
    text variables with a closed set of states stay in ``text``; the measures are made from
    all of them. Raises StaleError when ``ups.status`` says WAIT: the driver has no data from
    the UPS yet.
    """
    waiting, flags, known_flags = status_of(variables)
    if waiting:
        raise StaleError(f"{name}: ups.status is WAIT, the NUT driver has no data yet")
    plan = plan_of(variables, keep)
    raw, text = split(plan, variables)
    candidates = candidates_of(raw)
    keep_raw, keep_text = plan.keep_raw, plan.keep_text
    reading = Reading(
        identity=identity_of(name, source, variables),
        taken_at=taken_at,
        measures=candidates,
        flags=flags,
        known_flags=known_flags,
        raw=raw if keep_raw is None else {k: v for k, v in raw.items() if k in keep_raw},
        text=text if keep_text is None else {k: v for k, v in text.items() if k in keep_text},
        labelled=labelled(plan, raw, text),
    )
    # Why the Reading dropped any candidate, for the source's log (checked_measures' words).
    dropped = reading.dropped
    problems = [
        problem
        for measure, value in candidates.items()
        if measure in dropped and (problem := measure_problem(measure, value, source)) is not None
    ]
    return reading, problems
