r"""Lines of the NUT network protocol: splitting, quoting, and what an ``ERR`` line means.

upsd answers in ASCII lines (we read UTF-8 and fall back to Latin-1). Words are separated by
whitespace; a word in double quotes may hold spaces, and inside it a backslash makes the next
character literal, so ``\\"`` is a quote and ``\\\\`` a backslash (upsd escapes ``"``, ``\\``
and ``#`` that way). This is how NUT's own clients split lines (its ``parseconf``), except that
we reject what upsd never sends (an unterminated quote, a dangling backslash, control
characters) instead of guessing.

NUT's parser keeps the characters 0x20 to 0x7f of a word, DEL included, and drops the others;
so DEL is a character of a value here too, and only 0x00-0x1f (tab aside, a separator) is
refused. In what we send, the parser treats four characters specially: ``"`` and ``\\`` (escaped
inside quotes), ``#`` (a comment outside quotes and a parse error unescaped inside them: upsd
then never answers) and ``=`` (a word of its own when it starts one, outside quotes). Any word
with one of them, or with a blank, is quoted and its ``"``, ``\\`` and ``#`` escaped.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Final

from power_exporter.errors import AuthError, DecodeError, ProtocolError, SourceError, StaleError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

MAX_LINE: Final = 64 * 1024
"""Longest line we accept from upsd, in bytes (its own limit for a value is far smaller)."""

ERR_CODES: Final[Mapping[str, type[SourceError]]] = {
    "ACCESS-DENIED": AuthError,
    "USERNAME-REQUIRED": AuthError,
    "PASSWORD-REQUIRED": AuthError,
    "INVALID-PASSWORD": AuthError,
    "INVALID-USERNAME": AuthError,
    "DATA-STALE": StaleError,
    "DRIVER-NOT-CONNECTED": StaleError,
}
"""``ERR <code>`` -> our error; any other code (UNKNOWN-UPS...) is a ProtocolError."""

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f]")
# A word: "quoted, with \" and \\ escapes", or a run of non-blanks (a quote inside one is literal).
_WORD = re.compile(
    r'[ \t]*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<plain>(?:[^\s"\\]|\\.)(?:[^\s\\]|\\.)*))'
)
_ESCAPED = re.compile(r"\\(.)")
# Lines with no backslash (nearly all): the same words as _WORD finds, in two C-level passes.
# Possessive quantifiers: a word is never split again on backtracking (fuzzing found the
# greedy form exponential on a line that does not match).
_SIMPLE_LINE = re.compile(r'(?:[ \t]*+(?:"[^"\\]*+"|[^\s"\\][^\s\\]*+))*+')
_SIMPLE_WORD = re.compile(r'"([^"\\]*)"|([^\s"\\][^\s\\]*)')
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9._:@/+,-]+$")
_SPECIAL = re.compile(r'(["\\#])')


def decode_line(raw: bytes) -> str:
    """Turn one received line (with or without its newline) into text."""
    body = raw.removesuffix(b"\n").removesuffix(b"\r")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("latin-1")
    if _CONTROL.search(text):
        raise DecodeError(f"control character in line from upsd: {_excerpt(text)}")
    return text


def split_words(line: str) -> list[str]:
    """Split a protocol line into words, unquoting and unescaping them.

    Raises DecodeError for an unterminated quote or a line ending in a lone backslash.
    """
    text = line.rstrip(" \t")
    if _SIMPLE_LINE.fullmatch(text):
        return [quoted or plain for quoted, plain in _SIMPLE_WORD.findall(text)]
    words: list[str] = []
    position = 0
    while position < len(text):
        match = _WORD.match(text, position)
        if match is None:
            raise DecodeError(f"unterminated quote or escape in line from upsd: {_excerpt(line)}")
        quoted, plain = match.group("quoted", "plain")
        words.append(_ESCAPED.sub(r"\1", quoted if quoted is not None else plain))
        position = match.end()
    return words


@functools.lru_cache(maxsize=4096)  # the same UPS names at every poll
def quote(word: str) -> str:
    """Quote one word of a request the way upsd's parser reads it back."""
    if _CONTROL.search(word) or "\t" in word:
        raise ValueError(f"a NUT request word cannot hold control characters: {word!r}")
    if _PLAIN_WORD.match(word):
        return word
    return '"' + _SPECIAL.sub(r"\\\1", word) + '"'


def encode_request(words: Sequence[str]) -> bytes:
    """One request line, quoted and terminated."""
    return (" ".join(quote(word) for word in words) + "\n").encode("utf-8")


def error_from(words: Sequence[str], request: str) -> SourceError:
    """Build the error an ``ERR <code> [extra]`` answer to ``request`` stands for."""
    code = words[1] if len(words) > 1 else "(no code)"
    extra = f" {' '.join(words[2:])}" if len(words) > 2 else ""  # noqa: PLR2004
    return ERR_CODES.get(code, ProtocolError)(f"upsd answered ERR {code}{extra} to {request}")


def is_error(words: Sequence[str]) -> bool:
    """Whether a split line is an ``ERR`` answer."""
    return bool(words) and words[0] == "ERR"


def _excerpt(text: str, limit: int = 80) -> str:
    shown = text if len(text) <= limit else text[:limit] + "..."
    return repr(shown)


# The rows of a LIST VAR answer as upsd writes them: one blank between words, the value
# quoted, nothing escaped. A block in which every line has that form is parsed by a few
# whole-block string operations (C speed: a regex scan costs several times more).
# Control bytes but tab and newline: never inside a UTF-8 sequence, so checked on the bytes.
_BLOCK_CONTROL: Final = bytes(range(0x09)) + bytes(range(0x0B, 0x20))


def parse_var_block(block: bytes, ups: str) -> dict[str, str] | None:
    """Parse whole ``VAR <ups> <name> "<value>"`` lines at once.

    None when a line is not in that plain form (escapes, another UPS, another separator,
    bytes that are not UTF-8, control characters): the caller then reads the block line by
    line, which gives the exact reason.
    """
    text = _plain_text(block)
    if not text:
        return None if text is None else {}
    lines = text.count("\n")
    # Every line ends in a quote (checked) and holds two: the odd parts are the values, the
    # even parts the rest of each line ("VAR <ups> <name> ", after the newline that follows
    # the line before's closing quote).
    parts = text.split('"')
    if text.count('"\n') != lines or len(parts) != 2 * lines + 1:
        return None
    values = parts[1::2]
    heads = "".join(parts[0::2])  # "VAR <ups> <name> \n" per line, when the lines are plain
    prefix = f"VAR {ups} "
    names = heads[len(prefix) : -2].split(" \n" + prefix)
    joined = "".join(names)
    plain = (
        heads.startswith(prefix)
        and heads.endswith(" \n")
        and len(names) == lines
        and all(names)
        and joined.split() == [joined]  # no blank inside a name (it would be a separator)
        and "\n" not in "".join(values)
    )
    return dict(zip(names, values, strict=True)) if plain else None


def _plain_text(block: bytes) -> str | None:
    """The block as text: whole UTF-8 lines without a control character or a backslash."""
    if len(block.translate(None, _BLOCK_CONTROL)) != len(block):  # C speed, unlike a regex
        return None
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\\" in text or (text and not text.endswith("\n")):
        return None
    return text
