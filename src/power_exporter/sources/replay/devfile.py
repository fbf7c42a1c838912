r"""NUT ``.dev``/``.seq`` dump files, read as NUT's dummy-ups driver reads them.

dummy-ups splits the file into words with NUT's ``parseconf``, and so do we:

- whitespace separates words; ``#`` outside quotes starts a comment to the end of the line
  (so ``65535 #BAD: overflow?`` is ``65535``), and trailing spaces vanish;
- ``"..."`` makes one word of what it encloses, and may run on over line ends (a missing
  closing quote swallows the following lines); outside quotes a ``"`` is an ordinary character;
- a backslash takes the next character literally (``\"``, ``\\``, ``\#``), and a backslash at
  the end of a line joins the next line to it;
- a ``=`` outside quotes is a word of its own (``a=b`` reads as ``a = b``);
- control characters inside a word are dropped; words stop at 512 characters, lines at 32
  words, and a value at 127 characters.

A line is ``name: value words...``: the value is the words after the name joined by single
spaces. ``TIMER n`` lines make the file a sequence: the lines before a TIMER hold for ``n``
seconds, then the next lines apply on top, and after the last line the file starts over
(dummy-ups' ``dummy-loop``); lines after the last TIMER hold for one driver poll interval
(dummy-ups' default, 2 s) before the file starts over. A variable whose value is empty is
absent (dummy-ups does the same for ``name: ""``), except ``ups.status``, which may be empty.

Where we differ from dummy-ups, on purpose: ``driver.*`` lines are kept (dummy-ups drops them
and puts its own), ``ups.mfr``/``ups.model`` are not filled in with "Dummy Manufacturer" and
"Dummy UPS", non-ASCII text is kept (dummy-ups drops those bytes), ``name:`` with no value is
absent (dummy-ups repeats the previous line's value, a buffer left over), and what dummy-ups
would silently mangle is an error naming the file and line: a name that is not a NUT variable
name, ``name:value`` with no space, a ``TIMER`` without a whole number of seconds, an
unterminated quote at the end of the file, binary content, or a file with no variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from power_exporter.errors import DecodeError

if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_WORD: Final = 512  # parseconf's PCONF_DEFAULT_WORDLEN_LIMIT
MAX_WORDS: Final = 32  # parseconf's PCONF_DEFAULT_ARG_LIMIT
MAX_VALUE: Final = 127  # dummy-ups' MAX_STRING_SIZE, less its terminating NUL
TRAILING_HOLD: Final = 2  # seconds: dummy-ups' default pollinterval, for lines after the last TIMER
STATUS: Final = "ups.status"
TIMER: Final = "TIMER"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Segment:
    """Assignments applied together, then held for ``hold`` seconds (None: no TIMER follows)."""

    assignments: tuple[tuple[str, str], ...]
    hold: int | None = None


@dataclass(frozen=True, slots=True)
class DevScript:
    """A parsed dump: one segment, or a looping sequence of them."""

    path: str
    segments: tuple[Segment, ...]
    cycle: float = field(init=False)

    def __post_init__(self) -> None:
        timed = any(segment.hold is not None for segment in self.segments)
        cycle = sum(self.hold_of(segment) for segment in self.segments) if timed else 0
        object.__setattr__(self, "cycle", float(cycle))

    @staticmethod
    def hold_of(segment: Segment) -> int:
        """How long a segment holds within a sequence."""
        return TRAILING_HOLD if segment.hold is None else segment.hold

    @property
    def is_sequence(self) -> bool:
        """Whether values change over time (the file has TIMER lines)."""
        return self.cycle > 0

    def values_at(self, elapsed: float) -> dict[str, str]:
        """Return the variables ``elapsed`` seconds after the replay started."""
        values: dict[str, str] = {}
        if not self.is_sequence:
            for segment in self.segments:
                _apply(values, segment)
            return values
        laps, position = divmod(max(elapsed, 0.0), self.cycle)
        if laps >= 1:  # what the previous lap left behind
            for segment in self.segments:
                _apply(values, segment)
        start = 0.0
        for segment in self.segments:
            _apply(values, segment)
            start += self.hold_of(segment)
            if position < start:
                break
        return values


def _apply(values: dict[str, str], segment: Segment) -> None:
    for name, value in segment.assignments:
        if value or name == STATUS:
            values[name] = value
        else:
            values.pop(name, None)


def parse_dev(text: str, path: str) -> DevScript:
    """Parse the text of a ``.dev``/``.seq`` file; DecodeError names ``path`` and the line."""
    if (bad := _BINARY.search(text)) is not None:
        line = _line_of(text, bad.start())
        raise DecodeError(f"{path}:{line}: binary content, not a NUT dump")
    segments: list[Segment] = []
    assignments: list[tuple[str, str]] = []
    names = 0
    for line, words in _logical_lines(text, path):
        if words[0] == TIMER:
            if len(words) != 2 or not words[1].isdigit():  # noqa: PLR2004
                raise DecodeError(f"{path}:{line}: TIMER needs a whole number of seconds")
            segments.append(Segment(tuple(assignments), int(words[1])))
            assignments = []
            continue
        name, _, rest = words[0].partition(":")
        # Neither error quotes the line: the file may be a secret put here by mistake.
        if not _NAME.match(name):
            raise DecodeError(f"{path}:{line}: the line does not start with a NUT variable name")
        if rest:
            raise DecodeError(f"{path}:{line}: put a space after the variable name's colon")
        assignments.append((name, " ".join(words[1:])[:MAX_VALUE]))
        names += 1
    segments.append(Segment(tuple(assignments)))
    if names == 0:
        raise DecodeError(f"{path}: no variables in this file (is it a NUT .dev dump?)")
    kept = (segment for segment in segments if segment.assignments or segment.hold)
    return DevScript(path, tuple(kept))


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


class _Words:
    """The words of one logical line as parseconf collects them."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.chars: list[str] = []
        self.open = False  # a word has begun (it may still be empty: "")

    def begin(self) -> None:
        self.open = True

    def add(self, char: str) -> None:
        if char >= " " and len(self.chars) < MAX_WORD:
            self.chars.append(char)
        self.open = True

    def end(self) -> None:
        if self.open and len(self.words) < MAX_WORDS:
            self.words.append("".join(self.chars))
        self.chars.clear()
        self.open = False

    def take(self) -> list[str]:
        self.end()
        words, self.words = self.words, []
        return words


def _logical_lines(text: str, path: str) -> Iterator[tuple[int, list[str]]]:  # noqa: C901, PLR0912, PLR0915 - one state machine
    """Yield (first physical line, words) for each logical line that has words."""
    words = _Words()
    line = start = 1
    state = "start"  # start | word | literal | quote | quote_literal | comment
    quote_line = 0
    for char in text:
        if state == "comment":
            if char == "\n":
                state = "start"
        elif state in {"literal", "quote_literal"}:
            if char != "\n":
                words.add(char)
            state = "word" if state == "literal" else "quote"
        elif state == "quote":
            if char == '"':
                words.end()  # an empty quoted word is still a word
                state = "start"
            elif char == "\\":
                state = "quote_literal"
            else:
                words.add(char)
        elif char == "\n":
            words.end()
            state = "start"
        elif char == "#":
            words.end()
            state = "comment"
        elif char.isspace():
            words.end()
            state = "start"
        elif char == "\\":
            words.begin()
            state = "literal"
        elif char == '"' and state == "start":
            words.begin()
            state, quote_line = "quote", line
        elif char == "=":
            words.end()
            words.add("=")
            words.end()
            state = "start"
        else:
            words.add(char)
            state = "word"
        if char == "\n":
            line += 1
            if state in {"start", "comment"} and (found := words.take()):
                yield start, found
        if state == "start" and not words.words and not words.open:
            start = line
    if state in {"quote", "quote_literal"}:
        raise DecodeError(f"{path}:{quote_line}: quote opened here is never closed")
    if found := words.take():
        yield start, found
