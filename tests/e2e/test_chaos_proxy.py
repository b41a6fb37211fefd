"""The fault proxy does what it says, against a tiny HTTP server that counts what reaches it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from chaos_proxy import FaultProxy


class _Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Counting.seen.append(body)
        answer = b'{"ok":true,"echo":"' + body + b'"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    _Counting.seen = []
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    fault_proxy = FaultProxy(upstream.server_address[1], seed=1).start()
    yield fault_proxy
    fault_proxy.stop()
    upstream.shutdown()
    upstream.server_close()


def _post(proxy: FaultProxy, body: bytes, timeout: float = 5.0) -> httpx.Response:
    with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}", timeout=timeout) as client:
        return client.post("/api/sync/push", content=body)


def test_calm_proxy_forwards_every_request_on_a_kept_alive_connection(proxy: FaultProxy) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{proxy.port}", timeout=5) as client:
        answers = [client.post("/x", content=b"%d" % i).json()["echo"] for i in range(5)]
    assert answers == ["0", "1", "2", "3", "4"]
    assert sum(proxy.counts.values()) == 0


@pytest.mark.parametrize("mode", ["slice", "delay"])
def test_slow_or_sliced_traffic_still_arrives_intact(proxy: FaultProxy, mode: str) -> None:
    proxy.set_weather(mode)
    assert _post(proxy, b"a" * 3000).json()["echo"] == "a" * 3000
    assert proxy.counts[mode] == 1


def test_cut_response_reaches_the_server_but_not_the_client(proxy: FaultProxy) -> None:
    proxy.set_weather("cut_response")
    with pytest.raises(httpx.TransportError):
        _post(proxy, b"committed")
    assert _Counting.seen == [b"committed"]


@pytest.mark.parametrize("mode", ["drop", "reset", "cut_request"])
def test_request_that_never_arrives_fails_on_the_client(proxy: FaultProxy, mode: str) -> None:
    proxy.set_weather(mode)
    with pytest.raises(httpx.TransportError):
        _post(proxy, b"lost on the way" * 10)
    assert _Counting.seen == []


def test_black_hole_makes_the_client_time_out(proxy: FaultProxy) -> None:
    proxy.set_weather("blackhole")
    with pytest.raises(httpx.TimeoutException):
        _post(proxy, b"anyone there", timeout=0.5)
    assert _Counting.seen == []


def test_replay_delivers_the_same_request_twice(proxy: FaultProxy) -> None:
    proxy.set_weather("replay")
    assert _post(proxy, b"again").status_code == 200
    deadline = time.monotonic() + 10
    while len(_Counting.seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _Counting.seen == [b"again", b"again"]


def test_429_storm_answers_without_asking_the_server(proxy: FaultProxy) -> None:
    proxy.set_weather("status_429")
    response = _post(proxy, b"busy?")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert _Counting.seen == []


def test_server_down_is_a_bad_gateway(proxy: FaultProxy) -> None:
    proxy.upstream_port = 1  # nothing listens there
    assert _post(proxy, b"hello").status_code == 502
