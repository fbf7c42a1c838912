"""Sparklines: one series of the last hour as a small inline SVG, with words for readers."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

POINTS: Final = 60  # samples drawn at most: one a minute over the hour, plenty at 200 px
WIDTH: Final = 200.0
HEIGHT: Final = 36.0
_PAD: Final = 2.0  # room for the stroke at the top and the bottom
_HEADROOM: Final = 1.15  # an open-ended series (watts) tops out this much above its highest


def thin(
    times: Sequence[int], columns: Sequence[Sequence[float | None]], points: int = POINTS
) -> tuple[list[int], list[list[float | None]]]:
    """At most ``points`` samples: the mean of each run of consecutive samples (None if none).

    A sparkline cannot show more points than it has pixels to spare, and 360 samples of
    three series for every device would make the page ten times heavier for nothing.
    Samples are evenly spaced (one per step), so runs of equal length are equal spans of time.
    """
    size = len(times)
    if size <= points:
        return list(times), [list(column) for column in columns]
    run = -(-size // points)  # ceiling division
    starts = range(0, size, run)
    thinned: list[list[float | None]] = []
    for column in columns:
        out: list[float | None] = []
        for start in starts:
            present = [value for value in column[start : start + run] if value is not None]
            out.append(sum(present) / len(present) if present else None)
        thinned.append(out)
    return [times[min(start + run, size) - 1] for start in starts], thinned


def _segments(
    times: Sequence[int], values: Sequence[float | None]
) -> list[list[tuple[int, float]]]:
    """Runs of samples with a value; a None (no value, or the device down) breaks the line."""
    runs: list[list[tuple[int, float]]] = [[]]
    for when, value in zip(times, values, strict=True):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((when, value))
    return [run for run in runs if run]


def sparkline(
    label: str,
    times: Sequence[int],
    values: Sequence[float | None],
    fmt: Callable[[float], str],
    upper: float | None = None,
    *,
    now: bool = True,
) -> str:
    """The row of one series: its label, the chart and the latest value ("" if no value).

    ``now=False`` (the device is down) leaves the latest value out: it is not the value now.

    The x axis runs from the first sample to the last; the y axis from 0 to ``upper``
    (a ratio's 1), or to a little above the highest value when there is no upper bound
    or a value passes it (a load above 100 %).
    """
    runs = _segments(times, values)
    if not runs:
        return ""
    present = [value for run in runs for _, value in run]
    highest = max(present)
    top = upper if upper is not None and highest <= upper else highest * _HEADROOM
    top = top or 1.0
    start, end = times[0], max(times[-1], times[0] + 1)

    def x(when: int) -> float:
        return (when - start) / (end - start) * WIDTH

    def y(value: float) -> float:
        return HEIGHT - _PAD - max(0.0, value) / top * (HEIGHT - 2 * _PAD)

    lines, areas = [], []
    for run in runs:
        points = " L".join(f"{x(when):.1f},{y(value):.1f}" for when, value in run)
        lines.append(f"M{points}")
        first, last = x(run[0][0]), x(run[-1][0])
        areas.append(f"M{first:.1f},{HEIGHT:.0f} L{points} L{last:.1f},{HEIGHT:.0f} Z")
    latest = present[-1]
    words = (
        f"{label}: from {fmt(present[0])} to {fmt(latest)},"
        f" lowest {fmt(min(present))}, highest {fmt(highest)}"
    )
    return (
        '<div class="spark">'
        f'<span class="spark-label">{escape(label)}</span>'
        f'<svg viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" preserveAspectRatio="none" role="img"'
        f' aria-label="{escape(words)}"><title>{escape(words)}</title>'
        f'<path class="area" d="{" ".join(areas)}"/>'
        f'<path class="line" d="{" ".join(lines)}"/></svg>'
        f'<span class="spark-value">{escape(fmt(latest)) if now else "—"}</span>'
        "</div>"
    )
