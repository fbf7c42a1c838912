"""A real headless Chromium, driven through its DevTools protocol over aiohttp's websocket.

Debian's ``chromium`` package is the peer (nothing is downloaded at test time). The browser
runs with a fresh profile and no network of its own besides what the page asks for; the
protocol (https://chromedevtools.github.io/devtools-protocol/) gives page loads, script
evaluation, media emulation (light/dark, phone width) and screenshots.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import aiohttp

from tests.peers import require_binary

if TYPE_CHECKING:
    from types import TracebackType

INSTALL = "apt-get install chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",  # we may run as root in a container, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-port=0",
    "--hide-scrollbars",
)
START_TIMEOUT = 60.0  # a cold Chromium on a loaded 2-core machine
CALL_TIMEOUT = 60.0


class ProtocolFailedError(RuntimeError):
    """Chromium answered a DevTools command with an error."""


def chromium_binary() -> str:
    """The browser's path; skips (fails under CI=true) saying how to install it."""
    return require_binary("chromium", "/usr/bin/chromium", install=INSTALL)


class Chromium:
    """One headless browser with one page; an async context manager."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or chromium_binary()
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        self._process: subprocess.Popen[bytes] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self._session = ""

    async def __aenter__(self) -> Self:
        profile = Path(self._profile.name)
        self._process = subprocess.Popen(  # noqa: ASYNC220 (a start-up, once per test)
            [self.binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self._process.poll() is not None or loop.time() > deadline:
                await self.__aexit__(None, None, None)
                raise RuntimeError(f"{self.binary} did not start (exit {self._process.poll()})")
            await asyncio.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        target = await self.call("Target.createTarget", url="about:blank", browser=True)
        attached = await self.call(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True, browser=True
        )
        self._session = attached["sessionId"]
        await self.call("Page.enable")
        await self.call("Runtime.enable")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._profile.cleanup()

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = message.json()
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            else:
                for waiter in self._events.pop(data.get("method", ""), []):
                    if not waiter.done():
                        waiter.set_result(data.get("params", {}))

    async def call(self, method: str, *, browser: bool = False, **params: Any) -> dict[str, Any]:
        """Send one DevTools command to the page (or the browser) and return its result."""
        assert self._ws is not None
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if not browser:
            message["sessionId"] = self._session
        await self._ws.send_json(message)
        answer = await asyncio.wait_for(future, CALL_TIMEOUT)
        if "error" in answer:
            raise ProtocolFailedError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def _expect(self, event: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._events.setdefault(event, []).append(future)
        return future

    async def goto(self, url: str) -> None:
        """Load a page and wait for its load event."""
        loaded = self._expect("Page.loadEventFired")
        answer = await self.call("Page.navigate", url=url)
        if answer.get("errorText"):
            raise ProtocolFailedError(f"cannot load {url}: {answer['errorText']}")
        await asyncio.wait_for(loaded, CALL_TIMEOUT)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        answer = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise ProtocolFailedError(f"{expression!r}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def emulate(self, *, width: int, height: int, mobile: bool, dark: bool) -> None:
        """Viewport size (a phone: mobile, 2x pixels) and the preferred colour scheme."""
        await self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=2 if mobile else 1,
            mobile=mobile,
        )
        scheme = "dark" if dark else "light"
        await self.call(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": scheme}],
        )

    async def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """Save the whole page (or only what the viewport shows) as a PNG."""
        answer = await self.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=full_page
        )
        await asyncio.to_thread(path.write_bytes, base64.b64decode(answer["data"]))
        return path
