"""The floor of a scrape: a bare asyncio server that sends a fixed body, as its own process.

``python -m bench.bare_server PORT FILE`` answers every request on 127.0.0.1:PORT with the
file's bytes (read once, at start) in one ``transport.write``: no routing, no rendering, no
other work on its loop. Scraped by the same client as the exporter, its latency is what
moving a page of that size costs on this machine at that moment.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


class _Answer(asyncio.Protocol):
    def __init__(self, head: bytes, body: bytes) -> None:
        self.head, self.body = head, body
        self.transport: asyncio.Transport | None = None
        self.seen = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.seen += data
        if b"\r\n\r\n" in self.seen and self.transport is not None:
            self.seen = b""
            self.transport.write(self.head)
            self.transport.write(self.body)


async def main(port: int, body: bytes) -> None:
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Answer(head, body), "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2]).read_bytes()))
