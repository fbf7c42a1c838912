"""The registry of kinds: a kind is loaded only when a device of that kind is configured."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from power_exporter.sources.registry import KINDS, MODULES

# Run in a fresh interpreter: this test process has imported every kind already.
CHECK = textwrap.dedent(
    """
    import sys
    from power_exporter.config import validate
    validate({"devices": [
        {"name": "ups", "source": "nut", "server": "localhost", "ups": "ups"},
    ]})
    kinds = sorted(
        name.split(".")[2] for name in sys.modules
        if name.startswith("power_exporter.sources.") and name.count(".") >= 3
    )
    heavy = [name for name in ("google.protobuf", "aiomqtt", "paho", "hid") if name in sys.modules]
    print(" ".join(sorted(set(kinds))), "|", " ".join(heavy))
    """
)


def test_only_configured_kinds_load() -> None:
    """A nut-only configuration loads the nut kind and none of the others' libraries."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=60
    )
    kinds, heavy = done.stdout.strip().split("|")
    assert kinds.split() == ["nut"]
    assert heavy.split() == []


def test_every_line_names_its_kind() -> None:
    """Each line of the registry loads a kind of that name; an unknown name is not a kind."""
    assert {name: KINDS[name].name for name in MODULES} == {name: name for name in MODULES}
    assert KINDS.get("snmp-nonexistent") is None
    assert len(KINDS) == len(MODULES)
