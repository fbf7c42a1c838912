"""The .dev/.seq parser: dummy-ups' reading of a dump (checked against dummy-ups 2.8.0 by hand)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from power_exporter.errors import DecodeError
from power_exporter.sources.replay.devfile import MAX_VALUE, TRAILING_HOLD, parse_dev

NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z0-9-]{1,8}){0,3}", fullmatch=True)
# What a dump value may hold: printable ASCII and more, no control characters.
VALUES = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=MAX_VALUE,
)


def values(text: str, at: float = 0.0) -> dict[str, str]:
    """Parse a dump and give its variables ``at`` seconds in."""
    return parse_dev(text, "t.dev").values_at(at)


class TestLikeDummyUps:
    """What dummy-ups made of a tricky file, line by line."""

    def test_comments_and_bad_tails(self) -> None:
        """``#`` lines and tails are dropped, a ``#BAD`` note included; trailing blanks vanish."""
        text = (
            "# :; upsc ups\n"
            "battery.runtime: 65535\t#BAD: overflow?\n"
            "device.serial: 5B2250T99999  \n"
        )
        assert values(text) == {"battery.runtime": "65535", "device.serial": "5B2250T99999"}

    def test_words_joined_by_single_spaces(self) -> None:
        """Unquoted words are joined by one space; quoted ones keep theirs; '=' is a word."""
        text = 'ups.id: a=b   c\nups.x: "two  spaces" tail # comment\ndevice.serial:  CCSYWWZZZZ\n'
        assert values(text) == {
            "ups.id": "a = b c",
            "ups.x": "two  spaces tail",
            "device.serial": "CCSYWWZZZZ",
        }

    def test_quotes_and_backslashes(self) -> None:
        """Backslash escapes; an open quote swallows lines; a trailing backslash joins lines."""
        text = (
            "ups.bs: a\\\\b\n"
            "ups.hash: a\\#b\n"
            'ups.y: "open quote\nups.z: after\nups.w: "q"\n'
            "device.part: 12\\\nups.load: 5\n"
            'ups.tab: "x\ty"\n'
        )
        assert values(text) == {
            "ups.bs": "a\\b",
            "ups.hash": "a#b",
            "ups.y": 'open quoteups.z: afterups.w:  q"',
            "device.part": "12ups.load: 5",
            "ups.tab": "xy",
        }

    def test_empty_values(self) -> None:
        """An empty value makes the variable absent, except ups.status."""
        text = 'battery.charge: 90\nbattery.protection:\nups.e: ""\nups.status: \n'
        assert values(text) == {"battery.charge": "90", "ups.status": ""}

    def test_no_colon_and_unicode(self) -> None:
        """A line without a colon still names a variable; non-ASCII text is kept."""
        assert values("nocolon value here\nups.model: Onduleur été\n") == {
            "nocolon": "value here",
            "ups.model": "Onduleur été",
        }

    def test_limits(self) -> None:
        """A value stops at 127 characters, as dummy-ups' buffer does."""
        assert values(f"ups.alarm: {'x' * 300}\n") == {"ups.alarm": "x" * MAX_VALUE}

    def test_crlf_and_no_final_newline(self) -> None:
        """Windows line ends and a missing final newline are fine."""
        assert values("ups.status: OL\r\nbattery.charge: 80") == {
            "ups.status": "OL",
            "battery.charge": "80",
        }


class TestSequences:
    """``TIMER n`` lines, as dummy-ups' dummy-loop mode plays them."""

    SEQ = (
        "ups.status: OL\nbattery.charge: 100\nTIMER 10\n"
        "ups.status: OB\nbattery.charge: 90\nTIMER 5\n"
    )

    def test_segments_in_time(self) -> None:
        """Each segment holds for its TIMER, on top of what came before, then the file loops."""
        script = parse_dev(self.SEQ, "t.seq")
        assert script.is_sequence
        assert script.cycle == 15
        assert script.values_at(0) == {"ups.status": "OL", "battery.charge": "100"}
        assert script.values_at(9.9)["ups.status"] == "OL"
        assert script.values_at(10) == {"ups.status": "OB", "battery.charge": "90"}
        assert script.values_at(15)["ups.status"] == "OL"
        assert script.values_at(15 * 1000 + 12)["ups.status"] == "OB"

    def test_later_segments_add_to_earlier(self) -> None:
        """A variable only the first segment sets stays through the others."""
        script = parse_dev(
            "ups.mfr: EATON\nups.status: OL\nTIMER 3\nups.status: OB\nTIMER 3\n", "t.seq"
        )
        assert script.values_at(4) == {"ups.mfr": "EATON", "ups.status": "OB"}

    def test_trailing_lines_hold_one_poll(self) -> None:
        """Lines after the last TIMER hold one dummy-ups poll interval, then the file loops."""
        script = parse_dev("ups.status: OL\nTIMER 4\nups.status: OB\n", "t.seq")
        assert script.cycle == 4 + TRAILING_HOLD
        assert script.values_at(4 + TRAILING_HOLD / 2)["ups.status"] == "OB"
        assert script.values_at(4 + TRAILING_HOLD)["ups.status"] == "OL"

    def test_plain_dump_is_static(self) -> None:
        """Without TIMER nothing moves."""
        script = parse_dev("ups.status: OL\n", "t.dev")
        assert not script.is_sequence
        assert script.values_at(1e9) == {"ups.status": "OL"}

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=6),
        st.floats(0, 10_000),
    )
    def test_position_in_cycle(self, holds: list[int], elapsed: float) -> None:
        """At any time, the status is that of the segment the time falls in (modulo the cycle)."""
        text = "".join(f"ups.status: S{i}\nTIMER {hold}\n" for i, hold in enumerate(holds))
        script = parse_dev(text, "t.seq")
        position = elapsed % sum(holds)
        expected = next(i for i in range(len(holds)) if position < sum(holds[: i + 1]))
        assert script.values_at(elapsed)["ups.status"] == f"S{expected}"


class TestBadFiles:
    """What dummy-ups would silently mangle is an error naming the file and the line."""

    @pytest.mark.parametrize(
        ("text", "where"),
        [
            ("ups.status: OL\nTIMER soon\n", "t.dev:2: TIMER"),
            ("ups.status: OL\nTIMER\n", "t.dev:2: TIMER"),
            ("ups.status:OL\n", "t.dev:1: put a space"),
            ('ups.status: OL\n\nups.model: "Eaton 5E\nbattery.charge: 1\n', "t.dev:3: quote"),
            ("ups.status: OL\n:odd\n", "t.dev:2: the line does not start"),
            ("ups.status: OL\nbad$name: 1\n", "t.dev:2: the line does not start"),
            ("ups.status: OL\nbinary: \x00\x01\n", "t.dev:2: binary"),
            ("# only comments\n\n", "t.dev: no variables"),
            ("", "t.dev: no variables"),
        ],
    )
    def test_errors(self, text: str, where: str) -> None:
        """Each error names the file and the line."""
        with pytest.raises(DecodeError, match=re.escape(where)):
            parse_dev(text, "t.dev")


class TestProperties:
    """Bounded property checks."""

    @settings(max_examples=200, deadline=None)
    @given(st.dictionaries(NAMES, VALUES, min_size=1, max_size=8))
    def test_quoted_values_read_back(self, dump: dict[str, str]) -> None:
        """Any value written quoted and escaped is read back as written."""
        lines = []
        for name, value in dump.items():
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name}: "{escaped}"')
        assert values("\n".join(lines) + "\n") == dump

    @settings(max_examples=100, deadline=None)
    @given(
        st.dictionaries(
            NAMES,
            st.lists(
                st.from_regex(r"[A-Za-z0-9.:/()+-]{1,10}", fullmatch=True), min_size=1, max_size=5
            ),
            min_size=1,
            max_size=8,
        )
    )
    def test_plain_words_read_back(self, dump: dict[str, list[str]]) -> None:
        """Unquoted words come back joined by single spaces, however they were spaced."""
        text = "".join(f"{name}:   {'  '.join(words)}   \n" for name, words in dump.items())
        assert values(text) == {name: " ".join(words) for name, words in dump.items()}

    @settings(max_examples=500, deadline=None)
    @given(st.text(max_size=300))
    def test_anything_parses_or_is_a_decode_error(self, text: str) -> None:
        """No input makes the parser fail other than with DecodeError."""
        try:
            script = parse_dev(text, "t.dev")
        except DecodeError as exc:
            message = str(exc)
        else:
            assert all(isinstance(v, str) for v in script.values_at(0).values())
            return
        assert message.startswith("t.dev")
