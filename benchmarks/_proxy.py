"""A tiny round-robin HTTP/1.1 proxy on asyncio, for the replica benchmark (a tool, not a feature).

Each request (not each connection) goes to the next backend in turn, over a keep-alive
connection pooled per backend, so a few client connections still spread over every replica. It
understands only what ``shopfuse serve`` and the benchmark clients speak: requests and answers
framed by ``Content-Length`` (no chunked bodies, no upgrades). Not imported by the package.

    python benchmarks/_proxy.py --port 8080 http://127.0.0.1:8001 http://127.0.0.1:8002
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]
IDLE_S = 2.0
"""A pooled backend connection idle this long is closed instead of reused."""


async def read_message(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 message (head and ``Content-Length`` body) as bytes; raises at end of stream."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise ValueError("chunked messages are not supported by this proxy")
    return head + (await reader.readexactly(length) if length else b"")


class RoundRobinProxy:
    """Forwards each request to the next of ``backends`` (``host:port`` or ``http://host:port``)."""

    def __init__(self, backends: Sequence[str]) -> None:
        if not backends:
            raise ValueError("the proxy needs at least one backend")
        self.backends = [_address(b) for b in backends]
        self._next = itertools.cycle(range(len(self.backends)))
        self._idle: list[list[tuple[Stream, float]]] = [[] for _ in self.backends]
        self.forwarded = [0] * len(self.backends)
        """Requests sent to each backend."""
        self.server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0: a free port); returns the port."""
        self.server = await asyncio.start_server(self._client, host, port)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and close the pooled backend connections."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for pool in self._idle:
            for (_, writer), _used in pool:
                writer.close()
            pool.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    request = await read_message(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                writer.write(await self._forward(request))
                await writer.drain()
        except (ConnectionError, ValueError):
            return
        finally:
            writer.close()

    async def _forward(self, request: bytes) -> bytes:
        index = next(self._next)
        self.forwarded[index] += 1
        pool = self._idle[index]
        while True:
            # pooled connections idle past IDLE_S may have been closed by the backend (uvicorn's
            # keep-alive timeout is 5 s): drop them; a pooled one that fails is retried on the next
            # pooled or a new connection, and only a failed new connection answers 502
            stream: Stream | None = None
            while pool and stream is None:
                candidate, used = pool.pop()
                if time.monotonic() - used < IDLE_S:
                    stream = candidate
                else:
                    candidate[1].close()
            fresh = stream is None
            try:
                if stream is None:
                    stream = await asyncio.open_connection(*self.backends[index])
                stream[1].write(request)
                await stream[1].drain()
                answer = await read_message(stream[0])
            except (asyncio.IncompleteReadError, OSError):
                if stream is not None:
                    stream[1].close()
                if fresh:
                    return b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"
                continue
            pool.append((stream, time.monotonic()))
            return answer


def _address(backend: str) -> tuple[str, int]:
    parts = urlsplit(backend if "://" in backend else f"http://{backend}")
    return parts.hostname or "127.0.0.1", parts.port or 80


async def _main(port: int, backends: Sequence[str]) -> None:
    proxy = RoundRobinProxy(backends)
    bound = await proxy.start(port=port)
    print(f"round-robin proxy on http://127.0.0.1:{bound} -> {', '.join(backends)}")
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("backends", nargs="+", help="Backend base URLs.")
    options = parser.parse_args()
    asyncio.run(_main(options.port, options.backends))
