"""Sign requests to EcoFlow's developer API, as EcoFlow's "HTTP access steps" describe.

1. The request parameters, keys sorted and nested values flattened (``a.b``, ``a[i]``,
   ``a[i].b``), joined as ``k=v`` with ``&``;
2. then ``accessKey``, ``nonce`` and ``timestamp`` appended in that order (no leading ``&``
   when there are no parameters);
3. HMAC-SHA256 of that string with the secret key, as lowercase hex;
4. sent in the headers ``accessKey``, ``nonce`` (six random digits), ``timestamp`` (Unix
   milliseconds) and ``sign``.

The parameters are the query string of a GET or the JSON body of a POST. Nothing here
logs or returns the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import TYPE_CHECKING

from power_exporter.sources.ecoflow.flatten import sorted_params

if TYPE_CHECKING:
    from collections.abc import Mapping


def string_to_sign(
    params: Mapping[str, object], access_key: str, nonce: str, timestamp: str
) -> str:
    """The exact string EcoFlow's server signs to check a request."""
    pairs = [*sorted_params(params), ("accessKey", access_key)]
    pairs += [("nonce", nonce), ("timestamp", timestamp)]
    return "&".join(f"{key}={value}" for key, value in pairs)


def signature(
    params: Mapping[str, object], access_key: str, secret_key: str, nonce: str, timestamp: str
) -> str:
    """HMAC-SHA256 of the string to sign, keyed with the secret key, in lowercase hex."""
    message = string_to_sign(params, access_key, nonce, timestamp)
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """Six random decimal digits."""
    return str(100_000 + secrets.randbelow(900_000))


def now_millis() -> str:
    """The current Unix time in milliseconds, as EcoFlow's ``timestamp`` header wants it."""
    return str(time.time_ns() // 1_000_000)


def signed_headers(
    params: Mapping[str, object],
    access_key: str,
    secret_key: str,
    *,
    nonce: str | None = None,
    timestamp: str | None = None,
) -> dict[str, str]:
    """The four headers that authenticate one request."""
    nonce = nonce or new_nonce()
    timestamp = timestamp or now_millis()
    return {
        "accessKey": access_key,
        "nonce": nonce,
        "timestamp": timestamp,
        "sign": signature(params, access_key, secret_key, nonce, timestamp),
    }
