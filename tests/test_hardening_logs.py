"""Issue 12, item 11: the log holds no token and no traceback for ordinary client behaviour.

The attacks, against a real ``tutorial-kit serve`` process (and the in-process server):

- a token in the URL's query string (``POST /api?authToken=...``): before the fix the access log
  wrote it at INFO. Now every query string is written as ``?<query>``.
- clients that reset their connections with answers on the way, and a stop (SIGTERM, or
  ``EmulatorServer.restart()``) while HTTP and WebSocket logins are in flight. Before: about 30
  "Uncaught exception" ERROR tracebacks per stop (96 over three stops). Now none, and no
  "Task was destroyed but it is pending!".
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import time
from pathlib import Path

import pytest

from _hardening import (
    RawConnection,
    ServeProcess,
    create_body,
    http_request,
    jbody,
    websocket_handshake,
    websocket_send,
)
from tutorial_kit.server import EmulatorServer


def test_query_strings_never_reach_the_log(tmp_path: Path) -> None:
    proc = ServeProcess(tmp_path, "--log-level", "INFO")
    try:
        proc.wait_ready()
        with RawConnection(proc.port) as conn:
            token = conn.post(create_body())[1]["authToken"]
            conn.post({"action": "pingSession"}, path=f"/api?authToken={token}")  # the hot path
            conn.post({"action": "pingSession"}, path=f"/api/x?authToken={token}&password=ADMIN", method="PUT")
        status, sock, _ = websocket_handshake(proc.port, {"Host": "127.0.0.1"})  # the application's path
        sock.close()
    finally:
        code, err = proc.stop()
    assert code == 0 and status == 101
    assert token not in err and token[:16] not in err and "password=" not in err
    assert "POST /api?<query>" in err and "PUT /api/x?<query>" in err, err[-1500:]


def _logins_in_flight(port: int, count: int) -> list[socket.socket]:
    """``count`` HTTP and ``count`` WebSocket logins sent, their answers never read."""
    socks = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(http_request(jbody(create_body(f"h{n}", "wrong"))))
        socks.append(sock)
        status, ws, _ = websocket_handshake(port, {"Host": "127.0.0.1"})
        assert status == 101
        websocket_send(ws, json.dumps(create_body(f"w{n}", "wrong")))
        socks.append(ws)
    return socks


def _resets_with_answers_on_the_way(port: int, count: int) -> None:
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(http_request(jbody({"action": "pingSession", "requestId": list(range(20000))})))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def test_stops_with_requests_in_flight_log_no_tracebacks(tmp_path: Path) -> None:
    proc = ServeProcess(tmp_path, "--log-level", "INFO")
    socks: list[socket.socket] = []
    try:
        proc.wait_ready()
        socks = _logins_in_flight(proc.port, 20)
        _resets_with_answers_on_the_way(proc.port, 10)
        time.sleep(0.3)
    finally:
        code, err = proc.stop()  # SIGTERM with most of the 40 logins still queued
        for sock in socks:
            sock.close()
    assert code == 0
    assert [line for line in err.splitlines() if " ERROR " in line or "Traceback" in line or "destroyed" in line] == []


def test_restarts_of_the_in_process_server_log_no_tracebacks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    srv = EmulatorServer(tmp_path, port=0).start()
    try:
        for _ in range(2):
            socks = _logins_in_flight(srv.port, 10)
            time.sleep(0.05)
            srv.restart()
            for sock in socks:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
        with RawConnection(srv.port) as conn:
            assert conn.post(create_body())[1]["errorCode"] == 0
    finally:
        srv.stop()
    noisy = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert noisy == []
