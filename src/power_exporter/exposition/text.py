"""The only code that writes exposition text (Prometheus 0.0.4 and OpenMetrics 1.0).

Samples of one family must stand together, so every family has a slot, and each device keeps
a *row*: the text of its sample lines in each slot ("" where it has none). A row is rendered
when the device changes: the store tells the renderer, which renders the changed devices as
soon as the event loop is free (or, without a loop, at the next scrape). Devices are grouped
in blocks of ``BLOCK``; a block keeps its rows joined per family (its *columns*), rebuilt
with the rows, so a scrape joins a few long strings per family rather than one short string
per device and family (at 1000 devices, 40,000 scattered strings cost more in cache misses
than in joining). Each device also keeps the fixed parts of its lines (``name{device="..."}``
and whole status lines), so a new reading costs one number format per sample. Sample lines
are the same in both formats; only the headers (counter and info families drop their suffix
in OpenMetrics) and ``# EOF`` differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
import time
from dataclasses import dataclass, replace
from itertools import zip_longest
from typing import TYPE_CHECKING, Final

from power_exporter import __version__
from power_exporter.exposition import contract
from power_exporter.exposition.contract import problem_with_family, problem_with_label
from power_exporter.exposition.process import ProcessSeries
from power_exporter.exposition.rows import BLOCK, Block, Row

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from power_exporter.model import DeviceIdentity, Labels, Measure, Reading
    from power_exporter.sources.base import MetricKind, RawNaming, RawSample
    from power_exporter.store import DeviceState, Store

log = logging.getLogger(__name__)

TEXT_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE: Final = "application/openmetrics-text; version=1.0.0; charset=utf-8"

_OM_SUFFIX: Final[dict[str, str]] = {"counter": "_total", "info": "_info"}
# repr() of the floats Prometheus spells its own way.
_SPECIAL: Final[dict[str, str]] = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf", "-0.0": "0"}


# A double holds any decimal of up to 15 significant digits exactly enough to read it back.
SIGNIFICANT_DIGITS: Final = 15
_LONG_REPR: Final = SIGNIFICANT_DIGITS + 1  # a repr this long may carry more digits than that


def rounded(value: float) -> float:
    """The value the device meant: ``value`` rounded to 15 significant digits unless integral.

    Scaling leaves binary noise in the last digits (5.2 % / 100 is 0.052000000000000005);
    no device reports more than 15 significant digits, so rounding there removes the noise and
    nothing a device said. Integral values (counters past 2**53 included) are kept as they are.
    """
    if len(repr(value)) > _LONG_REPR and not value.is_integer():  # nan, inf: short reprs
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


def format_value(value: float) -> str:
    """Render a sample value as Prometheus and OpenMetrics both read it.

    ``repr`` is the shortest text that reads back as the same float; a repr long enough to
    carry binary noise is that of the :func:`rounded` value (``0.052``, not
    ``0.052000000000000005``); an integral value loses its ``.0`` (``3.0`` -> ``3``,
    ``1e+16`` stays as it is).
    """
    text = repr(value)
    if len(text) > _LONG_REPR and not value.is_integer():
        short = f"{value:.{SIGNIFICANT_DIGITS}g}"
        if "e" not in short:
            # Already the rounded value's repr: a decimal of at most 15 digits reads back as a
            # float whose shortest repr is that decimal (DBL_DIG), and both write it without an
            # exponent here. Saves a float() and a repr() per long value (a third of the time).
            return short
        text = repr(float(short))
    if text[-2:] == ".0":
        return text[:-2] if text != "-0.0" else "0"
    return _SPECIAL.get(text, text)


def escape_label(value: str) -> str:
    """Escape a label value."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


@dataclass(frozen=True, slots=True)
class _Family:
    name: str
    kind: MetricKind
    slot: int
    text_header: bytes
    om_header: bytes

    @classmethod
    def make(cls, name: str, kind: MetricKind, help_text: str, slot: int = -1) -> _Family:
        text_kind = "gauge" if kind == "info" else kind
        om_name = name.removesuffix(_OM_SUFFIX.get(kind, "\0"))
        help_line = _escape_help(help_text)
        return cls(
            name=name,
            kind=kind,
            slot=slot,
            text_header=f"# HELP {name} {help_line}\n# TYPE {name} {text_kind}\n".encode(),
            om_header=f"# HELP {om_name} {help_line}\n# TYPE {om_name} {kind}\n".encode(),
        )


def _device_labels(device: str, static: tuple[tuple[str, str], ...] = ()) -> str:
    """``{device="..."`` and the device's static labels: the start of each of its lines."""
    extra = "".join(f',{key}="{escape_label(value)}"' for key, value in static)
    return '{device="' + escape_label(device) + '"' + extra


# The contract's families take the first slots, in the contract's order.
_SLOT: Final[dict[str, int]] = {spec.name: slot for slot, spec in enumerate(contract.ORDERED)}
_MEASURE_SLOT: Final[dict[Measure, tuple[int, str]]] = {
    measure: (_SLOT[spec.name], spec.name) for measure, spec in contract.MEASURES.items()
}
# flag -> ('",flag="online"} 0\n', ...} 1\n'): the end of a power_status line.
_FLAG_ENDS: Final = tuple(
    (flag, f',flag="{flag.value}"}} 0\n', f',flag="{flag.value}"}} 1\n')
    for flag in contract.FLAG_ORDER
)
_LABEL_CACHE_MAX: Final = 100_000
# Changed devices are rendered in slices of the loop's time, so that no other callback (a
# scrape being answered, a poll) waits longer than a slice; while a page is being sent they
# wait for it, _HOLD_MAX at most (a client that reads slowly does not stop the rendering).
_SLICE: Final = 0.005
_HOLD_MAX: Final = 0.5
# Raw families are dropped from the slot table (compacted) when it holds more than this many,
# or twice as many as after the last compaction: a peer inventing names must not grow it.
_RAW_FAMILIES_COMPACT: Final = 10_000
_UP: Final = _SLOT[contract.UP.name]
_INFO: Final = _SLOT[contract.INFO.name]
_LAST_SEEN: Final = _SLOT[contract.LAST_SEEN.name]
_STATUS: Final = _SLOT[contract.STATUS.name]
_DURATION: Final = _SLOT[contract.READ_DURATION.name]
_ERRORS: Final = _SLOT[contract.READ_ERRORS.name]
_MESSAGES: Final = _SLOT[contract.MESSAGES.name]
_IMPLAUSIBLE: Final = _SLOT[contract.IMPLAUSIBLE.name]


# One sample of the exporter's own: its family, its labels, its value.
SelfSample = tuple[contract.Spec, tuple[tuple[str, str], ...], float]


def render_self(samples: Iterable[SelfSample], *, openmetrics: bool) -> bytes:
    """The exporter's own families (HTTP server, reloads), rendered per scrape."""
    out: list[str] = []
    seen: set[str] = set()
    for spec, labels, value in samples:
        if spec.name not in seen:
            seen.add(spec.name)
            family = _Family.make(spec.name, spec.kind, spec.help)
            out.append((family.om_header if openmetrics else family.text_header).decode())
        text = ",".join(f'{key}="{escape_label(val)}"' for key, val in labels)
        out.append(
            f"{spec.name}{{{text}}} {format_value(value)}\n"
            if text
            else f"{spec.name} {format_value(value)}\n"
        )
    return "".join(out).encode()


class Renderer:
    """Renders the store; caches per device and family, and the whole page."""

    def __init__(self, store: Store, naming_for: Callable[[str], RawNaming]) -> None:
        self._store = store
        self._naming_for = naming_for
        self._families: list[_Family] = []
        self._by_name: dict[str, _Family] = {}
        self._rejected: set[str] = set()
        self._good_labels: set[str] = set()
        self._label_texts: dict[tuple[tuple[str, str], ...], str] = {}
        self._devices: dict[str, Row] = {}
        self._blocks: list[Block] = []
        self._dirty_blocks: set[Block] = set()
        self._page: dict[bool, tuple[int, list[bytes]]] = {}
        self._dirty: set[str] = set()
        self._pending: asyncio.Handle | None = None  # the rendering planned on the loop
        self._sending = 0  # pages being written out now (see sending())
        self._sending_since = 0.0  # loop time the first of them started
        self._compact_at = len(contract.ORDERED) + _RAW_FAMILIES_COMPACT
        for spec in contract.ORDERED:
            self._family(spec.name, spec.kind, spec.help)
        build = _Family.make(contract.BUILD_INFO.name, "info", contract.BUILD_INFO.help)
        labels = f'{{version="{__version__}",python="{platform.python_version()}"}}'
        self._build_text = build.text_header + f"{build.name}{labels} 1\n".encode()
        self._build_om = build.om_header + f"{build.name}{labels} 1\n".encode()
        self._tasks = _Family.make(contract.TASKS.name, "gauge", contract.TASKS.help)
        spec = contract.DEVICES_DROPPED
        self._dropped = _Family.make(spec.name, "counter", spec.help)
        self._probes = _Family.make(contract.PROBES.name, "counter", contract.PROBES.help)
        self._probe_reads = _Family.make(
            contract.PROBE_READS.name, "counter", contract.PROBE_READS.help
        )
        name, help_line = contract.PROBE_DURATION.name, _escape_help(contract.PROBE_DURATION.help)
        self._probe_duration = f"# HELP {name} {help_line}\n# TYPE {name} summary\n".encode()
        # process_* from /proc: a few series that change on every scrape, rendered per scrape.
        self._process = ProcessSeries()
        self._dirty.update(state.name for state in store)
        store.watch(self._changed)
        # The HTTP server's and the reloads' own samples (set by whoever serves), per scrape.
        self.self_samples: Callable[[], Iterable[SelfSample]] = tuple

    def _family(self, name: str, kind: MetricKind, help_text: str) -> _Family | None:
        family = self._by_name.get(name)
        if family is not None:
            return family if family.kind == kind else None
        if name in self._rejected:
            return None
        problem = problem_with_family(name, kind)
        if problem is not None:
            if len(self._rejected) >= _LABEL_CACHE_MAX:
                self._rejected.clear()
            self._rejected.add(name)
            log.warning("dropping raw metric family: %s", problem)
            return None
        family = _Family.make(name, kind, help_text, len(self._families))
        self._families.append(family)
        self._by_name[name] = family
        return family

    # -- rendering as devices change ------------------------------------------------------------

    def _changed(self, name: str) -> None:
        """The store's watcher: render the device once the current step of the loop is done."""
        self._dirty.add(name)
        if self._pending is None:
            self._schedule()

    def _schedule(self) -> None:
        """Render the changed devices on a later turn of the loop (after a page being sent)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a script, a test): the next scrape renders it
        if self._pending is not None:
            self._pending.cancel()
        if self._sending:
            # A page is being sent: its writes go first. A slow client holds the rendering
            # back for _HOLD_MAX at most, so the next scrape never has the whole fleet to render.
            self._pending = loop.call_at(self._sending_since + _HOLD_MAX, self._flush_slice)
        else:
            self._pending = loop.call_soon(self._flush_slice)

    def _flush_slice(self) -> None:
        """Render changed devices for _SLICE seconds, then leave the loop to others and go on."""
        self._pending = None
        if self._sending and asyncio.get_running_loop().time() < self._sending_since + _HOLD_MAX:
            self._schedule()  # planned before a page started being sent: after it, then
            return
        self._flush(time.perf_counter() + _SLICE)
        if self._dirty:
            self._schedule()

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        """While a page made by this renderer is written out: render changes after it.

        Rendering between the writes of a page makes the scrape wait for it, and the page
        being sent does not need it (a scrape renders what changed before it is made).
        """
        if not self._sending:
            with contextlib.suppress(RuntimeError):
                self._sending_since = asyncio.get_running_loop().time()
        self._sending += 1
        try:
            yield
        finally:
            self._sending -= 1
            if not self._sending and self._dirty:
                self._schedule()

    def _flush(self, until: float | None = None) -> None:
        """Render the changed devices: all of them, or as many as fit before ``until``."""
        dirty = self._dirty
        if until is None:
            self._dirty = set()
        clock = time.perf_counter
        while dirty:
            name = dirty.pop()
            state = self._store.get(name)
            if state is not None:
                self._refresh(state)
            elif (gone := self._devices.pop(name, None)) is not None:
                gone.block.devices.remove(gone)
                self._dirty_blocks.add(gone.block)
            if until is not None and clock() >= until:
                break
        for block in self._dirty_blocks:
            if block.devices:
                block.rebuild()
            else:
                self._blocks.remove(block)
        self._dirty_blocks.clear()
        if len(self._families) > self._compact_at:
            self._compact()

    @property
    def waiting(self) -> int:
        """How many changed devices are not rendered yet."""
        return len(self._dirty)

    @property
    def family_count(self) -> int:
        """How many families have a slot now (the contract's and the raw ones)."""
        return len(self._families)

    def _compact(self) -> None:
        """Drop the raw families no device has a sample in, and renumber the slots."""
        used = set(range(len(contract.ORDERED)))
        for device in self._devices.values():
            used.update(slot for slot, text in enumerate(device.row) if text)
        keep = sorted(used)
        renumber = {old: new for new, old in enumerate(keep)}
        self._families = [replace(self._families[old], slot=new) for new, old in enumerate(keep)]
        self._by_name = {family.name: family for family in self._families}
        for device in self._devices.values():
            row = device.row
            device.row = [row[old] if old < len(row) else "" for old in keep]
            device.reading_slots = tuple(renumber[s] for s in device.reading_slots if s in renumber)
            device.stats_slots = tuple(renumber[s] for s in device.stats_slots if s in renumber)
        for block in self._blocks:
            block.rebuild()
        self._page.clear()
        self._compact_at = max(
            len(contract.ORDERED) + _RAW_FAMILIES_COMPACT, 2 * len(self._families)
        )
        log.debug("raw metric families compacted: %d kept", len(self._families))

    def _new_device(self, state: DeviceState, old: Row | None) -> Row:
        """A device's new cache, in the place of ``old`` or in the last block with room."""
        if old is not None:
            block = old.block
            device = Row.make(
                state, block, _device_labels(state.name, state.labels), len(self._families)
            )
            block.devices[block.devices.index(old)] = device
        else:
            if not self._blocks or len(self._blocks[-1].devices) >= BLOCK:
                self._blocks.append(Block())
            block = self._blocks[-1]
            device = Row.make(
                state, block, _device_labels(state.name, state.labels), len(self._families)
            )
            block.devices.append(device)
        self._devices[state.name] = device
        return device

    # -- per device -----------------------------------------------------------------------------

    def _raw_texts(self, cache: Row, samples: Iterable[RawSample], out: dict[int, str]) -> None:
        by_name, texts = self._by_name, self._label_texts
        for sample in samples:
            spec = sample.family
            family = by_name.get(spec.name)
            if family is None or family.kind != spec.kind:
                family = self._family(spec.name, spec.kind, spec.help)
                if family is None:
                    continue
            labels = sample.labels
            if labels:
                text = texts.get(labels)
                if text is None:
                    text = self._label_text(spec.name, labels)
                    if text is None:
                        continue
                line = f"{spec.name}{cache.labels}{text}}} {format_value(sample.value)}\n"
            else:
                line = f"{spec.name}{cache.labels}}} {format_value(sample.value)}\n"
            slot = family.slot
            out[slot] = out[slot] + line if slot in out else line

    def _label_text(self, family: str, labels: tuple[tuple[str, str], ...]) -> str | None:
        """',key="value",...' for the labels after ``device``, cached across devices."""
        bad = next((p for key, _ in labels if (p := self._bad_label(key))), None)
        if bad is not None:
            log.debug("dropping sample of %s: %s", family, bad)
            return None
        if len(self._label_texts) >= _LABEL_CACHE_MAX:
            self._label_texts.clear()  # label values that keep changing must not grow it forever
        text = "".join(f',{key}="{escape_label(value)}"' for key, value in labels)
        self._label_texts[labels] = text
        return text

    def _bad_label(self, name: str) -> str | None:
        if name in self._good_labels:
            return None
        problem = problem_with_label(name)
        if problem is None:
            if len(self._good_labels) >= _LABEL_CACHE_MAX:
                self._good_labels.clear()
            self._good_labels.add(name)
        return problem

    def _reading_texts(self, cache: Row, state: DeviceState) -> dict[int, str]:
        identity = state.identity
        if cache.info[0] != identity:
            cache.info = (identity, self._info_line(cache.labels, identity))
        out = {_INFO: cache.info[1]}
        naming = self._naming_for(state.source)
        reading = state.reading
        if reading is None:
            self._raw_texts(cache, naming.down_samples(identity), out)
            return out
        labels = cache.labels
        for measure, value in reading.measures.items():
            slot, name = _MEASURE_SLOT[measure]
            out[slot] = f"{name}{labels}}} {format_value(value)}\n"
        for measure, series in reading.labelled.items():
            slot, name = _MEASURE_SLOT[measure]
            self._labelled_text(cache, name, slot, series, out)
        if reading.known_flags:
            out[_STATUS] = self._status_text(cache, reading)
        self._raw_texts(cache, naming.samples(reading), out)
        return out

    def _labelled_text(
        self,
        cache: Row,
        name: str,
        slot: int,
        series: Mapping[Labels, float],
        out: dict[int, str],
    ) -> None:
        """The lines of a labelled measure (``outlet``, ``phase``...), after an unlabelled one."""
        texts = self._label_texts
        lines = [out[slot]] if slot in out else []
        for key, value in series.items():
            text = texts.get(key)
            if text is None:
                text = self._label_text(name, key)
                if text is None:
                    continue
            lines.append(f"{name}{cache.labels}{text}}} {format_value(value)}\n")
        if lines:
            out[slot] = "".join(lines)

    @staticmethod
    def _status_text(cache: Row, reading: Reading) -> str:
        key = (reading.flags, reading.known_flags)
        if key != cache.status_key:
            flags, known = key
            head = contract.STATUS.name + cache.labels
            cache.status_text = "".join(
                head + (on if flag in flags else off)
                for flag, off, on in _FLAG_ENDS
                if flag in known
            )
            cache.status_key = key
        return cache.status_text

    @staticmethod
    def _info_line(device_labels: str, identity: DeviceIdentity) -> str:
        labels = (
            ("source", identity.source),
            ("vendor", identity.vendor),
            ("model", identity.model),
            ("serial", identity.serial),
            ("firmware", identity.firmware),
        )
        inner = "".join(f',{key}="{escape_label(value)}"' for key, value in labels)
        return f"{contract.INFO.name}{device_labels}{inner}}} 1\n"

    @staticmethod
    def _stats_texts(cache: Row, state: DeviceState) -> dict[int, str]:
        labels = cache.labels
        out = {_UP: f"{contract.UP.name}{labels}}} {1 if state.up else 0}\n"}
        if state.last_seen is not None:
            value = format_value(state.last_seen)
            out[_LAST_SEEN] = f"{contract.LAST_SEEN.name}{labels}}} {value}\n"
        if state.read_duration is not None:
            value = format_value(state.read_duration)
            out[_DURATION] = f"{contract.READ_DURATION.name}{labels}}} {value}\n"
        if state.errors:
            name = contract.READ_ERRORS.name
            out[_ERRORS] = "".join(
                f'{name}{labels},reason="{escape_label(reason)}"}} {count}\n'
                for reason, count in sorted(state.errors.items())
            )
        if state.implausible:
            name = contract.IMPLAUSIBLE.name
            out[_IMPLAUSIBLE] = "".join(
                f'{name}{labels},measure="{measure}",reason="{reason}"}} {count}\n'
                for (measure, reason), count in sorted(state.implausible.items())
            )
        out[_MESSAGES] = f"{contract.MESSAGES.name}{labels}}} {state.messages}\n"
        return out

    def _refresh(self, state: DeviceState) -> Row:
        cache = self._devices.get(state.name)
        if cache is None or cache.state is not state:
            cache = self._new_device(state, cache)
        if cache.reading_version != state.reading_version:
            texts = self._reading_texts(cache, state)
            cache.reading_slots = cache.put(texts, cache.reading_slots)
            cache.reading_version = state.reading_version
            self._dirty_blocks.add(cache.block)
        if cache.stats_version != state.stats_version:
            texts = self._stats_texts(cache, state)
            cache.stats_slots = cache.put(texts, cache.stats_slots)
            cache.stats_version = state.stats_version
            self._dirty_blocks.add(cache.block)
        return cache

    # -- pages ------------------------------------------------------------------------------

    def render(self, *, openmetrics: bool = False) -> bytes:
        """The whole exposition: every device, then the exporter's own process."""
        return b"".join(self.render_parts(openmetrics=openmetrics))

    def render_parts(self, *, openmetrics: bool = False) -> list[bytes]:
        """The whole exposition as pieces to send one after the other, never joined here.

        A page of 10,000 devices is ~35 MB; the HTTP server writes the pieces in turn rather
        than copying them into one buffer.
        """
        page, rest = self.render_split(openmetrics=openmetrics)
        return [*page, *rest]

    def render_split(self, *, openmetrics: bool = False) -> tuple[list[bytes], list[bytes]]:
        """The exposition in two: the devices part, then the rest (made at every call).

        The devices part is the very same list object as long as no device changed, so it can
        be compressed once (:class:`~power_exporter.exposition.gzipped.GzipCache`).
        """
        tasks = self._tasks_text(openmetrics=openmetrics) + self._probes_text(
            openmetrics=openmetrics
        )
        tasks += render_self(self.self_samples(), openmetrics=openmetrics)
        tasks += self._dropped_text(openmetrics)
        process = self._process.render(openmetrics=openmetrics)
        if openmetrics:
            return self._devices_page(openmetrics=True), [tasks, process, b"# EOF\n"]
        return self._devices_page(openmetrics=False), [tasks, process]

    def _tasks_text(self, *, openmetrics: bool) -> bytes:
        """``power_exporter_tasks``, counted now (nothing when no event loop runs)."""
        try:
            count = len(asyncio.all_tasks())
        except RuntimeError:
            return b""
        header = self._tasks.om_header if openmetrics else self._tasks.text_header
        return (
            header + f"{contract.TASKS.name} {count}\n".encode() + self._dropped_text(openmetrics)
        )

    def _dropped_text(self, openmetrics: bool) -> bytes:  # noqa: FBT001
        """``power_exporter_devices_dropped_total{entry}``, where an entry dropped any."""
        dropped = self._store.dropped_devices
        if not dropped:
            return b""
        header = self._dropped.om_header if openmetrics else self._dropped.text_header
        name = contract.DEVICES_DROPPED.name
        lines = "".join(
            f'{name}{{entry="{escape_label(entry)}"}} {count}\n'
            for entry, count in sorted(dropped.items())
        )
        return header + lines.encode()

    def _probes_text(self, *, openmetrics: bool) -> bytes:
        """``/probe``'s own counters (the store's ProbeStats), counted now."""
        stats = self._store.probes
        probes, reads = self._probes, self._probe_reads
        name = contract.PROBES.name
        lines = [probes.om_header if openmetrics else probes.text_header]
        lines.extend(
            f'{name}{{result="{result}"}} {count}\n'.encode()
            for result, count in stats.results.items()
        )
        lines.append(reads.om_header if openmetrics else reads.text_header)
        lines.append(f"{contract.PROBE_READS.name} {stats.reads}\n".encode())
        duration = contract.PROBE_DURATION.name
        lines.append(self._probe_duration)
        lines.append(f"{duration}_sum {format_value(stats.seconds)}\n".encode())
        lines.append(f"{duration}_count {stats.answered}\n".encode())
        return b"".join(lines)

    def _devices_page(self, *, openmetrics: bool) -> list[bytes]:
        """The devices' part of the page, as pieces to join (one copy per scrape, not three)."""
        cached = self._page.get(openmetrics)
        if cached is not None and cached[0] == self._store.version:
            return cached[1]
        version = self._store.version
        self._flush()  # every change reached us through _changed: only those devices re-render
        blocks = [block.columns for block in self._blocks]
        parts: list[bytes] = []
        # Transposing the blocks gives one column of sample text per family, at C speed.
        for family, column in zip(
            self._families, zip_longest(*blocks, fillvalue=b""), strict=False
        ):
            if any(column):
                parts.append(family.om_header if openmetrics else family.text_header)
                parts.extend(column)
        parts.append(self._build_om if openmetrics else self._build_text)
        self._page[openmetrics] = (version, parts)
        return parts

    def render_device(self, name: str, *, openmetrics: bool = False) -> bytes:
        """The exposition of one device (for ``/probe``)."""
        state = self._store.get(name)
        parts: list[bytes] = []
        if state is not None:
            row = self._refresh(state).row
            for family, text in zip(self._families, row, strict=False):
                if text:
                    parts.append(family.om_header if openmetrics else family.text_header)
                    parts.append(text.encode())
        if openmetrics:
            parts.append(b"# EOF\n")
        return b"".join(parts)
