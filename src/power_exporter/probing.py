"""``/probe``: one device read on its own, within Prometheus's budget, never amplified.

- **Isolated.** A probe reads the one device it names (a source with ``read_one`` asks for
  that UPS or serial only; others read their entry under its lock, filtered to the device).
  The result goes into a store of the prober's own, rendered by a renderer of its own: the
  state and counters ``/metrics`` serves never change because of a probe. Probes are counted
  in ``power_exporter_probes_total{result}`` and friends (the main store's ProbeStats).
- **Within the budget.** The read runs in a task of its own, under the device's ``timeout``;
  each probe waits for it at most its budget less ``SEND_RESERVE`` (lock waits and
  connection set-up included, since they happen in that task) and then answers
  ``power_device_up 0`` with reason ``timeout``. The read goes on and serves the next
  probes when it ends.
- **Coalesced.** Probes of a device share the read in flight, and a new read starts at most
  once per ``probe_min_interval`` (default: half the device's interval); in between, a
  probe answers with the newest probe reading. So probes can never read a device (or spend
  a cloud quota) faster than configured, however many arrive.
- ``fresh=0``, a streaming device, or a device that cannot be read now (its source is
  closed between reconnection attempts): the caller serves the background state instead
  (``None`` here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from power_exporter.errors import DeviceTimeoutError, ProtocolError, SourceError
from power_exporter.exposition.text import Renderer
from power_exporter.model import Reading, Roster
from power_exporter.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from power_exporter.model import Event
    from power_exporter.sources.base import DeviceConfig, RawNaming

log = logging.getLogger(__name__)

_PRUNE_SLACK: Final = 16  # devices gone from the main store kept before pruning
# Of the budget, what is kept to render and send the answer: a probe stops waiting for the
# read this much before its budget ends (a quarter of it for tiny budgets).
SEND_RESERVE: Final = 0.2


class ProbeHost(Protocol):
    """What the prober needs of the runtime."""

    store: Store

    def probe_target(self, device: str) -> tuple[DeviceConfig, bool]:
        """The device's entry config, and whether it can be read now (KeyError: unknown)."""
        ...

    async def read_device(self, device: str) -> Sequence[Event]:
        """Read one device apart from the poll loop; nothing reaches the store."""
        ...


@dataclass(slots=True)
class _Slot:
    """The probe reads of one device."""

    task: asyncio.Task[None] | None = None
    started: float | None = None  # monotonic time the last read started
    timed_out: bool = False  # a probe already recorded that the current read overran


class Prober:
    """Answers ``/probe`` for the devices of one runtime."""

    def __init__(self, host: ProbeHost, naming_for: Callable[[str], RawNaming]) -> None:
        self._host = host
        self.store = Store()  # the probes' own device states: /metrics never renders them
        self._renderer = Renderer(self.store, naming_for)
        self._slots: dict[str, _Slot] = {}

    async def probe(
        self, device: str, budget: float, *, fresh: bool = True, openmetrics: bool = False
    ) -> bytes | None:
        """The exposition of ``device`` within ``budget`` seconds; None: serve its stored state.

        Raises KeyError for a device the runtime does not know.
        """
        started = time.monotonic()
        stats = self._host.store.probes
        cfg, readable = self._host.probe_target(device)
        if not fresh or not readable:
            stats.observe("stored", time.monotonic() - started)
            return None
        slot = self._slot(device)
        if slot.task is not None and not slot.task.done():
            result = "shared"
        elif (
            slot.started is not None
            and started - slot.started < cfg.probe_spacing
            and device in self.store
        ):
            result = "cached"
        else:
            result = "fresh"
            slot.started, slot.timed_out = started, False
            slot.task = asyncio.create_task(self._read(device, cfg, slot), name=f"probe {device}")
            stats.reads += 1
        if result != "cached" and slot.task is not None:
            try:
                wait = budget - min(SEND_RESERVE, budget / 4) - (time.monotonic() - started)
                async with asyncio.timeout(max(0.0, wait)):
                    await asyncio.shield(slot.task)
            except TimeoutError:
                result = "timeout"
                if not slot.timed_out:
                    slot.timed_out = True
                    error = DeviceTimeoutError(f"no answer within the probe's {budget:g} s")
                    self._record_fault(device, cfg, error.reason, str(error))
        body = self._renderer.render_device(device, openmetrics=openmetrics)
        stats.observe(result, time.monotonic() - started)
        return body

    def _slot(self, device: str) -> _Slot:
        slot = self._slots.get(device)
        if slot is not None:
            return slot
        main = self._host.store
        if len(self._slots) > len(main) + _PRUNE_SLACK:  # devices that left the runtime
            for name in [n for n, s in self._slots.items() if n not in main and not _busy(s)]:
                del self._slots[name]
                self.store.remove(name)
        slot = self._slots[device] = _Slot()
        return slot

    async def _read(self, device: str, cfg: DeviceConfig, slot: _Slot) -> None:
        """One read of the device, its result into the prober's store."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(cfg.timeout):
                events = await self._host.read_device(device)
        except TimeoutError:
            self._failed(device, cfg, slot, "timeout", f"no answer within {cfg.timeout:g} s")
        except SourceError as exc:
            self._failed(device, cfg, slot, exc.reason, str(exc))
        except Exception as exc:
            log.exception("bug while probing %s", device)
            self._failed(device, cfg, slot, "bug", f"{type(exc).__name__}: {exc}")
        else:
            mine = [e for e in events if not isinstance(e, Roster) and e.device == device]
            if not mine:
                error = ProtocolError(f"the read of {cfg.name} gave no data for {device}")
                self._failed(device, cfg, slot, error.reason, str(error))
            for event in mine:
                if isinstance(event, Reading):
                    self.store.update(event, unit=cfg.name, interval=cfg.interval)
                else:
                    self._failed(device, cfg, slot, event.error.reason, str(event.error))
        self.store.observe_read(device, time.monotonic() - started)

    def _failed(self, device: str, cfg: DeviceConfig, slot: _Slot, reason: str, text: str) -> None:
        log.debug("probe of %s failed (%s): %s", device, reason, text)
        if slot.timed_out:  # a probe counted this read's failure (timeout) already
            return
        self._record_fault(device, cfg, reason, text)

    def _record_fault(self, device: str, cfg: DeviceConfig, reason: str, text: str) -> None:
        self.store.register(device, source=cfg.source, unit=cfg.name, interval=cfg.interval)
        self.store.mark_down(device, reason, text)

    async def stop(self) -> None:
        """Cancel the reads in flight."""
        tasks = [slot.task for slot in self._slots.values() if _busy(slot) and slot.task]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _busy(slot: _Slot) -> bool:
    return slot.task is not None and not slot.task.done()
