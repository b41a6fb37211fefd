"""A userland TCP fault proxy for HTTP/1.1 (there is no kernel netem on these machines).

It sits between the simulated desktop clients and the server and forwards each request on its own
upstream connection pair, so a fault can be chosen per request even on keep-alive connections. The
"weather" (`set_weather`) says which fault to inject and how often; every injected fault is counted.

Faults (each chosen per request with the weather's probability):

- `delay`         hold every piece of the request and of the answer for 0.1–1.2 s
- `slice`         send request and answer in slices of 1–64 bytes with short pauses between them
- `drop`          close the client's connection without an answer (request never forwarded)
- `reset`         read the request, then reset the connection (RST, SO_LINGER 0)
- `blackhole`     read the request and never answer: the client times out
- `cut_request`   forward only part of the request, then close both sides
- `cut_response`  forward the request, let the server answer in full (it has committed), but pass on
                  only the first bytes of the answer, then close: the client must replay
- `replay`        forward normally, then send the very same request bytes to the server again later
                  (a network-level duplicate that arrives late and out of order)
- `status_429`    answer 429 Too Many Requests with a short Retry-After without asking the server

When the server is down the proxy answers 502 Bad Gateway, as Caddy would.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable

__all__ = ["FAULT_MODES", "FaultProxy"]

FAULT_MODES = (
    "delay",
    "slice",
    "drop",
    "reset",
    "blackhole",
    "cut_request",
    "cut_response",
    "replay",
    "status_429",
)

_BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: 57\r\n"
    b"Connection: close\r\n\r\n"
    b'{"code":"bad_gateway","detail":"the server is not there"}'
)


def _too_many_requests(retry_after: int) -> bytes:
    body = b'{"code":"rate_limited","detail":"proxy 429 storm","retry_after":%d}' % retry_after
    head = (
        b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: %d\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (retry_after, len(body))
    )
    return head + body


class _Closed(Exception):
    """One side went away before a whole message was read."""


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        raise _Closed from error
    except asyncio.LimitOverrunError as error:
        raise _Closed from error


def _headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], *, until_eof: bool) -> bytes:
    """The message body after its head: Content-Length, chunked, or (answers only) until EOF."""
    try:
        if "content-length" in headers:
            return await reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size_line = await reader.readuntil(b"\r\n")
                parts.append(size_line)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    parts.append(await reader.readuntil(b"\r\n"))
                    return b"".join(parts)
                parts.append(await reader.readexactly(size + 2))
        if until_eof:
            return await reader.read()
        return b""
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
        raise _Closed from error


class FaultProxy:
    """`FaultProxy(upstream_port, seed).start()`; `.port` is where clients connect.

    Runs its own asyncio loop on a daemon thread; `set_weather`, `counts` and `pushes_in_flight` may be
    used from any thread."""

    def __init__(self, upstream_port: int, seed: int, *, host: str = "127.0.0.1") -> None:
        self.upstream_port = upstream_port
        self.host = host
        self.port = 0
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._weather: tuple[str, float] | None = None
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self.pushes_in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Called with the request line of every push that reaches the server (tests, scheduling).
        self.on_push: Callable[[], None] | None = None

    # -- control (any thread) -------------------------------------------------------------------

    def set_weather(self, mode: str | None, probability: float = 1.0) -> None:
        if mode is not None and mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        self._weather = None if mode is None else (mode, probability)

    def _choose(self) -> str | None:
        weather = self._weather
        if weather is None:
            return None
        with self._rng_lock:
            return weather[0] if self._rng.random() < weather[1] else None

    def _uniform(self, low: float, high: float) -> float:
        with self._rng_lock:
            return self._rng.uniform(low, high)

    def _randint(self, low: int, high: int) -> int:
        with self._rng_lock:
            return self._rng.randint(low, high)

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(self._shutdown)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        assert self._loop is not None
        self._loop.call_later(0.2, self._loop.stop)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._accept, self.host, 0, reuse_address=True)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    # -- one client connection -------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    head = await _read_head(reader)
                except _Closed:
                    return
                headers = _headers(head)
                mode = self._choose()
                if mode is not None:
                    self.counts[mode] += 1
                keep_going, upstream = await self._one_request(reader, writer, head, headers, mode, upstream)
                if not keep_going:
                    return
        except (ConnectionError, _Closed, OSError):
            return
        except asyncio.CancelledError:
            return
        finally:
            if upstream is not None:
                _close(upstream[1])
            _close(writer)
            self._tasks.discard(task)  # type: ignore[arg-type]

    async def _one_request(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: bytes,
        headers: dict[str, str],
        mode: str | None,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
    ) -> tuple[bool, tuple[asyncio.StreamReader, asyncio.StreamWriter] | None]:
        """Handle one request; returns (keep the client connection, the upstream connection)."""
        self.requests += 1
        if mode == "drop":
            return False, upstream
        body = await _read_body(reader, headers, until_eof=False)
        request = head + body
        if mode == "reset":
            _reset(writer)
            return False, upstream
        if mode == "blackhole":
            with contextlib.suppress(Exception):
                await reader.read()  # until the client gives up and closes
            return False, upstream
        if mode == "status_429":
            writer.write(_too_many_requests(self._randint(1, 2)))
            await writer.drain()
            return False, upstream
        if upstream is None:
            try:
                upstream = await asyncio.open_connection(self.host, self.upstream_port)
            except OSError:
                writer.write(_BAD_GATEWAY)
                await writer.drain()
                return False, None
        up_reader, up_writer = upstream
        is_push = head.startswith(b"POST /api/sync/push")
        if mode == "cut_request":
            up_writer.write(request[: self._randint(0, max(0, len(request) - 1))])
            with contextlib.suppress(ConnectionError):
                await up_writer.drain()
            return False, upstream
        if is_push:
            self.pushes_in_flight += 1
        try:
            if is_push and self.on_push is not None:
                self.on_push()
            try:
                await self._send(up_writer, request, mode)
                response_head = await _read_head(up_reader)
                response_headers = _headers(response_head)
                response_body = await _read_body(up_reader, response_headers, until_eof=True)
            except (_Closed, ConnectionError, OSError):
                # The server went away mid-request (killed, restarting): as a gateway would.
                writer.write(_BAD_GATEWAY)
                await writer.drain()
                return False, upstream
        finally:
            if is_push:
                self.pushes_in_flight -= 1
        response = response_head + response_body
        if mode == "cut_response":
            writer.write(response[: self._randint(0, max(0, len(response) - 1))])
            await writer.drain()
            return False, upstream
        await self._send(writer, response, mode)
        if mode == "replay":
            self._spawn(self._replay(request))
        closing = (
            response_headers.get("connection", "").lower() == "close"
            or headers.get("connection", "").lower() == "close"
            or (
                "content-length" not in response_headers
                and response_headers.get("transfer-encoding", "").lower() != "chunked"
            )
        )
        return not closing, None if closing else upstream

    async def _send(self, writer: asyncio.StreamWriter, data: bytes, mode: str | None) -> None:
        if mode == "delay":
            await asyncio.sleep(self._uniform(0.1, 1.2))
        if mode == "slice":
            position = 0
            while position < len(data):
                size = self._randint(1, 64)
                writer.write(data[position : position + size])
                await writer.drain()
                position += size
                if self._randint(0, 9) == 0:
                    await asyncio.sleep(0.005)
            return
        writer.write(data)
        await writer.drain()

    def _spawn(self, coroutine: object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _replay(self, request: bytes) -> None:
        """The same bytes again, late: the server must answer without changing anything."""
        await asyncio.sleep(self._uniform(0.05, 3.0))
        with contextlib.suppress(Exception):
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
            try:
                up_writer.write(request)
                await up_writer.drain()
                response_head = await asyncio.wait_for(_read_head(up_reader), 30)
                await asyncio.wait_for(_read_body(up_reader, _headers(response_head), until_eof=True), 30)
            finally:
                _close(up_writer)


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        writer.transport.abort()
