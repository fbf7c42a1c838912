"""The status page in a real headless Chromium: live through a power cut and a dead device.

The exporter runs as a real process on the demo (examples/demo.yaml: three replayed UPSes,
office-ups going through a power cut on a loop), copied to a temporary folder with its
clock sped up five times (timers and intervals), so the cut comes 12 s in rather than 60 s.
The page is loaded once; everything after comes from its script polling the JSON API: a
marker set in the page at the start must survive, which a reload would have cleared.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.e2e.test_prometheus import fetch, free_port, running, wait_for
from tests.peers.chromium import Chromium, chromium_binary

if TYPE_CHECKING:
    from collections.abc import Callable

EXAMPLES = Path(__file__).parents[2] / "examples"
SPEED = 5  # the demo's clock runs this many times faster
# Generous for a loaded 2-core machine: the page polls every 2 s, the replay loops every 40 s.
DEADLINE = 90.0


def fast_demo(directory: Path, speed: int = SPEED) -> Path:
    """Copy the demo into ``directory`` with its timers and intervals divided by ``speed``."""
    shutil.copytree(EXAMPLES / "demo", directory / "demo")
    config = (EXAMPLES / "demo.yaml").read_text()
    config = re.sub(r"interval: (\d+)s", lambda m: f"interval: {int(m[1]) / speed:g}s", config)
    (directory / "demo.yaml").write_text(config)
    sequence = directory / "demo" / "power-cut.seq"
    sequence.write_text(
        re.sub(
            r"^TIMER (\d+)$",
            lambda m: f"TIMER {max(2, math.ceil(int(m[1]) / speed))}",
            sequence.read_text(),
            flags=re.MULTILINE,
        )
    )
    return directory / "demo.yaml"


def card_script(name: str) -> str:
    """JavaScript that describes one device's card as the page shows it now."""
    return f"""(() => {{
      const card = document.querySelector('[data-device="' + CSS.escape({json.dumps(name)}) + '"]');
      if (!card) return null;
      const text = (selector) => card.querySelector(selector)?.textContent.trim() ?? null;
      return {{
        state: text('.state'),
        badges: [...card.querySelectorAll('.badge')].map((badge) => badge.textContent.trim()),
        charge: text('.charge .value'),
        reason: text('.reason'),
        headline: document.querySelector('h1').textContent.trim(),
        counts: document.querySelector('.counts').textContent.trim(),
        notReloaded: window.notReloaded === true,
      }};
    }})()"""


async def until(
    browser: Chromium, name: str, what: str, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll the page until the device's card passes ``check``; the card as last seen."""
    card: dict[str, Any] | None = None
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while asyncio.get_running_loop().time() < deadline:
        card = await browser.evaluate(card_script(name))
        if card is not None and check(card):
            return card
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what}: not within {DEADLINE:.0f} s; the card was {card}")


def percent(card: dict[str, Any]) -> int:
    return int(str(card["charge"]).removesuffix(" %"))


async def test_power_cut_and_dead_device_seen_live(tmp_path: Path) -> None:
    """On battery with charge falling, then a device down with its reason, all without a reload."""
    binary = chromium_binary()  # skip (or fail under CI) before starting anything
    config = fast_demo(tmp_path / "demo")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    exporter = str(Path(sys.executable).with_name("power-exporter"))
    command = [exporter, "serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"]
    with running(command, tmp_path / "exporter.log") as process:
        wait_for(
            "the demo up",
            lambda: json.loads(fetch(f"{base}/api/v1/devices"))["summary"]["up"] == 3,
            process,
        )
        async with Chromium(binary) as browser:
            await browser.emulate(width=1280, height=900, mobile=False, dark=False)
            await browser.goto(f"{base}/")
            await browser.evaluate("window.notReloaded = true")

            cut = await until(
                browser,
                "office-ups",
                "office-ups on battery",
                lambda c: "⚡ On battery" in c["badges"],
            )
            assert cut["state"] == "● Up"
            await browser.screenshot(tmp_path / "status-power-cut.png")
            later = await until(
                browser,
                "office-ups",
                "office-ups charge falling",
                lambda c: c["charge"] is not None and percent(c) < percent(cut),
            )
            assert "⚡ On battery" in later["badges"], later
            assert re.search(r"(On|Low) battery: office-ups", later["headline"]), later
            assert later["notReloaded"], "the page was reloaded"

            (tmp_path / "demo" / "demo" / "rack-ups.dev").unlink()
            dead = await until(
                browser, "rack-ups", "rack-ups down", lambda c: c["state"] == "✕ Down"
            )
            assert dead["reason"] is not None
            assert dead["reason"].startswith("connect: cannot read replay file"), dead
            assert "1 down" in dead["counts"], dead
            assert dead["notReloaded"], "the page was reloaded"
            await browser.screenshot(tmp_path / "status-device-down.png")
    for shot in ("status-power-cut.png", "status-device-down.png"):
        assert (tmp_path / shot).read_bytes().startswith(b"\x89PNG"), shot


async def test_page_without_javascript(tmp_path: Path) -> None:
    """With scripts disabled the page is whole: headline, every device, its measures."""
    binary = chromium_binary()
    config = fast_demo(tmp_path / "demo")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    exporter = str(Path(sys.executable).with_name("power-exporter"))
    command = [exporter, "serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"]
    with running(command, tmp_path / "exporter.log") as process:
        wait_for(
            "the demo up",
            lambda: json.loads(fetch(f"{base}/api/v1/devices"))["summary"]["up"] == 3,
            process,
        )
        async with Chromium(binary) as browser:
            await browser.call("Emulation.setScriptExecutionDisabled", value=True)
            await browser.goto(f"{base}/")
            await browser.call("Emulation.setScriptExecutionDisabled", value=False)
            names = await browser.evaluate(
                "[...document.querySelectorAll('[data-device] h3')].map((h) => h.textContent)"
            )
            charge = await browser.evaluate(card_script("rack-ups"))
    assert names == ["rack-ups", "desk-ups", "office-ups"]
    assert charge["charge"] == "100 %"
    assert charge["notReloaded"] is False  # the marker was never set: scripts were off
