"""The metric names a PromQL expression selects, found by tokenising it as Prometheus lexes it.

A regular expression over the text would take label names (``by (device)``), function and
aggregation names, keywords, durations and the contents of strings for metrics; this walks
the tokens with the context PromQL gives them. Grafana's template variables (``$device``,
``${job}``, ``[[var]]``, ``$__rate_interval``) are lexed as opaque tokens.

No PromQL parser is published for Python; ``promtool check rules`` is the oracle for
syntax (tests/ops/test_dashboard.py runs every dashboard query through it), this module
for names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

# Binary set operators, modifiers and other words that are never metric names in their place.
KEYWORDS: Final = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "atan2"}
)
# Followed by a parenthesised list of label names.
LABEL_LIST_KEYWORDS: Final = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right"}
)
AGGREGATIONS: Final = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
    | {"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
)
NUMBER_WORDS: Final = frozenset({"inf", "nan"})

_TOKEN: Final = re.compile(
    r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\])
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>==|!=|=~|!~|<=|>=|[-+*/%^<>=,@:])
  | (?P<open>[({\[])
  | (?P<close>[)}\]])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme: its kind (a group name of ``_TOKEN``) and its text."""

    kind: str
    text: str


class PromQLSyntaxError(ValueError):
    """The expression cannot be lexed, or its brackets do not balance."""


def tokenize(expr: str) -> list[Token]:
    """The tokens of ``expr``, without white space and comments."""
    tokens: list[Token] = []
    position = 0
    while position < len(expr):
        match = _TOKEN.match(expr, position)
        if match is None:
            raise PromQLSyntaxError(f"unexpected {expr[position]!r} at {position} in {expr!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group()))
        position = match.end()
    return tokens


def _check_balanced(tokens: list[Token]) -> None:
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack: list[str] = []
    for token in tokens:
        if token.kind == "open":
            stack.append(pairs[token.text])
        elif token.kind == "close" and (not stack or stack.pop() != token.text):
            raise PromQLSyntaxError(f"unbalanced {token.text!r}")
    if stack:
        raise PromQLSyntaxError(f"unclosed bracket: {stack[-1]!r} missing")


def _closing(tokens: list[Token], start: int) -> int:
    """Index of the bracket closing the one at ``start``."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    stack: list[str] = []
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token.kind == "open":
            stack.append(pairs[token.text])
        elif token.kind == "close":
            if not stack or stack.pop() != token.text:
                raise PromQLSyntaxError(f"unbalanced {token.text!r}")
            if not stack:
                return index
    raise PromQLSyntaxError("unclosed bracket")


def _unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    return bytes(text[1:-1], "utf-8").decode("unicode_escape")


def _names_in_matchers(tokens: list[Token], start: int, end: int) -> set[str]:
    """``{__name__="x", ...}`` between ``start`` and ``end``: the exact ``__name__`` values."""
    names: set[str] = set()
    for index in range(start, end - 2):
        name, op, value = tokens[index], tokens[index + 1], tokens[index + 2]
        if name.text == "__name__" and op.text == "=" and value.kind == "string":
            names.add(_unquote(value.text))
    return names


def metric_names(expr: str) -> set[str]:
    """Every metric name ``expr`` selects (bare names and exact ``__name__`` matchers)."""
    tokens = tokenize(expr)
    _check_balanced(tokens)
    names: set[str] = set()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.kind == "open" and token.text in "{[":
            # Label matchers (or a range/subquery duration): no metric name but __name__'s.
            end = _closing(tokens, index)
            if token.text == "{":
                names |= _names_in_matchers(tokens, index + 1, end)
            index = end + 1
            continue
        if token.kind == "ident":
            word = token.text.lower()
            opens = following is not None and following.text == "("
            if token.text in LABEL_LIST_KEYWORDS and opens:
                index = _closing(tokens, index + 1) + 1
                continue
            is_aggregation = (
                token.text in AGGREGATIONS
                and following is not None
                and (opens or following.text in {"by", "without"})
            )
            if not (opens or is_aggregation or token.text in KEYWORDS or word in NUMBER_WORDS):
                names.add(token.text)
        index += 1
    return names
