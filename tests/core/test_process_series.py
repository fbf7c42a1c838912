"""process_* series: the client libraries' families, read from /proc without one."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_om
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from power_exporter.exposition.process import ProcessSeries

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def reference() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    return registry


def test_same_families_as_prometheus_client() -> None:
    """Names, types and help texts are prometheus_client's, in both formats."""
    ours = ProcessSeries()
    theirs = reference()
    for openmetrics, parse, render in (
        (False, parse_text, generate_latest),
        (True, parse_om, generate_om),
    ):
        page = ours.render(openmetrics=openmetrics).decode()
        if openmetrics:
            page += "# EOF\n"
        mine = {(f.name, f.type, f.documentation) for f in parse(page)}
        want = {(f.name, f.type, f.documentation) for f in parse(render(theirs).decode())}
        assert mine == want


def test_values_are_this_process() -> None:
    """The values match what the system says of this process (and prometheus_client)."""
    ours = {
        s.name: s.value
        for f in parse_text(ProcessSeries().render(openmetrics=False).decode())
        for s in f.samples
    }
    theirs = {
        s.name: s.value
        for f in parse_text(generate_latest(reference()).decode())
        for s in f.samples
    }
    assert ours["process_max_fds"] == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert ours["process_start_time_seconds"] == pytest.approx(
        theirs["process_start_time_seconds"], abs=0.02
    )
    assert 0 < ours["process_cpu_seconds_total"] <= theirs["process_cpu_seconds_total"] + 1
    assert ours["process_resident_memory_bytes"] == pytest.approx(
        theirs["process_resident_memory_bytes"], rel=0.2
    )
    assert ours["process_virtual_memory_bytes"] >= ours["process_resident_memory_bytes"]
    assert abs(ours["process_open_fds"] - sum(1 for _ in Path("/proc/self/fd").iterdir())) <= 1
