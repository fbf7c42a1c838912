# ruff: noqa: INP001  (a standalone script copied into the image, not a package module)
"""Container health check: GET /healthz of the exporter in this container; exit 0 when it is ok.

Slim images carry no curl or wget, so Docker's HEALTHCHECK runs this with the image's Python.
Standard library only. Environment:

  POWER_EXPORTER_HEALTHCHECK_URL   default http://127.0.0.1:9860/healthz (https://... with TLS)
  POWER_EXPORTER_HEALTHCHECK_CERT  client certificate and key (PEM files) when the web config
  POWER_EXPORTER_HEALTHCHECK_KEY   requires client certificates

/healthz needs no basic auth. Over TLS the server's certificate is not verified: the check
talks to its own container over loopback, where the certificate's name cannot match.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:9860/healthz"
TIMEOUT = 4.0


def _context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    cert = os.environ.get("POWER_EXPORTER_HEALTHCHECK_CERT")
    if cert:
        context.load_cert_chain(cert, os.environ.get("POWER_EXPORTER_HEALTHCHECK_KEY") or None)
    return context


def check(url: str) -> str | None:
    """Return None when ``url`` answers 200, else why not."""
    if not url.startswith(("http://", "https://")):
        return f"not an http(s) URL: {url}"
    context = _context() if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as response:  # noqa: S310 (scheme checked above)
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (OSError, ssl.SSLError) as exc:
        return str(exc)
    return None if status == 200 else f"HTTP {status}"  # noqa: PLR2004


def main() -> int:
    """Check once; print why on failure (Docker keeps the output in `docker inspect`)."""
    url = os.environ.get("POWER_EXPORTER_HEALTHCHECK_URL", DEFAULT_URL)
    problem = check(url)
    if problem is None:
        return 0
    print(f"unhealthy: {url}: {problem}", file=sys.stderr)  # noqa: T201
    return 1


if __name__ == "__main__":
    sys.exit(main())
