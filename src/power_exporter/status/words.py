"""Numbers in the words the page uses: '91 %', '1 h 12 min', '1.53 kW', '3 s ago'."""

from __future__ import annotations


def percent(ratio: float) -> str:
    """0.912 -> '91 %'."""
    return f"{ratio * 100:.0f} %"


def duration(seconds: float) -> str:
    """4320 -> '1 h 12 min', 1500 -> '25 min', 45 -> '45 s'."""
    seconds = max(0, round(seconds))
    if seconds < 60:  # noqa: PLR2004
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def watts(value: float) -> str:
    """594 -> '594 W', 1530 -> '1.53 kW'."""
    return f"{value / 1000:.3g} kW" if abs(value) >= 1000 else f"{value:.0f} W"  # noqa: PLR2004


def volts(value: float) -> str:
    """230.6 -> '231 V', 25.8 -> '25.8 V', 0.0 -> '0 V'."""
    return f"{value:.0f} V" if abs(value) >= 100 or value == 0 else f"{value:.1f} V"  # noqa: PLR2004


def hertz(value: float) -> str:
    """50.0 -> '50 Hz'."""
    return f"{value:.3g} Hz"


def celsius(value: float) -> str:
    """31.5 -> '31.5 °C'."""
    return f"{value:.1f} °C"


def ago(seconds: float | None) -> str:
    """How long ago the last reading was, in words."""
    if seconds is None:
        return "never"
    if seconds < 60:  # noqa: PLR2004
        return f"{seconds:.0f} s ago"
    if seconds < 3600:  # noqa: PLR2004
        return f"{seconds // 60:.0f} min ago"
    return f"{seconds // 3600:.0f} h ago"
