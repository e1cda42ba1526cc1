"""Hostile clients on the socket: truncated bodies, silent and stalled connections, a client that
trickles its request byte by byte, bytes that are not HTTP, huge headers, hundreds of idle
connections, pipelining without reading. The server must keep answering everybody else quickly,
answer the slow-but-valid clients correctly, log nothing at ERROR level, and never hang.

The hypothesis tests (``test_server_hypothesis.py``) throw bad *bodies* through a well-behaved
HTTP client; these tests misbehave at the HTTP and TCP level, which no HTTP client library does.
"""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _hardening import RawConnection, http_request, jbody
from tutorial_kit.server import EmulatorServer

PING = jbody({"action": "pingSession", "debug": "none"})
#: every "answered quickly" below means within this many seconds (a generous bound, not a benchmark)
QUICK = 2.0


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if the server logs anything at ERROR or above (an unhandled exception)."""
    caplog.set_level(logging.INFO)
    yield
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def ping_quickly(port: int, count: int = 5) -> float:
    """``count`` pings on a fresh connection, each answered within QUICK seconds; the slowest time."""
    slowest = 0.0
    with RawConnection(port, timeout=QUICK) as conn:
        for n in range(count):
            started = time.perf_counter()
            status, answer = conn.post({"action": "pingSession", "debug": "none", "requestId": n})
            slowest = max(slowest, time.perf_counter() - started)
            assert status == 200 and answer == {"result": {}, "requestId": n, "errorCode": 0, "errorMessage": ""}
    return slowest


# --- truncated and abandoned requests -------------------------------------------------------------


@pytest.mark.parametrize(
    "partial",
    [
        b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + PING,  # 100 promised, fewer sent
        b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000\r\n\r\n"
        + b"x" * 70_000,  # over the size limit
        b'POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"action":',  # half a chunk
        b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len",  # half the headers
        b"POST /api HT",  # half the request line
    ],
    ids=["short-body", "short-oversized-body", "short-chunk", "half-headers", "half-request-line"],
)
@pytest.mark.parametrize("how", ["close", "half-close"])
def test_a_truncated_request_then_the_client_goes_away(
    module_server: EmulatorServer, no_errors_logged: None, partial: bytes, how: str
) -> None:
    conn = RawConnection(module_server.port)
    conn.send(partial)
    if how == "close":
        conn.close()
    else:  # the client says it will send nothing more but keeps reading: the server must close
        conn.sock.shutdown(socket.SHUT_WR)
        try:
            sent_back = conn.wait_closed(timeout=5)
        finally:
            conn.close()
        if b"Content-Length: 5000000" in partial:  # declared over the limit: refused at once, then closed
            assert b'"errorCode": 12028' in sent_back and b"Connection: close" in sent_back
        else:
            assert b"200 OK" not in sent_back  # an incomplete request is never answered as if it were whole
    ping_quickly(module_server.port)


def test_silent_and_stalled_clients_do_not_hold_up_others(
    module_server: EmulatorServer, no_errors_logged: None
) -> None:
    """Connections that send nothing, half a request line, half the headers or half the body stay
    open while others are answered quickly; finishing the stalled requests later still works."""
    silent = RawConnection(module_server.port)
    line = RawConnection(module_server.port)
    headers = RawConnection(module_server.port)
    body = RawConnection(module_server.port)
    stalled = [silent, line, headers, body]
    try:
        full = http_request(jbody({"action": "pingSession", "debug": "none", "requestId": "late"}))
        cut_line, cut_headers, cut_body = 6, full.index(b"Content-Length"), len(full) - 5
        line.send(full[:cut_line])
        headers.send(full[:cut_headers])
        body.send(full[:cut_body])
        time.sleep(0.2)  # the server has read what there is and is waiting for more
        slowest = ping_quickly(module_server.port, count=20)
        print(f"\nslowest ping while 4 clients stall: {slowest * 1000:.1f} ms")
        # the stalled clients finish their requests and get correct answers on the same connections
        line.send(full[cut_line:])
        headers.send(full[cut_headers:])
        body.send(full[cut_body:])
        for conn in (line, headers, body):
            status, answer = conn.read_answer()
            assert status == 200 and json.loads(answer)["requestId"] == "late"
        status, answer = silent.post({"action": "pingSession", "debug": "none", "requestId": "silent"})
        assert status == 200 and answer["requestId"] == "silent"
    finally:
        for conn in stalled:
            conn.close()


def test_a_client_trickling_a_valid_request_byte_by_byte_is_answered_correctly(
    module_server: EmulatorServer, no_errors_logged: None
) -> None:
    """Every byte its own TCP segment, multi-byte UTF-8 characters split across them; meanwhile
    another client keeps getting answers."""
    request_id = {"text": "🔑 مفتاح ñ\u0000", "n": 12345678901234567890}
    body = jbody({"action": "pingSession", "debug": "max", "requestId": request_id}, ascii_only=False)
    assert len(body) < 300
    data = http_request(body)
    done = threading.Event()
    other_slowest: list[float] = []

    def others() -> None:
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline:
            other_slowest.append(ping_quickly(module_server.port, count=3))

    thread = threading.Thread(target=others, daemon=True)
    thread.start()
    try:
        with RawConnection(module_server.port) as conn:
            for byte in data:
                conn.send(bytes([byte]))
                time.sleep(0.002)
            status, answer = conn.read_answer()
    finally:
        done.set()
        thread.join(timeout=10)
    assert status == 200
    parsed = json.loads(answer)
    assert parsed["errorCode"] == 0 and parsed["requestId"] == request_id
    assert parsed["debugInfo"]["request"]["requestId"] == request_id
    assert other_slowest and max(other_slowest) < QUICK


# --- bytes that are not HTTP ----------------------------------------------------------------------

NOT_HTTP = {
    "tls-client-hello": bytes.fromhex("16030100c4010000c00303") + bytes(range(32)) + b"\x00\x02\x13\x01\x01\x00",
    "ssh-banner": b"SSH-2.0-OpenSSH_9.6\r\n",
    "http2-preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "words": b"hello, is this the API?\r\n\r\n",
    "nul-and-ff": b"\x00\xff" * 300 + b"\r\n\r\n",
    "json-without-http": PING + b"\r\n\r\n",
    "unknown-version": b"POST /api HTTP/7.1\r\nHost: 127.0.0.1\r\n\r\n",
    "negative-length": b"POST /api HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    "two-lengths": b"POST /api HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "chunked-and-length": b"POST /api HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    "bad-chunk-size": b"POST /api HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "length-too-large": b"POST /api HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "header-without-colon": b"POST /api HTTP/1.1\r\nHost x\r\nContent-Length: 2\r\n\r\n{}",
}


@pytest.mark.parametrize("garbage", list(NOT_HTTP.values()), ids=list(NOT_HTTP))
def test_bytes_that_are_not_http(module_server: EmulatorServer, no_errors_logged: None, garbage: bytes) -> None:
    """Answered with a bare 400 and closed, or simply closed once the client stops sending:
    never a 200, never a hang, and the server keeps serving."""
    with RawConnection(module_server.port) as conn:
        conn.send(garbage)
        conn.sock.shutdown(socket.SHUT_WR)
        sent_back = conn.wait_closed(timeout=5)
    assert sent_back == b"" or sent_back.startswith(b"HTTP/1.1 400 "), sent_back[:200]
    ping_quickly(module_server.port)


# --- headers ----------------------------------------------------------------------------------------


def test_large_headers_within_the_limit_are_answered(module_server: EmulatorServer, no_errors_logged: None) -> None:
    many = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"v" * 20) for n in range(1000))  # ~31 KB of headers
    one_big = b"X-Big: " + b"a" * 40_000 + b"\r\n"
    with RawConnection(module_server.port) as conn:
        for extra in (many, one_big):
            status, answer = conn.post(PING, extra=extra)
            assert status == 200 and answer["errorCode"] == 0


@pytest.mark.parametrize("size", [70_000, 1_000_000])
def test_a_huge_header_closes_that_connection_only(
    module_server: EmulatorServer, no_errors_logged: None, size: int
) -> None:
    with RawConnection(module_server.port) as conn:
        try:
            conn.send(http_request(PING, extra=b"X-Huge: " + b"a" * size + b"\r\n"))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection while the client was still sending: fine
        sent_back = conn.wait_closed(timeout=5)
    assert b"200 OK" not in sent_back
    ping_quickly(module_server.port)


# --- many connections -------------------------------------------------------------------------------


def test_two_hundred_idle_connections_then_normal_requests(
    module_server: EmulatorServer, no_errors_logged: None
) -> None:
    idle: list[RawConnection] = []
    try:
        for n in range(200):
            conn = RawConnection(module_server.port)
            if n % 4 == 1:
                conn.send(b"POST /api HTTP/1.1\r\n")  # a quarter of them stall mid-request
            idle.append(conn)
        time.sleep(0.2)
        slowest = ping_quickly(module_server.port, count=20)
        print(f"\nslowest ping with 200 idle connections open: {slowest * 1000:.1f} ms")
        # every idle connection is still usable, and answers on it come back quickly too
        started = time.perf_counter()
        for n, conn in enumerate(idle):
            if n % 4 == 1:
                conn.send(b"Host: 127.0.0.1\r\n" + f"Content-Length: {len(PING)}\r\n\r\n".encode() + PING)
                status, body = conn.read_answer()
            else:
                status, body = conn.post(PING)
            assert status == 200, (n, body)
        assert time.perf_counter() - started < 10 * QUICK
    finally:
        for conn in idle:
            conn.close()


def test_pipelined_requests_the_client_does_not_read_do_not_block_others(module_server: EmulatorServer,
                                                                        no_errors_logged: None) -> None:
    """500 requests sent back to back on one connection without reading a single answer."""
    count = 500
    with RawConnection(module_server.port) as greedy:
        greedy.send(b"".join(http_request(jbody({"action": "listServices", "debug": "max", "requestId": n}))
                             for n in range(count)))
        ping_quickly(module_server.port, count=10)
        ids = []
        for _ in range(count):
            status, body = greedy.read_answer()
            assert status == 200
            ids.append(json.loads(body)["requestId"])
    assert ids == list(range(count))  # in order, none lost


def test_a_websocket_upgrade_that_stalls_does_not_block_others(
    module_server: EmulatorServer, no_errors_logged: None
) -> None:
    with RawConnection(module_server.port) as conn:
        conn.send(b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        status, _ = conn.read_answer()
        assert status == 101
        conn.send(b"\x81")  # the first byte of a text frame, then nothing
        ping_quickly(module_server.port)


def test_the_home_is_untouched_by_hostile_transport(module_server: EmulatorServer) -> None:
    """After everything above (module order), the data file is still a healthy SQLite database."""
    path = Path(module_server.home) / "data" / "kit.sqlite3"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    ping_quickly(module_server.port)
