"""Run every benchmark and write bench/RESULTS.md: ``python -m bench [NAME ...]``."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sys
from pathlib import Path

# name -> module; each module has run() -> list[str] (markdown lines).
BENCHES = {
    "scrape": "bench.bench_scrape",
    "nut": "bench.bench_nut",
    "footprint": "bench.bench_footprint",
    "scale": "bench.bench_scale",
    "udp": "bench.bench_udp",
    "apcupsd": "bench.bench_apcupsd",
    "history": "bench.bench_history",
    "snmp": "bench.bench_snmp",
    "shard": "bench.bench_shard",
    "ecoflow_mqtt": "bench.bench_ecoflow_mqtt",
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


RUNS = ("fuzz", "chaos", "soak", "hostile", "hostile-upsd")


def robustness() -> list[str]:
    """The last `make fuzz`, `make chaos` and `make soak` results (bench/runs/), as they ran."""
    out = [
        "## Robustness runs",
        "",
        "Written by `make fuzz`, `make chaos` and `make soak` into bench/runs/, folded in here by",
        "`make bench`; each says when it ran (it may be older than the benchmarks above).",
        "",
    ]
    for name in RUNS:
        path = Path(__file__).with_name("runs") / f"{name}.md"
        out.extend([path.read_text() if path.exists() else f"(no `make {name}` run yet)", ""])
    return out


def is_verdict(line: str) -> bool:
    """A bench's own verdict line: it states a goal and says whether this run met it."""
    text = line.removeprefix("- ").lower()
    return text.startswith("goal") and (" met" in text or "not met" in text)


def goals(verdicts: list[str]) -> list[str]:
    """Every goal's verdict of this run in one place, as each bench printed it."""
    met = sum(1 for v in verdicts if "NOT met" not in v)
    return [
        "## Goals at a glance",
        "",
        f"{met} of {len(verdicts)} verdict lines have every goal met; each bench's table above",
        "gives the figures and the baseline measured in the same run.",
        "",
        *verdicts,
        "",
    ]


def main(names: list[str]) -> int:
    chosen = names or list(BENCHES)
    out = [
        "# Benchmark results",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        "Each figure is measured in the same run as its baseline; regenerate with `make bench`.",
        "",
    ]
    verdicts: list[str] = []
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr)
        lines = importlib.import_module(BENCHES[name]).run()
        print("\n".join(lines))
        out.extend([*lines, ""])
        verdicts.extend(f"- **{name}**: {line}" for line in lines if is_verdict(line))
    summary = goals(verdicts)
    print("\n".join(summary))
    out.extend(summary)
    if not names:
        out.extend(robustness())
        Path(__file__).with_name("RESULTS.md").write_text("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
