"""A non-blocking UDP socket whose datagrams are read in batches on the event loop.

Hand-written rather than asyncio's ``create_datagram_endpoint`` because asyncio's datagram
transport reads one datagram per event-loop iteration and hands it to a callback, so a
consumer that awaits a queue pays a future and a loop round per datagram. Here the reader
callback drains the socket (up to ``BATCH`` datagrams a call) into a deque that the consumer
empties without awaiting; it waits on a future only when the deque is empty. The benchmark
(``bench/bench_udp.py``) measures the difference.

When ``CAPACITY`` datagrams wait unread, reading pauses until the consumer has taken them
all: then the kernel's socket buffer fills and the kernel drops, as with any UDP receiver.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Final, TypeAlias

if TYPE_CHECKING:
    import socket

Address: TypeAlias = tuple[str, int] | tuple[str, int, int, int]

BATCH: Final = 64
CAPACITY: Final = 4096
# Larger than any datagram we accept, so that an over-long one is seen as such, not cut.
RECEIVE_BYTES: Final = 2048


class Inbox:
    """Datagrams read from one socket, oldest first, with their senders."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self.items: deque[tuple[bytes, Address]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: OSError | None = None
        self._reading = False
        self._closed = False
        self._resume()

    @property
    def local_address(self) -> Address:
        """The address the socket is bound to."""
        address: Address = self._sock.getsockname()
        return address

    def _resume(self) -> None:
        if not self._reading and not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._on_readable)
            self._reading = True

    def _pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._sock.fileno())
            self._reading = False

    def _on_readable(self) -> None:
        items = self.items
        receive = self._sock.recvfrom
        try:
            for _ in range(min(BATCH, CAPACITY - len(items))):
                items.append(receive(RECEIVE_BYTES))
        except BlockingIOError:
            pass
        except OSError as exc:  # e.g. ICMP port unreachable on a connected socket
            self._error = exc
        if len(items) >= CAPACITY:
            self._pause()
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error
        if self._closed:
            raise ConnectionAbortedError("the socket was closed")

    async def wait(self) -> None:
        """Wait until a datagram is there; raise OSError if the socket failed."""
        while not self.items:
            self._raise_error()
            self._resume()
            waiter = self._loop.create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None

    async def next(self) -> tuple[bytes, Address]:
        """Take the oldest datagram and its sender, waiting for one if need be."""
        await self.wait()
        return self.items.popleft()

    def discard(self) -> int:
        """Drop every datagram waiting; say how many there were."""
        count = len(self.items)
        self.items.clear()
        self._resume()
        return count

    def send(self, data: bytes, address: Address | None = None) -> None:
        """Send one datagram (to the connected peer when ``address`` is None), or raise OSError."""
        self._raise_error()
        if address is None:
            self._sock.send(data)
        else:
            self._sock.sendto(data, address)

    def close(self) -> None:
        """Stop reading, close the socket and wake a waiter."""
        if self._closed:
            return
        self._pause()
        self._closed = True
        self._sock.close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
