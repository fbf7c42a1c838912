"""Secrets from the configuration: a type that never shows its value, and redaction.

Every secret key of every config model (a NUT password, EcoFlow's access and secret keys and
the app account's password, their ``*_file`` forms) is a :data:`Secret`: pydantic's
``SecretStr`` (its ``repr``, ``str`` and JSON dump are ``**********``) that also refuses
control characters (a tab, a line break, a NUL...), with a message naming the key and never
the value. A control character cannot be sent in a NUT request or an HTTP header, so such a
password would only fail later, at every poll, in an error that quoted it.

A secret file holds the secret alone on one line (trailing line breaks are dropped); a file
of two lines, a FIFO, a device or a file larger than :data:`MAX_SECRET_FILE` is refused,
again without showing what it holds.

Text from a peer may echo what we sent it: :func:`redact` replaces every secret, and the
encodings of it a peer may echo (base64, URL-quoted, ``repr``-escaped), before anything cuts
the text short (:func:`excerpt`), so no part of a secret survives the cut.
"""

from __future__ import annotations

import base64
import os
import stat
import unicodedata
from typing import TYPE_CHECKING, Annotated, Final, TypeAlias
from urllib.parse import quote

from pydantic import AfterValidator, SecretStr

if TYPE_CHECKING:
    from collections.abc import Iterable

MASK: Final = "***"
MAX_SECRET_FILE: Final = 64 * 1024
"""The largest secret file read (a key or a password is a few hundred bytes at most)."""


def problem_with_secret(value: str) -> str | None:
    """What makes ``value`` unusable as a secret (without quoting it), or None."""
    if "\n" in value or "\r" in value:
        return "holds a line break (a secret is one line; the value is not shown)"
    bad = next((char for char in value if unicodedata.category(char) == "Cc"), None)
    if bad is not None:
        return (
            f"holds a control character (U+{ord(bad):04X}, such as a tab or a NUL);"
            " the value is not shown"
        )
    return None


def _check(value: SecretStr) -> SecretStr:
    problem = problem_with_secret(value.get_secret_value())
    if problem is not None:
        raise ValueError(problem)
    return value


Secret: TypeAlias = Annotated[SecretStr, AfterValidator(_check)]
"""A secret config value: masked in every repr, dump and error; no control characters."""


def read_secret_file(path: str) -> SecretStr:
    """Read the secret a ``*_file`` key names: one line, trailing line breaks dropped.

    Raises ValueError naming the path, never the content (the caller names the key): for a
    file that cannot be read, is not a regular file, is larger than :data:`MAX_SECRET_FILE`,
    is not UTF-8, holds more than one line or a control character.
    """
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang the configuration check.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        data = handle.read(MAX_SECRET_FILE + 1)
    if len(data) > MAX_SECRET_FILE:
        raise ValueError(f"{path} is larger than {MAX_SECRET_FILE // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    text = text.rstrip("\r\n")
    if "\n" in text or "\r" in text:
        raise ValueError(f"{path} holds more than one line; put the secret alone on one line")
    problem = problem_with_secret(text)
    if problem is not None:
        raise ValueError(f"{path} {problem}")
    return SecretStr(text)


def _forms(secret: str) -> set[str]:
    """The secret and the encodings of it that a peer may echo back."""
    raw = secret.encode("utf-8", "replace")
    encoded = base64.b64encode(raw).decode("ascii")
    url_encoded = base64.urlsafe_b64encode(raw).decode("ascii")
    return {
        secret,
        encoded,
        encoded.rstrip("="),
        url_encoded,
        url_encoded.rstrip("="),
        quote(secret, safe=""),
        repr(secret)[1:-1],
    }


def redact(text: str, secrets: Iterable[str | SecretStr | None]) -> str:
    """``text`` with every secret (and its base64, URL-quoted and escaped forms) masked."""
    forms: set[str] = set()
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value:
            forms |= _forms(value)
    # Longest first, so a form that contains another is masked whole.
    for form in sorted(forms, key=len, reverse=True):
        if form:
            text = text.replace(form, MASK)
    return text


def excerpt(text: str, secrets: Iterable[str | SecretStr | None], limit: int = 60) -> str:
    """A redacted excerpt of a peer's text: redacted first, then cut to ``limit`` characters."""
    shown = redact(text, secrets)
    return shown if len(shown) <= limit else shown[:limit] + "..."
