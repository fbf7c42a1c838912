"""The PromQL metric-name extractor used to check the dashboard and the alert rules."""

from __future__ import annotations

import pytest

from tests.ops.promql import PromQLSyntaxError, metric_names, tokenize


class TestMetricNames:
    """Names come from selectors only, never from labels, functions, keywords or strings."""

    @pytest.mark.parametrize(
        ("expr", "expected"),
        [
            ("power_device_up", {"power_device_up"}),
            ('power_status{device="a", flag="on_battery"} == 1', {"power_status"}),
            (
                "sum by (device, job) (rate(power_exporter_read_errors_total[5m]))",
                {"power_exporter_read_errors_total"},
            ),
            ("sum(rate(x_total[1h30m])) without (instance)", {"x_total"}),
            (
                (
                    "max without (flag) (power_status{flag='low_battery'}) == 1"
                    " or power_battery_charge_ratio < 0.2"
                ),
                {"power_status", "power_battery_charge_ratio"},
            ),
            (
                "time() - power_device_last_seen_timestamp_seconds > 600",
                {"power_device_last_seen_timestamp_seconds"},
            ),
            ("deriv(power_battery_charge_ratio[10m]) < -0.01 / 60", {"power_battery_charge_ratio"}),
            ('{__name__="power_load_ratio", device="x"}', {"power_load_ratio"}),
            ('{__name__=~"power_.*"}', set()),
            ("a * on (device) group_left (model) power_device_info", {"a", "power_device_info"}),
            ("a / ignoring(flag) group_right b", {"a", "b"}),
            ("a unless b and c", {"a", "b", "c"}),
            ("a offset 5m", {"a"}),
            ("a offset -1h @ start()", {"a"}),
            ("a @ 1609746000", {"a"}),
            ("max_over_time(a[30m:1m])", {"a"}),
            ("count(up == 0) or vector(0)", {"up"}),
            ("topk(3, a) + bottomk by (x) (2, b)", {"a", "b"}),
            ('count_values("version", build_info)', {"build_info"}),
            ('label_replace(a, "dst", "$1", "src", "(.*)")', {"a"}),
            ('rate(a{device=~"$device"}[$__rate_interval])', {"a"}),
            ('a{job=~"${job:regex}"} * [[scale]]', {"a"}),
            ("a > bool 1", {"a"}),
            ("a == Inf or b != NaN", {"a", "b"}),
            ("1e3 + 0x1F - .5", set()),
            ("level:recording:rule_sum", {"level:recording:rule_sum"}),
            ("sum(\n  a  # a comment naming fake_metric\n)", {"a"}),
            # A metric may be called like an aggregation when nothing makes it one.
            ("sum + 1", {"sum"}),
        ],
    )
    def test_extracts(self, expr: str, expected: set[str]) -> None:
        """Each expression yields exactly the metrics it selects."""
        assert metric_names(expr) == expected

    @pytest.mark.parametrize("expr", ["sum(a", "a{b='c'", "rate(a[5m)", "a ! b", "a)"])
    def test_syntax_errors(self, expr: str) -> None:
        """Unbalanced brackets and stray characters are errors, not silent misses."""
        with pytest.raises(PromQLSyntaxError):
            metric_names(expr)

    def test_tokens(self) -> None:
        """Strings, durations, variables and operators are single tokens."""
        kinds = [(t.kind, t.text) for t in tokenize('rate(a{b!~"x\\"y"}[1h5m]) >= $v')]
        assert kinds == [
            ("ident", "rate"),
            ("open", "("),
            ("ident", "a"),
            ("open", "{"),
            ("ident", "b"),
            ("op", "!~"),
            ("string", '"x\\"y"'),
            ("close", "}"),
            ("open", "["),
            ("duration", "1h5m"),
            ("close", "]"),
            ("close", ")"),
            ("op", ">="),
            ("var", "$v"),
        ]
