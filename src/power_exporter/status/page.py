"""The status page: a headline, one card per device, sparklines of the last hour.

It is plain server-rendered HTML: every text goes through ``html.escape`` and every link
through ``urllib.parse.quote``, charts are inline SVG, styles and the script are files of
the exporter (nothing from the internet). Without JavaScript it is a page that a
``<noscript>`` refresh reloads every 30 s; with it, ``status.js`` polls the JSON API and,
when a device changed, swaps in this page's new ``#live`` part without a reload.
"""

from __future__ import annotations

from html import escape
from itertools import groupby
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from power_exporter import __version__
from power_exporter.model import Flag, Measure
from power_exporter.status.api import summarize
from power_exporter.status.history import power_of
from power_exporter.status.spark import sparkline, thin
from power_exporter.status.words import ago, celsius, duration, hertz, percent, volts, watts

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from power_exporter.status.api import DeviceView, Summary


# The rows of a card below the charge bar: a label and the measures it joins, in order.
ROWS: Final[tuple[tuple[str, tuple[tuple[Measure, Callable[[float], str]], ...]], ...]] = (
    ("Runtime", ((Measure.BATTERY_RUNTIME, duration),)),  # shown by the charge when it has one
    ("Load", ((Measure.LOAD, percent), (Measure.NOMINAL_POWER, lambda v: f"of {watts(v)}"))),
    ("Output", ((Measure.OUTPUT_POWER, watts), (Measure.OUTPUT_VOLTAGE, volts))),
    ("Input", ((Measure.INPUT_POWER, watts), (Measure.INPUT_VOLTAGE, volts))),
    ("Frequency", ((Measure.INPUT_FREQUENCY, hertz),)),
    ("Solar", ((Measure.SOLAR_INPUT_POWER, watts),)),
    ("Battery", ((Measure.BATTERY_VOLTAGE, volts), (Measure.BATTERY_TEMPERATURE, celsius))),
    ("Battery health", ((Measure.BATTERY_HEALTH, percent),)),
)

# Status badges: the flag, its words and its tone. The words carry the meaning; the tone
# and the symbol only repeat it (colour is never the only signal).
BADGES: Final[tuple[tuple[Flag, str, str, str], ...]] = (
    (Flag.SHUTDOWN_IMMINENT, "Shutdown imminent", "bad", "⏻"),
    (Flag.LOW_BATTERY, "Low battery", "bad", "▼"),
    (Flag.ON_BATTERY, "On battery", "warn", "⚡"),
    (Flag.OVERLOAD, "Overload", "bad", "▲"),
    (Flag.REPLACE_BATTERY, "Replace battery", "bad", "⚠"),
    (Flag.BYPASS, "Bypass", "warn", "↷"),
    (Flag.OFF, "Output off", "bad", "○"),
    (Flag.CHARGING, "Charging", "info", "↑"),
    (Flag.DISCHARGING, "Discharging", "warn", "↓"),
    (Flag.CALIBRATING, "Calibrating", "info", "◌"),
    (Flag.TRIM, "Trimming voltage", "info", "↘"),
    (Flag.BOOST, "Boosting voltage", "info", "↗"),
    (Flag.ALARM, "Alarm", "bad", "!"),
)

# The headline's symbol per level (its words say the same).
LEVEL_SYMBOLS: Final[Mapping[str, str]] = {
    "ok": "✓",
    "battery": "⚡",
    "low": "▼",
    "down": "✕",
    "pending": "…",
    "empty": "·",
}
STATE_WORDS: Final[Mapping[str, tuple[str, str]]] = {
    "up": ("●", "Up"),
    "down": ("✕", "Down"),
    "pending": ("…", "Waiting"),
}


def _badges(device: DeviceView) -> str:
    items = [
        f'<li class="badge {tone}"><span aria-hidden="true">{symbol}</span> {words}</li>'
        for flag, words, tone, symbol in BADGES
        if device.has(flag)
    ]
    on_mains = not device.has(Flag.ON_BATTERY) and (
        Flag.ON_BATTERY in device.known_flags or device.has(Flag.ONLINE)
    )
    if device.state == "up" and on_mains:
        items.insert(0, '<li class="badge ok"><span aria-hidden="true">✓</span> On mains</li>')
    return f'<ul class="badges" aria-label="status">{"".join(items)}</ul>' if items else ""


def _charge(device: DeviceView) -> str:
    charge = device.measures.get(Measure.BATTERY_CHARGE)
    if charge is None:
        return ""
    tone = "bad" if device.has(Flag.LOW_BATTERY) else "warn" if charge < 0.5 else "ok"  # noqa: PLR2004
    width = f"{charge * 100:.1f}"
    runtime = device.measures.get(Measure.BATTERY_RUNTIME)
    left = ""
    if runtime is not None:  # how long the battery lasts: what matters most on battery
        draining = "draining" if device.has(Flag.ON_BATTERY) else ""
        words = "left" if draining else "runtime"
        left = f'<span class="left {draining}">{duration(runtime)} {words}</span>'
    return (
        '<div class="charge">'
        f'<span class="label">Charge{left}</span><strong class="value">{percent(charge)}</strong>'
        f'<svg class="bar {tone}" viewBox="0 0 100 10" preserveAspectRatio="none"'
        ' aria-hidden="true"><rect class="track" width="100" height="10"/>'
        f'<rect class="fill" width="{width}" height="10"/></svg>'
        "</div>"
    )


def _rows(device: DeviceView) -> str:
    cells = []
    for label, parts in ROWS:
        if label == "Runtime" and Measure.BATTERY_CHARGE in device.measures:
            continue
        shown = [fmt(device.measures[m]) for m, fmt in parts if m in device.measures]
        joiner = " " if label == "Load" else " · "  # "31 % of 2.7 kW"; "812 W · 230 V"
        if shown and not (label == "Load" and Measure.LOAD not in device.measures):
            cells.append(f"<div><dt>{label}</dt><dd>{escape(joiner.join(shown))}</dd></div>")
    return f'<dl class="measures">{"".join(cells)}</dl>' if cells else ""


def _history(device: DeviceView, now: float) -> str:
    """Sparklines of the ring, ending at the reading shown above them when it is newer."""
    series = device.history
    if series is None:
        return ""
    times = list(series.times)
    columns = [list(series.charge), list(series.load), list(series.power)]
    up = device.state == "up"  # a device down has no value now, only its past
    if up and device.last_reading is not None and (not times or device.last_reading > times[-1]):
        times.append(int(device.last_reading))
        live = (Measure.BATTERY_CHARGE, Measure.LOAD, None)
        for column, measure in zip(columns, live, strict=True):
            column.append(device.measures.get(measure) if measure else power_of(device.measures))
    if len(times) < 2:  # noqa: PLR2004
        return '<p class="muted small">History: collecting the first samples…</p>'
    span = duration(now - times[0]) if now - times[0] < 3540 else "1 h"  # noqa: PLR2004
    times, (charge, load, power) = thin(times, columns)
    charts = [
        sparkline("Charge", times, charge, percent, upper=1.0, now=up),
        sparkline("Load", times, load, percent, upper=1.0, now=up),
        sparkline("Power", times, power, watts, now=up),
    ]
    shown = "".join(chart for chart in charts if chart)
    if not shown:
        return ""
    return f'<div class="history"><p class="muted small">Last {escape(span)}</p>{shown}</div>'


def _card(device: DeviceView, now: float) -> str:
    symbol, words = STATE_WORDS[device.state]
    what = " ".join(part for part in (device.vendor, device.model) if part)
    meta = " · ".join(escape(part) for part in (what, device.source) if part)
    name = quote(device.name, safe="")
    reason = ""
    if device.state == "down":
        why = escape(device.reason or "unknown")
        detail = f": {escape(device.error)}" if device.error else ""
        reason = f'<p class="reason"><strong>{why}</strong>{detail}</p>'
    age = "" if device.age is None else f' data-age="{device.age:.1f}"'
    level = (
        "down"
        if device.state != "up"
        else "low"
        if device.has(Flag.LOW_BATTERY)
        else "battery"
        if device.has(Flag.ON_BATTERY)
        else "ok"
    )
    return (
        f'<li class="device {device.state} level-{level}" data-device="{escape(device.name)}">'
        f'<article aria-label="{escape(device.name)}">'
        '<header class="card-head">'
        f"<h3>{escape(device.name)}</h3>"
        f'<span class="state {device.state}">'
        f'<span aria-hidden="true">{symbol}</span> {words}</span>'
        f'<p class="meta muted">{meta}</p>'
        "</header>"
        f"{reason}{_badges(device)}{_charge(device)}{_rows(device)}{_history(device, now)}"
        '<footer class="card-foot muted small">'
        f'<span>Last reading <span class="age"{age}>{ago(device.age)}</span></span>'
        f'<span><a href="probe?target={name}">metrics</a> · '
        f'<a href="api/v1/devices/{name}?history=1h">JSON</a></span>'
        "</footer></article></li>"
    )


def _groups(devices: Iterable[DeviceView], now: float) -> str:
    """Devices of one entry together; a fan-out entry under a heading of its own."""
    singles: list[str] = []
    sections: list[str] = []
    for entry, members in groupby(devices, key=lambda device: device.entry):
        group = list(members)
        cards = "".join(_card(device, now) for device in group)
        if len(group) == 1 and group[0].name == entry:
            singles.append(cards)
            continue
        sections.append(
            f'<section class="entry" aria-label="{escape(entry)}">'
            f'<h2>{escape(entry)} <span class="muted small">{len(group)} devices</span></h2>'
            f'<ul class="cards">{cards}</ul></section>'
        )
    lone = f'<ul class="cards">{"".join(singles)}</ul>' if singles else ""
    return lone + "".join(sections)


def _counts(summary: Summary) -> str:
    parts = [f"{summary.up} of {summary.total} devices up"]
    if summary.on_battery:
        parts.append(f"{len(summary.on_battery)} on battery")
    if summary.low_battery:
        parts.append(f"{len(summary.low_battery)} low")
    if summary.down:
        parts.append(f"{len(summary.down)} down")
    return " · ".join(parts)


def render(devices: list[DeviceView], now: float, refresh: float) -> str:
    """The whole page."""
    summary = summarize(devices)
    body = _groups(devices, now) or '<p class="muted">No devices configured.</p>'
    version = escape(__version__)
    return _PAGE.format(
        title=escape(summary.headline),
        version=version,
        refresh=f"{refresh:g}",
        level=summary.level,
        symbol=LEVEL_SYMBOLS[summary.level],
        headline=escape(summary.what),
        left=(
            f' <span class="left"><span class="sep">· </span>{escape(summary.left)}</span>'
            if summary.left
            else ""
        ),
        counts=escape(_counts(summary)),
        body=body,
    )


_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title} · power-exporter</title>
<link rel="stylesheet" href="static/status.css?v={version}">
<noscript><meta http-equiv="refresh" content="30"></noscript>
<script src="static/status.js?v={version}" defer></script>
</head>
<body data-refresh="{refresh}">
<p id="connection" class="connection" role="alert" hidden></p>
<p id="announce" class="visually-hidden" aria-live="polite"></p>
<div id="live">
<header class="summary level-{level}">
<p class="brand muted small">power-exporter {version}</p>
<h1><span class="symbol" aria-hidden="true">{symbol}</span> {headline}{left}</h1>
<p class="counts">{counts}</p>
</header>
<main>
<h2 class="visually-hidden">Devices</h2>
{body}
</main>
</div>
<footer class="page-foot muted small">
<a href="metrics">/metrics</a> · <a href="api/v1/devices">JSON API</a> ·
<a href="sd">service discovery</a> · <a href="healthz">health</a>
</footer>
</body>
</html>
"""
