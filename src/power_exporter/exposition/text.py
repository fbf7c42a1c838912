"""The only code that writes exposition text (Prometheus 0.0.4 and OpenMetrics 1.0).

Samples of one family must stand together, so a device's text is kept per family: for each
device, a chunk of sample lines per family, re-rendered only when the device's
``reading_version`` or ``stats_version`` moved. A scrape joins the cached chunks family by
family under headers rendered once. Sample lines are the same in both formats; only the
headers (counter and info families drop their suffix in OpenMetrics) and ``# EOF`` differ.
"""

from __future__ import annotations

import logging
import math
import platform
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client import generate_latest as _process_text
from prometheus_client.openmetrics.exposition import generate_latest as _process_om

from power_exporter import __version__
from power_exporter.exposition import contract
from power_exporter.exposition.contract import problem_with_family, problem_with_label

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from power_exporter.model import DeviceIdentity
    from power_exporter.sources.base import MetricKind, RawNaming, RawSample
    from power_exporter.store import DeviceState, Store

log = logging.getLogger(__name__)

TEXT_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE: Final = "application/openmetrics-text; version=1.0.0; charset=utf-8"

_OM_SUFFIX: Final[dict[str, str]] = {"counter": "_total", "info": "_info"}


def format_value(value: float) -> str:
    """Render a sample value as Prometheus and OpenMetrics both read it."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:  # noqa: PLR2004 (beyond, repr is exact and shorter)
        return str(int(value))
    return repr(value)


def escape_label(value: str) -> str:
    """Escape a label value."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


@dataclass(frozen=True, slots=True)
class _Family:
    name: str
    kind: MetricKind
    text_header: str
    om_header: str

    @classmethod
    def make(cls, name: str, kind: MetricKind, help_text: str) -> _Family:
        text_kind = "gauge" if kind == "info" else kind
        om_name = name.removesuffix(_OM_SUFFIX.get(kind, "\0"))
        help_line = _escape_help(help_text)
        return cls(
            name=name,
            kind=kind,
            text_header=f"# HELP {name} {help_line}\n# TYPE {name} {text_kind}\n",
            om_header=f"# HELP {om_name} {help_line}\n# TYPE {om_name} {kind}\n",
        )


@dataclass(slots=True)
class _DeviceCache:
    reading_version: int = -1
    stats_version: int = -1
    reading_chunks: dict[str, str] = field(default_factory=dict)
    stats_chunks: dict[str, str] = field(default_factory=dict)


def _labels(device: str, labels: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{key}="{escape_label(value)}"' for key, value in labels)
    head = f'device="{escape_label(device)}"'
    return "{" + head + ("," + inner if inner else "") + "}"


class Renderer:
    """Renders the store; caches per device, per family, and the whole page."""

    def __init__(self, store: Store, naming_for: Callable[[str], RawNaming]) -> None:
        self._store = store
        self._naming_for = naming_for
        self._families: dict[str, _Family] = {}
        self._rejected: set[str] = set()
        self._by_family: dict[str, dict[str, str]] = {}
        self._devices: dict[str, _DeviceCache] = {}
        self._page: dict[bool, tuple[int, bytes]] = {}
        for spec in contract.ORDERED:
            self._family(spec.name, spec.kind, spec.help)
        build = _Family.make(contract.BUILD_INFO.name, "info", contract.BUILD_INFO.help)
        labels = f'{{version="{__version__}",python="{platform.python_version()}"}}'
        self._build_text = build.text_header + f"{build.name}{labels} 1\n"
        self._build_om = build.om_header + f"{build.name}{labels} 1\n"
        # The process collector is prometheus_client's: it reads /proc for us. Its few series
        # change on every scrape, so they are rendered per scrape and never cached.
        self._process = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self._process)

    def _family(self, name: str, kind: MetricKind, help_text: str) -> _Family | None:
        family = self._families.get(name)
        if family is not None:
            return family if family.kind == kind else None
        if name in self._rejected:
            return None
        problem = problem_with_family(name, kind)
        if problem is not None:
            self._rejected.add(name)
            log.warning("dropping raw metric family: %s", problem)
            return None
        family = _Family.make(name, kind, help_text)
        self._families[name] = family
        self._by_family[name] = {}
        return family

    # -- per device ---------------------------------------------------------------------

    def _raw_chunks(self, device: str, samples: Iterable[RawSample], out: dict[str, str]) -> None:
        for sample in samples:
            spec = sample.family
            family = self._family(spec.name, spec.kind, spec.help)
            if family is None:
                continue
            bad = next((p for key, _ in sample.labels if (p := problem_with_label(key))), None)
            if bad is not None:
                log.debug("dropping sample of %s: %s", spec.name, bad)
                continue
            line = f"{spec.name}{_labels(device, sample.labels)} {format_value(sample.value)}\n"
            out[spec.name] = out.get(spec.name, "") + line

    def _reading_chunks(self, state: DeviceState) -> dict[str, str]:
        out: dict[str, str] = {}
        identity = state.identity
        out[contract.INFO.name] = self._info_line(state.name, identity)
        naming = self._naming_for(state.source)
        reading = state.reading
        if reading is None:
            self._raw_chunks(state.name, naming.down_samples(identity), out)
            return out
        device_open = '{device="' + escape_label(state.name) + '"'
        for measure, value in reading.measures.items():
            name = contract.MEASURES[measure].name
            out[name] = f"{name}{device_open}}} {format_value(value)}\n"
        status = contract.STATUS.name
        lines = [
            f'{status}{device_open},flag="{flag.value}"}} {1 if flag in reading.flags else 0}\n'
            for flag in contract.FLAG_ORDER
            if flag in reading.known_flags
        ]
        if lines:
            out[status] = "".join(lines)
        self._raw_chunks(state.name, naming.samples(reading), out)
        return out

    @staticmethod
    def _info_line(device: str, identity: DeviceIdentity) -> str:
        labels = (
            ("source", identity.source),
            ("vendor", identity.vendor),
            ("model", identity.model),
            ("serial", identity.serial),
            ("firmware", identity.firmware),
        )
        return f"{contract.INFO.name}{_labels(device, labels)} 1\n"

    @staticmethod
    def _stats_chunks(state: DeviceState) -> dict[str, str]:
        device = _labels(state.name, ())
        out = {contract.UP.name: f"{contract.UP.name}{device} {1 if state.up else 0}\n"}
        if state.last_seen is not None:
            name = contract.LAST_SEEN.name
            out[name] = f"{name}{device} {format_value(state.last_seen)}\n"
        if state.read_duration is not None:
            name = contract.READ_DURATION.name
            out[name] = f"{name}{device} {format_value(state.read_duration)}\n"
        if state.errors:
            name = contract.READ_ERRORS.name
            out[name] = "".join(
                f"{name}{_labels(state.name, (('reason', reason),))} {count}\n"
                for reason, count in sorted(state.errors.items())
            )
        name = contract.MESSAGES.name
        out[name] = f"{name}{device} {state.messages}\n"
        return out

    def _swap(self, device: str, old: dict[str, str], new: dict[str, str]) -> None:
        for name in old.keys() - new.keys():
            self._by_family[name].pop(device, None)
        for name, chunk in new.items():
            self._by_family[name][device] = chunk

    def _refresh(self, state: DeviceState) -> _DeviceCache:
        cache = self._devices.get(state.name)
        if cache is None:
            cache = self._devices[state.name] = _DeviceCache()
        if cache.reading_version != state.reading_version:
            chunks = self._reading_chunks(state)
            self._swap(state.name, cache.reading_chunks, chunks)
            cache.reading_chunks = chunks
            cache.reading_version = state.reading_version
        if cache.stats_version != state.stats_version:
            chunks = self._stats_chunks(state)
            self._swap(state.name, cache.stats_chunks, chunks)
            cache.stats_chunks = chunks
            cache.stats_version = state.stats_version
        return cache

    def _forget_removed(self, present: set[str]) -> None:
        for name in self._devices.keys() - present:
            cache = self._devices.pop(name)
            self._swap(name, cache.reading_chunks, {})
            self._swap(name, cache.stats_chunks, {})

    # -- pages ------------------------------------------------------------------------------

    def render(self, *, openmetrics: bool = False) -> bytes:
        """The whole exposition: every device, then the exporter's own process."""
        if openmetrics:
            om: bytes = _process_om(self._process)  # type: ignore[no-untyped-call]
            process = om.removesuffix(b"# EOF\n")
            return self._devices_page(openmetrics=True) + process + b"# EOF\n"
        return self._devices_page(openmetrics=False) + _process_text(self._process)

    def _devices_page(self, *, openmetrics: bool) -> bytes:
        cached = self._page.get(openmetrics)
        if cached is not None and cached[0] == self._store.version:
            return cached[1]
        version = self._store.version
        present: set[str] = set()
        for state in self._store:
            present.add(state.name)
            self._refresh(state)
        if len(present) != len(self._devices):
            self._forget_removed(present)
        parts: list[str] = []
        for name, family in self._families.items():
            chunks = self._by_family[name]
            if chunks:
                parts.append(family.om_header if openmetrics else family.text_header)
                parts.extend(chunks.values())
        parts.append(self._build_om if openmetrics else self._build_text)
        page = "".join(parts).encode()
        self._page[openmetrics] = (version, page)
        return page

    def render_device(self, name: str, *, openmetrics: bool = False) -> bytes:
        """The exposition of one device (for ``/probe``)."""
        state = self._store.get(name)
        parts: list[str] = []
        if state is not None:
            cache = self._refresh(state)
            chunks = {**cache.reading_chunks, **cache.stats_chunks}
            for family_name, family in self._families.items():
                chunk = chunks.get(family_name)
                if chunk:
                    parts.append(family.om_header if openmetrics else family.text_header)
                    parts.append(chunk)
        if openmetrics:
            parts.append("# EOF\n")
        return "".join(parts).encode()
