"""The status page's routes: ``/``, ``/api/v1/devices[/{name}]`` and its two static files.

They are added to the exporter's one application, so the web config's middlewares (TLS,
basic auth, headers, limits) guard them as they guard ``/metrics``. The history records from
the start; the page, the API and the static files are loaded at their first request, so an
exporter only ever scraped keeps none of them in memory.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from typing import TYPE_CHECKING, Final

from aiohttp import web

from power_exporter.status.history import WINDOW, History

if TYPE_CHECKING:
    from power_exporter.status.api import DevicesApi
    from power_exporter.store import Store

# The page polls the API at the shortest device interval, within these bounds (seconds).
REFRESH_MIN: Final = 2.0
REFRESH_MAX: Final = 30.0
_STATIC: Final = {
    "status.css": "text/css",
    "status.js": "text/javascript",
}
_NO_STORE: Final = {"Cache-Control": "no-store"}


def _dumps(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _json(document: object, status: int = 200) -> web.Response:
    return web.json_response(document, status=status, dumps=_dumps, headers=_NO_STORE)


class StatusRoutes:
    """The handlers, bound to one store and the history that watches it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.history = History(store)
        self._api: DevicesApi | None = None
        self._static: dict[str, bytes] | None = None

    @property
    def api(self) -> DevicesApi:
        """The JSON API's views, imported and made at the first request that needs them."""
        if self._api is None:
            from power_exporter.status.api import DevicesApi  # noqa: PLC0415 (first request)

            self._api = DevicesApi(self.store, self.history)
        return self._api

    @property
    def static(self) -> dict[str, bytes]:
        """The page's stylesheet and script, read at the first request for either."""
        if self._static is None:
            files = resources.files(__package__).joinpath("static")
            self._static = {name: files.joinpath(name).read_bytes() for name in _STATIC}
        return self._static

    def _refresh(self) -> float:
        intervals = [state.interval for state in self.store]
        return min(REFRESH_MAX, max(REFRESH_MIN, min(intervals, default=REFRESH_MAX)))

    async def page(self, _request: web.Request) -> web.Response:
        """The status page, rendered now."""
        from power_exporter.status.page import render  # noqa: PLC0415 (first request)

        now = time.time()
        text = render(self.api.views(WINDOW, now), now, self._refresh())
        return web.Response(text=text, content_type="text/html", headers=_NO_STORE)

    async def devices(self, request: web.Request) -> web.Response:
        """Every device."""
        from power_exporter.status.api import QueryError, history_window  # noqa: PLC0415

        try:
            window = history_window(request.query.get("history"))
        except QueryError as exc:
            return _json({"error": str(exc)}, status=400)
        return _json(self.api.devices(window))

    async def device(self, request: web.Request) -> web.Response:
        """One device, by its (URL-decoded) name."""
        from power_exporter.status.api import QueryError, history_window  # noqa: PLC0415

        name = request.match_info["name"]
        try:
            window = history_window(request.query.get("history"))
        except QueryError as exc:
            return _json({"error": str(exc)}, status=400)
        document = self.api.device(name, window)
        if document is None:
            return _json({"error": "unknown device", "device": name}, status=404)
        return _json(document)

    async def static_file(self, request: web.Request) -> web.Response:
        """The page's stylesheet and script (cached for a day; the page names its version)."""
        name = request.match_info["file"]
        body = self.static.get(name)
        if body is None:
            raise web.HTTPNotFound
        return web.Response(
            body=body,
            content_type=_STATIC[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )


def add_status_routes(app: web.Application, store: Store) -> StatusRoutes:
    """Add the status page, the JSON API and the page's static files to ``app``."""
    routes = StatusRoutes(store)
    app.router.add_get("/", routes.page)
    app.router.add_get("/api/v1/devices", routes.devices)
    app.router.add_get("/api/v1/devices/{name:.+}", routes.device)
    app.router.add_get("/static/{file}", routes.static_file)
    return routes
