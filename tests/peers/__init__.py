"""Launchers for the real peers the tests talk to (upsd, mosquitto, promtool, prometheus)."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    """Whether we run under CI, where a missing peer is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_binary(name: str, *candidates: str, install: str) -> str:
    """Return the path of a peer binary, or skip (fail under CI) saying how to install it."""
    for candidate in (*candidates, name):
        found = candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else None  # noqa: PTH117
        found = found or shutil.which(candidate)
        if found:
            return found
    message = f"peer binary {name!r} is missing; install it with: {install}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
