"""Fault injection: kill -9 upsd again and again under a real exporter that is being scraped.

``python -m bench.chaos [KILLS]`` (``make chaos``: 20 kills). A real upsd with dummy-ups drivers
serves two UPSes to a real ``power-exporter serve`` process; a thread scrapes ``/metrics``
without pause. Each round kills upsd with SIGKILL, waits until the exporter shows every device
down (``power_device_up 0``), starts upsd again on the same port and waits until every device
is back up. Every scrape must succeed; the exporter's open descriptors (/proc/PID/fd) and its
asyncio task count (``power_exporter_tasks``) must end where they started.

Then the same is done to mosquitto under EcoFlow devices (``chaos_mqtt.py``); both reports go
into bench/runs/chaos.md, each with its goal met or not.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.peers.upsd import Upsd

from bench import chaos_mqtt
from bench.chaos_scraper import Scraper, steady_fds
from bench.exporter import DUMPS, Exporter, value_of

UPSES = {
    "alpha": DUMPS / "Eaton__5E1100iUSB__usbhid-ups__2.7.1__01.dev",
    "beta": DUMPS / "APC__Smart-UPS_2200__usbhid-ups__2.7.4__01.dev",
}


@dataclass
class Round:
    down_after: float
    up_after: float
    fds: int
    tasks: float


@dataclass
class Result:
    kills: int
    scrapes: int
    failures: list[str]
    fds_before: int
    tasks_before: float
    rounds: list[Round]
    alive: bool

    def lines(self) -> list[str]:
        fds = [r.fds for r in self.rounds]
        tasks = [r.tasks for r in self.rounds]
        return [
            f"### Chaos: upsd killed with SIGKILL {self.kills} times under a scraped exporter",
            "",
            (
                f"- exporter alive at the end: {'yes' if self.alive else 'NO'}; "
                f"scrapes {self.scrapes}, failed {len(self.failures)}"
            ),
            (
                "- every round saw every device go to `power_device_up 0` and back to 1: "
                f"down within {max(r.down_after for r in self.rounds):.2f} s, "
                f"up again within {max(r.up_after for r in self.rounds):.2f} s of the restart"
            ),
            (
                f"- open descriptors: {self.fds_before} before, {min(fds)}..{max(fds)} after each "
                "round"
            ),
            (
                f"- asyncio tasks: {self.tasks_before:.0f} before, "
                f"{min(tasks):.0f}..{max(tasks):.0f} after each round"
            ),
        ]


def chaos(kills: int, folder: Path) -> Result:
    upsd = Upsd(folder / "upsd", dict(UPSES))
    upsd.start()
    config = folder / "chaos.yaml"
    config.write_text(
        "log_level: warning\nbackoff_max: 1s\ndevices:\n"
        f"  - name: chaos\n    source: nut\n    server: {upsd.server}\n    ups: '*'\n"
        "    interval: 0.5s\n    timeout: 1s\n"
    )
    exporter = Exporter(config).start()
    scraper = Scraper(exporter, devices=tuple(f"chaos/{ups}" for ups in UPSES))
    try:
        exporter.wait_up(len(UPSES))
        scraper.start()
        scraper.wait(1.0)
        time.sleep(1.0)  # let the first connections settle
        fds_before = steady_fds(exporter)
        tasks_before = value_of(scraper.page, "power_exporter_tasks ") or -1.0
        rounds = []
        for _ in range(kills):
            assert upsd.upsd_process is not None
            os.kill(upsd.upsd_process.pid, signal.SIGKILL)
            upsd.upsd_process.wait(10)
            upsd.upsd_process = None
            down_after = scraper.wait(0.0)
            upsd.start_upsd()
            up_after = scraper.wait(1.0)
            time.sleep(0.6)  # one more poll, so that anything left over would show
            tasks = value_of(scraper.page, "power_exporter_tasks ") or -1.0
            rounds.append(Round(down_after, up_after, steady_fds(exporter), tasks))
        alive = exporter.alive()
    finally:
        scraper.stop.set()
        scraper.join(10)
        exporter.stop()
        upsd.stop()
    return Result(kills, scraper.scrapes, scraper.failures, fds_before, tasks_before, rounds, alive)


def main(kills: int) -> int:
    """upsd's rounds, then mosquitto's under EcoFlow devices; both into bench/runs/chaos.md."""
    with tempfile.TemporaryDirectory() as folder:
        result = chaos(kills, Path(folder))
    flat = all(r.fds <= result.fds_before and r.tasks <= result.tasks_before for r in result.rounds)
    upsd_ok = result.alive and not result.failures and flat
    lines = [*result.lines(), f"- goal (0 failed scrapes, fds and tasks flat): {met(upsd_ok)}", ""]
    mqtt_lines, mqtt_ok = chaos_mqtt.run(kills)
    lines += mqtt_lines
    print("\n".join(lines))
    runs = Path(__file__).with_name("runs")
    runs.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (runs / "chaos.md").write_text("\n".join([*lines, "", f"Run {stamp}.", ""]))
    return 0 if upsd_ok and mqtt_ok else 1


def met(ok: bool) -> str:  # noqa: FBT001
    return "met" if ok else "NOT MET"


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
