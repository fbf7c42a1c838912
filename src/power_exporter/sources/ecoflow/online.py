"""Whether an app-API device is online, from the data it pushes, and when to nudge it.

The model (DESIGN; tolwi/hassio-ecoflow-cloud's ``device_status``):

- **online** while data arrives;
- **assume offline** after ``assume_offline_after`` (300 s) of silence: the last values stay
  exported, and the device is nudged with the read-only "get everything" request, whose
  reply carries the cloud's ``online`` flag;
- **offline** after ``offline_after`` (900 s) of silence, or at once when a reply says
  ``online: 0``; data that arrives again makes it online.

Nudges: with ``api: device`` a silent device is asked after ``nudge_every`` seconds (seed 002's
QUOTA_REQUEST_INTERVAL, skipped while pushes arrive), then, while no answer comes, after twice
as long each time, up to ``assume_offline_after``; with ``api: mqtt`` (passive) only once
per silence, when it turns *assume offline*. Times are plain floats (``time.monotonic``) so
tests drive the model with any clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

ASSUME_OFFLINE_AFTER: Final = 300.0
OFFLINE_AFTER: Final = 900.0


class Presence(StrEnum):
    """The online state of a device."""

    ONLINE = "online"
    ASSUME_OFFLINE = "assume_offline"
    OFFLINE = "offline"


@dataclass(slots=True)
class OnlineModel:
    """The online state machine of one device; ``started`` is when we began listening."""

    started: float
    assume_offline_after: float = ASSUME_OFFLINE_AFTER
    offline_after: float = OFFLINE_AFTER
    nudge_every: float | None = None
    state: Presence = Presence.ONLINE
    last_data: float | None = None
    last_nudge: float | None = None
    cloud_offline: bool = False
    unanswered: int = 0  # get requests sent since the last data
    _nudged_this_silence: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.assume_offline_after <= self.offline_after:
            raise ValueError("need 0 < assume_offline_after <= offline_after")

    def silence(self, now: float) -> float:
        """Seconds since the last data (since we started listening, before any)."""
        return now - (self.last_data if self.last_data is not None else self.started)

    def data(self, now: float) -> Presence | None:
        """Data arrived; returns the new state when it changed."""
        self.last_data = now
        self.cloud_offline = False
        self._nudged_this_silence = False
        self.unanswered = 0
        return self._enter(Presence.ONLINE)

    def cloud_says_offline(self) -> Presence | None:
        """A reply said ``online: 0``; returns the new state when it changed."""
        self.cloud_offline = True
        return self._enter(Presence.OFFLINE)

    def tick(self, now: float) -> Presence | None:
        """Advance by the clock; returns the new state when it changed."""
        silence = self.silence(now)
        if self.cloud_offline or silence >= self.offline_after:
            return self._enter(Presence.OFFLINE)
        if silence >= self.assume_offline_after:
            return self._enter(Presence.ASSUME_OFFLINE)
        return None

    def nudge_due(self, now: float) -> bool:
        """Whether to send the read-only get request now (call :meth:`nudged` when sent)."""
        if self.nudge_every is not None:
            silent = self.last_data is None or now - self.last_data >= self.nudge_every
            rested = self.last_nudge is None or now - self.last_nudge >= self.nudge_gap()
            return silent and rested
        return self.state is Presence.ASSUME_OFFLINE and not self._nudged_this_silence

    def nudge_gap(self) -> float:
        """Seconds between get requests: ``nudge_every``, doubling while none is answered.

        The gap grows up to ``assume_offline_after`` (or ``nudge_every`` if that is longer).
        """
        every = self.nudge_every or self.assume_offline_after
        doubled = every * 2.0 ** max(0, min(self.unanswered - 1, 16))
        return min(doubled, max(every, self.assume_offline_after))

    def nudged(self, now: float) -> None:
        """Record that the get request went out."""
        self.last_nudge = now
        self.unanswered += 1
        self._nudged_this_silence = True

    def _enter(self, state: Presence) -> Presence | None:
        if state is self.state:
            return None
        self.state = state
        return state
