"""The protocol line parser and request encoder, with examples from a real upsd session."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from power_exporter.errors import AuthError, DecodeError, ProtocolError, StaleError
from power_exporter.sources.nut.lines import (
    decode_line,
    encode_request,
    error_from,
    parse_var_block,
    quote,
    split_words,
)

# Characters upsd may put in a value: printable text, spaces, quotes, backslashes, '#', Unicode.
VALUE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\n\r\t"),
    max_size=60,
)


# Pieces put into plain LIST VAR rows ("": one character taken out instead).
ROW_PIECES = ("VAR ups ", "ups", "other", "x", " ", "\t", "\xa0", '"', '""', "\n", '"\n', "\\", "")


def upsd_quote(value: str) -> str:
    """Quote a value as upsd does in its answers: a backslash before backslash, quote and #."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#")
    return f'"{escaped}"'


def upsd_parse(line: str) -> list[str] | None:  # noqa: C901, PLR0912 - a branch per parser state
    r"""How NUT's parseconf splits one request line; None where it reports a parse error.

    Outside quotes: blanks separate words, ``#`` starts a comment, ``\`` takes the next
    character literally, ``"`` opens a quoted word, ``=`` starting a word is a word alone.
    Inside quotes: ``"`` ends the word, ``\`` takes the next character, a bare ``#`` is an
    error. Characters outside 0x20-0x7f are dropped from words.
    """
    words: list[str] = []
    word: list[str] | None = None
    quoted = literal = False
    for char in line:
        if literal:
            literal = False
            if 0x20 <= ord(char) <= 0x7F:
                assert word is not None
                word.append(char)
        elif quoted:
            assert word is not None
            if char == "#":
                return None
            if char == '"':
                words.append("".join(word))
                word, quoted = None, False
            elif char == "\\":
                literal = True
            elif 0x20 <= ord(char) <= 0x7F:
                word.append(char)
        elif char == "#":
            break
        elif char.isspace():
            if word is not None:
                words.append("".join(word))
                word = None
        elif char == '"' and word is None:
            word, quoted = [], True
        elif char == "\\":
            word = word if word is not None else []
            literal = True
        elif char == "=":
            if word is not None:
                words.append("".join(word))
            words.append("=")
            word = None
        else:
            word = word if word is not None else []
            word.append(char)
    if word is not None:
        words.append("".join(word))
    return words


class TestSplitWords:
    """Lines as upsd 2.8.0 sends them (from a recorded session)."""

    def test_var_line(self) -> None:
        """A VAR line gives four words, the value unquoted."""
        assert split_words('VAR tripp-lite-ups battery.charge "100"') == [
            "VAR",
            "tripp-lite-ups",
            "battery.charge",
            "100",
        ]

    def test_escapes(self) -> None:
        """Escaped quotes and backslashes inside quotes are a quote and a backslash."""
        line = r'UPS tripp-lite-ups "Tripp Lite 09ae:2012 replay \"nut-ddl\" C:\\UPS"'
        assert split_words(line)[2] == 'Tripp Lite 09ae:2012 replay "nut-ddl" C:\\UPS'

    def test_empty_and_spaced_values(self) -> None:
        """An empty value is one empty word; inner spaces are kept, outer blanks dropped."""
        assert split_words('VAR u ups.status ""') == ["VAR", "u", "ups.status", ""]
        assert split_words('VAR u x "a  b "  ') == ["VAR", "u", "x", "a  b "]

    @pytest.mark.parametrize("line", ['VAR u x "open', "VAR u x trailing\\", 'VAR u x "a\\'])
    def test_unterminated(self, line: str) -> None:
        """An unterminated quote or a dangling backslash is a DecodeError."""
        with pytest.raises(DecodeError):
            split_words(line)

    def test_control_characters_refused(self) -> None:
        """A control character in a line is a DecodeError; CR LF endings are fine."""
        assert decode_line(b"OK\r\n") == "OK"
        with pytest.raises(DecodeError, match="control"):
            decode_line(b'VAR u x "a\x00b"\n')

    @settings(max_examples=300, deadline=None)
    @given(st.lists(VALUE_TEXT, max_size=6))
    def test_upsd_quoting_round_trips(self, words: list[str]) -> None:
        """Whatever upsd quotes, we read back exactly."""
        assert split_words(" ".join(upsd_quote(w) for w in words)) == words

    @settings(max_examples=300, deadline=None)
    @given(st.lists(VALUE_TEXT.filter(bool), min_size=1, max_size=6))
    def test_our_requests_round_trip(self, words: list[str]) -> None:
        """A request we encode reads back as the same words (upsd splits it the same way)."""
        assert split_words(decode_line(encode_request(words))) == words

    @settings(max_examples=500, deadline=None)
    @given(st.binary(max_size=200))
    def test_any_bytes_give_words_or_decode_error(self, raw: bytes) -> None:
        """Garbage never raises anything but DecodeError."""
        try:
            words = split_words(decode_line(raw))
        except DecodeError:
            return
        assert all(isinstance(word, str) for word in words)


class TestVarBlock:
    """A block of LIST VAR rows parsed in one scan: the same rows as line by line, or None."""

    def test_plain_rows(self) -> None:
        block = b'VAR ups battery.charge "100"\nVAR ups ups.serial "AB\x7fCD"\nVAR ups x ""\n'
        assert parse_var_block(block, "ups") == {
            "battery.charge": "100",
            "ups.serial": "AB\x7fCD",
            "x": "",
        }

    @pytest.mark.parametrize(
        "line",
        [
            b'VAR ups x "a \\" b"',  # an escape: read line by line
            b'VAR other x "1"',  # another UPS
            b'VAR ups  x "1"',  # two blanks
            b'VAR ups x "\x01"',  # a control character
            b'VAR ups x "\xff"',  # not UTF-8
            b"VAR ups x 1",  # unquoted
            b"END LIST VAR ups",
            b'VAR ups x "1" ',  # a blank after the value
            b'VAR ups x  "1"',  # two blanks before it
            b'VAR ups a"q"b "1"\nVAR ups c ',  # four quotes on one line, none on the next
            b'VAR ups x "1\nVAR ups y 2"',  # a value over two lines
            b'VAR ups x ""\n"',  # a line of one quote
        ],
    )
    def test_not_plain_is_none(self, line: bytes) -> None:
        assert parse_var_block(b'VAR ups a "1"\n' + line + b"\n", "ups") is None

    def test_empty_and_unfinished(self) -> None:
        """No line at all is no row; a block must end with its newline."""
        assert parse_var_block(b"", "ups") == {}
        assert parse_var_block(b'VAR ups a "1"', "ups") is None

    @given(
        st.lists(st.tuples(st.from_regex(r"[a-c.]{1,4}", fullmatch=True), VALUE_TEXT), max_size=4),
        st.lists(st.tuples(st.integers(0, 300), st.sampled_from(ROW_PIECES)), max_size=3),
    )
    @settings(max_examples=500)
    def test_near_the_format(
        self, rows: list[tuple[str, str]], edits: list[tuple[int, str]]
    ) -> None:
        """Plain rows with a few pieces put in or taken out: line by line's rows, or None."""
        block = "".join(f'VAR ups {name} "{value}"\n' for name, value in rows)
        for where, piece in edits:
            at = where % (len(block) + 1)
            block = block[:at] + piece + block[at:] if piece else block[:at] + block[at + 1 :]
        block += "" if block.endswith("\n") or not block else "\n"
        parsed = parse_var_block(block.encode(), "ups")
        if parsed is None:
            return
        by_line: dict[str, str] = {}
        for line in block.split("\n")[:-1]:
            words = split_words(line)
            assert len(words) == 4, line
            assert words[:2] == ["VAR", "ups"], line
            by_line[words[2]] = words[3]
        assert parsed == by_line
        assert list(parsed) == list(by_line)

    @given(st.dictionaries(st.from_regex(r"[a-z.]{1,12}", fullmatch=True), VALUE_TEXT))
    @settings(max_examples=200)
    def test_same_as_line_by_line(self, rows: dict[str, str]) -> None:
        lines = [f"VAR ups {name} {upsd_quote(value)}\n".encode() for name, value in rows.items()]
        parsed = parse_var_block(b"".join(lines), "ups")
        by_line: dict[str, str] = {}
        for line in lines:
            _var, _ups, name, value = split_words(decode_line(line))
            by_line[name] = value
        assert parsed is None or parsed == by_line
        assert parsed is not None or any(b"\\" in line for line in lines)


class TestRequests:
    """What we send."""

    def test_plain_words_unquoted(self) -> None:
        """Names travel as they are; anything else is quoted and escaped."""
        assert encode_request(["LIST", "VAR", "eaton-5px.2000"]) == b"LIST VAR eaton-5px.2000\n"
        assert quote('pa ss"w\\d') == '"pa ss\\"w\\\\d"'

    @pytest.mark.parametrize(
        ("word", "sent"),
        [
            ("se#cret", '"se\\#cret"'),
            ('pa ss"wo\\rd', '"pa ss\\"wo\\\\rd"'),
            ("=x", '"=x"'),
            ("a=b", '"a=b"'),
            ("a\x7fb", '"a\x7fb"'),
        ],
    )
    def test_upsd_specials_escaped(self, word: str, sent: str) -> None:
        r"""``#``, ``"``, ``\`` and ``=`` never reach upsd's parser bare; DEL is a character."""
        assert quote(word) == sent
        assert upsd_parse(quote(word)) == [word]

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7F)), min_size=1))
    def test_upsd_reads_our_words(self, words: list[str]) -> None:
        """What we send, upsd's parser (modelled below) splits back into the same words."""
        assert upsd_parse(encode_request(words).decode().removesuffix("\n")) == words

    @pytest.mark.parametrize("word", ["a\nb", "a\rb", "a\x00b", "a\tb"])
    def test_no_control_characters(self, word: str) -> None:
        """A word with a line break cannot be sent: no request smuggling."""
        with pytest.raises(ValueError, match="control"):
            encode_request(["LIST", "VAR", word])


class TestErr:
    """``ERR`` codes map onto the error tree."""

    @pytest.mark.parametrize(
        ("line", "error"),
        [
            ("ERR ACCESS-DENIED", AuthError),
            ("ERR DATA-STALE", StaleError),
            ("ERR DRIVER-NOT-CONNECTED", StaleError),
            ("ERR UNKNOWN-UPS", ProtocolError),
            ("ERR VAR-NOT-SUPPORTED", ProtocolError),
            ("ERR", ProtocolError),
        ],
    )
    def test_codes(self, line: str, error: type[Exception]) -> None:
        """Each code gives its class, and the message says the code and the request."""
        found = error_from(split_words(line), "LIST VAR u")
        assert type(found) is error
        assert "LIST VAR u" in str(found)

    def test_extra_text_kept(self) -> None:
        """Text after the code stays in the message."""
        assert "see upsd log" in str(error_from(["ERR", "UNKNOWN-UPS", "see", "upsd", "log"], "x"))
