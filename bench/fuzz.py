"""Coverage-guided fuzzing of every parser with atheris: ``python -m bench.fuzz [TARGET ...]``.

``make fuzz`` runs each target of tests/fuzz/targets.py for FUZZ_RUNS inputs (default 10^6), one
process per target (atheris runs once per process), and writes bench/runs/fuzz.md: inputs, time,
inputs per second, crashes, and every rejected input counted by its reason. A crash (any
exception a parser is not allowed to raise) stops that target with atheris's report and a
non-zero exit; the crashing input is saved by libFuzzer as ``crash-*`` in bench/runs/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

RUNS = Path(__file__).with_name("runs")
ROOT = Path(__file__).resolve().parent.parent


def one(target: str, runs: int, out: Path) -> None:
    """Fuzz one target in this process (atheris's Fuzz() does not return)."""
    import atheris  # noqa: PLC0415 (only the fuzzing child needs it)

    with atheris.instrument_imports(include=["power_exporter", "tests.fuzz"]):
        from tests.fuzz.targets import TARGETS  # noqa: PLC0415

    check = TARGETS[target]
    reasons: Counter[str] = Counter()
    started = time.monotonic()

    def dump() -> None:
        out.write_text(
            json.dumps(
                {"inputs": reasons.total(), "seconds": time.monotonic() - started, **reasons}
            )
        )

    def test_one(data: bytes) -> None:
        reasons[check(data)] += 1
        if reasons.total() % 20_000 == 0 or reasons.total() >= runs:
            dump()

    atheris.Setup(
        [sys.argv[0], f"-runs={runs}", "-max_len=2048", f"-artifact_prefix={RUNS}/crash-{target}-"],
        test_one,
    )
    atheris.Fuzz()


def main(names: list[str]) -> int:
    from tests.fuzz.targets import TARGETS  # noqa: PLC0415

    runs = int(os.environ.get("FUZZ_RUNS", "1000000"))
    RUNS.mkdir(exist_ok=True)
    lines = [
        f"### Fuzzing: {runs:,} inputs per parser (atheris, coverage-guided)",
        "",
        "| parser | inputs | seconds | inputs/s | crashes | accepted | rejected, by reason |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    failed = False
    for name in names or list(TARGETS):
        out = RUNS / f"fuzz-{name}.json"
        out.unlink(missing_ok=True)
        print(f"fuzzing {name} ...", file=sys.stderr)
        child = subprocess.run(
            [sys.executable, "-m", "bench.fuzz", "--one", name, str(runs), str(out)],
            cwd=ROOT,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        counts = json.loads(out.read_text()) if out.exists() else {"inputs": 0, "seconds": 0}
        inputs, seconds = counts.pop("inputs"), counts.pop("seconds")
        accepted = counts.pop("accepted", 0)
        crashed = child.returncode != 0
        failed |= crashed
        if crashed:
            print(child.stderr[-3000:], file=sys.stderr)
        rejected = "; ".join(f"{reason} ({n:,})" for reason, n in Counter(counts).most_common())
        lines.append(
            f"| {name} | {inputs:,} | {seconds:.0f} | {inputs / max(seconds, 1e-9):,.0f} | "
            f"{int(crashed)} | {accepted:,} | {rejected} |"
        )
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = "\n".join([*lines, "", f"Run {stamp}.", ""])
    print(text)
    if not names:
        (RUNS / "fuzz.md").write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit(main(sys.argv[1:]))
