"""The ``--web.config.file`` in force: re-read, with its certificates, when any of them changes.

The Prometheus exporter-toolkit reads its web config and certificates again on every TLS
handshake, so that a rotated certificate (cert-manager, an ACME client) is served without a
restart. Here every handshake and every request looks at the files' modification time, size
and inode (a few ``stat`` calls) and reloads when one moved: a handshake then gets the new
certificate through the SSL context's SNI callback (OpenSSL calls it for every
ClientHello, with or without a server name), and requests pass the new basic auth users.

A file that no longer loads is logged once and the previous configuration stays. Turning
TLS on or off needs a restart: a listening socket is either TLS or not.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING

from aiohttp import web

from power_exporter.errors import ConfigError
from power_exporter.webconfig import WebConfig, load, middlewares, ssl_context

if TYPE_CHECKING:
    import ssl
    from pathlib import Path

    from aiohttp.typedefs import Handler, Middleware

log = logging.getLogger(__name__)

_Stamp = tuple[tuple[int, int, int] | None, ...]


def _files(path: str | Path, config: WebConfig) -> list[str]:
    tls = config.tls_server_config
    named = (tls.cert_file, tls.key_file, tls.client_ca_file)
    return [str(path), *(str(name) for name in named if name is not None)]


def _stamp(files: list[str]) -> _Stamp:
    stamps: list[tuple[int, int, int] | None] = []
    for name in files:
        try:
            found = os.stat(name)  # noqa: PTH116 (one syscall, no Path object per handshake)
        except OSError:
            stamps.append(None)
            continue
        stamps.append((found.st_mtime_ns, found.st_size, found.st_ino))
    return tuple(stamps)


class LiveWebConfig:
    """The web config, its SSL context and its middlewares, kept in step with the files."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.config = load(path)
        self.files = _files(path, self.config)
        self.stamp = _stamp(self.files)
        self.context = ssl_context(self.config)
        self.chain = middlewares(self.config)
        self.outer: ssl.SSLContext | None = self.context
        if self.outer is not None:
            self.outer.sni_callback = self._handshake
        self.failed: _Stamp | None = None

    def refresh(self) -> None:
        """Reload if a file changed since the last look (a bad file: logged, old one stays)."""
        stamp = _stamp(self.files)
        if stamp in {self.stamp, self.failed}:
            return
        try:
            config = load(self.path)
            context = ssl_context(config)
            chain = middlewares(config)
        except ConfigError as exc:
            self.failed = stamp
            log.error("web config not reloaded, the previous one stays: %s", exc)  # noqa: TRY400 (no traceback for a bad file)
            return
        if (context is None) != (self.outer is None):
            self.failed = stamp
            log.error("web config not reloaded: turning TLS on or off needs a restart")
            return
        self.config, self.context, self.chain = config, context, chain
        self.files = _files(self.path, config)
        self.stamp = _stamp(self.files)
        self.failed = None
        log.info("web config %s reloaded", self.path)

    def _handshake(
        self, connection: ssl.SSLObject, _server_name: str | None, _context: ssl.SSLContext
    ) -> None:
        self.refresh()
        if self.context is not None and self.context is not connection.context:
            connection.context = self.context

    def server_context(self) -> ssl.SSLContext | None:
        """The context the listening sockets use (it hands each handshake the current one)."""
        return self.outer

    def middleware(self) -> Middleware:
        """One middleware running the current file's chain (auth, rate limit, headers)."""

        @web.middleware
        async def live(request: web.Request, handler: Handler) -> web.StreamResponse:
            self.refresh()
            for outer in reversed(self.chain):
                handler = functools.partial(outer, handler=handler)
            return await handler(request)

        return live
