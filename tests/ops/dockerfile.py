"""A small reader of Dockerfiles: instructions grouped by build stage.

Docker cannot run on the test machines, so the tests read the Dockerfile to replay its
build stage's steps (tests/ops/test_docker.py) and check its structure; hadolint lints it.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

_FROM = re.compile(r"^(?P<image>\S+)(?:\s+AS\s+(?P<name>\S+))?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction: ``RUN``, ``COPY``... and its argument text (continuations joined)."""

    keyword: str
    args: str


@dataclass(slots=True)
class Stage:
    """A build stage: its base image, its name and its instructions."""

    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The arguments of every ``keyword`` instruction of the stage."""
        return [i.args for i in self.instructions if i.keyword == keyword]


def parse(text: str) -> list[Stage]:
    """The stages of a Dockerfile (ARGs before the first FROM are dropped)."""
    stages: list[Stage] = []
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if logical and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, args = logical.strip().partition(" ")
        logical = ""
        keyword = keyword.upper()
        args = " ".join(args.split())
        if keyword == "FROM":
            match = _FROM.match(args)
            if match is None:
                raise ValueError(f"cannot read FROM {args!r}")
            stages.append(Stage(match.group("image"), match.group("name")))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


def copy_sources(args: str) -> tuple[list[str], str, dict[str, str]]:
    """``COPY [--from=x] SRC... DEST`` -> (sources, destination, flags)."""
    words = shlex.split(args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    return words[:-1], words[-1], flags


def ignored(path: str, dockerignore: Path) -> bool:
    """Whether a build-context path is excluded by a .dockerignore (last match wins)."""
    result = False
    for raw in dockerignore.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        candidates = [path]
        parts = path.split("/")
        candidates += ["/".join(parts[:i]) for i in range(1, len(parts))]
        if any(
            fnmatch.fnmatchcase(c, pattern) or fnmatch.fnmatchcase(c, pattern.removeprefix("**/"))
            for c in candidates
        ):
            result = not negate
    return result
