"""Helpers shared by the ``test_hardening_*`` modules: a raw keep-alive HTTP client over one
socket, a ``tutorial-kit serve`` subprocess, and small request builders.

Everything talks to loopback only, and every wait has a deadline.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import strict_json
from tutorial_kit.server.config import DEFAULT_SERVICES

SERVING = re.compile(r"serving http://127\.0\.0\.1:(\d+)/api\n")
TOKEN = re.compile(r"[A-Za-z0-9]{64}")


def http_request(body: bytes, *, path: str = "/api", method: str = "POST", extra: bytes = b"") -> bytes:
    """A complete HTTP/1.1 request with a Content-Length body; ``extra`` is more header lines."""
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n".encode()
            + extra + b"\r\n" + body)


def jbody(value: Any, *, ascii_only: bool = True) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


class RawConnection:
    """One keep-alive HTTP/1.1 connection on a plain socket (no client library in the way).

    ``post(body) -> (status, parsed JSON)``; ``send``/``read_answer`` separately for pipelining.
    """

    def __init__(self, port: int, *, timeout: float = 10.0, local_address: str | None = None) -> None:
        source = (local_address, 0) if local_address else None
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=source)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    @classmethod
    def wrap(cls, sock: socket.socket) -> RawConnection:
        """A RawConnection over an already connected socket."""
        conn = cls.__new__(cls)
        conn.sock, conn.buf = sock, bytearray()
        return conn

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_answer(self) -> tuple[int, bytes]:
        """Read one response (status, body) by its Content-Length."""
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        del self.buf[:end + 4]
        while len(self.buf) < length:
            self._fill()
        body = bytes(self.buf[:length])
        del self.buf[:length]
        return status, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def post(self, body: bytes | dict[str, Any], **kwargs: Any) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else jbody(body)
        self.send(http_request(data, **kwargs))
        status, answer = self.read_answer()
        return status, strict_json(answer) if answer else None

    def wait_closed(self, timeout: float = 5.0) -> bytes:
        """Read until the server closes the connection; return what it sent (raise on timeout)."""
        self.sock.settimeout(timeout)
        data = bytes(self.buf)
        self.buf.clear()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
        raise TimeoutError(f"the server kept the connection open for {timeout} s; it sent {data[:200]!r}")


def write_services(home: Path, **defaults: Any) -> Path:
    """Write a complete services.json into ``home`` with ``defaults`` in jsonActionApiDefaults."""
    data = copy.deepcopy(DEFAULT_SERVICES)
    data["jsonActionApiDefaults"].update(defaults)
    path = home / "config" / "services.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def _limit_child(nofile: int | None, fsize: int | None) -> None:
    """In the child, before exec: lower its resource limits."""
    if nofile:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    if fsize:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))


class ServeProcess:
    """``python -m tutorial_kit serve --home HOME --port 0`` as a real process."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None, nofile: int | None = None,
                 fsize: int | None = None) -> None:
        """``nofile``: the process's fd limit (``ulimit -n``); ``fsize``: its largest file (``ulimit -f``,
        in bytes: writes past it fail as on a full disk)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tutorial_kit", "serve", "--home", str(home), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**base, **(env or {})},
            preexec_fn=(lambda: _limit_child(nofile, fsize)) if nofile or fsize else None,
        )
        self.url = ""
        self.port = 0

    def wait_ready(self, timeout: float = 30) -> str:
        """Wait for the ``serving http://...`` line; return the URL."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, "the server printed nothing in time"
        line = self.proc.stdout.readline().decode()
        match = SERVING.fullmatch(line)
        assert match, (line, self.proc.poll(), self.proc.stderr.read().decode() if self.proc.poll() is not None else "")
        self.url, self.port = line.split()[1], int(match.group(1))
        return self.url

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        """Wait for the process to end by itself; return (exit code, stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()  # never leave it running
            raise
        return self.proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def stop(self, timeout: float = 30) -> tuple[int, str]:
        """SIGTERM (if running) and wait; return (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err.decode(errors="replace")


def create_body(username: str = "ADMIN", password: str = "ADMIN", **params: Any) -> dict[str, Any]:
    return {
        "action": "createSession",
        "debug": "none",
        "params": {"username": username, "password": password, **params},
    }


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile (nearest rank) of an already sorted list."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def websocket_handshake(
    port: int, headers: dict[str, str], *, timeout: float = 10.0
) -> tuple[int, socket.socket, bytes]:
    """Open a WebSocket handshake with exactly these headers (plus the upgrade ones); return
    (status, socket, bytes after the response head). The caller closes the socket."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /api HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, sock, rest


def websocket_send(sock: socket.socket, text: str) -> None:
    """Send one masked text frame (as a browser or client library does)."""
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = bytes([0x81, 0x80 | size])
    elif size < 65536:
        head = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + size.to_bytes(8, "big")
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def websocket_receive(sock: socket.socket, buffered: bytes = b"") -> tuple[str, bytes]:
    """Read one unmasked text frame from the server; return (text, bytes left over)."""
    data = buffered

    def need(count: int) -> None:
        nonlocal data
        while len(data) < count:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the WebSocket")
            data += chunk

    need(2)
    size, offset = data[1] & 0x7F, 2
    if size == 126:
        need(4)
        size, offset = int.from_bytes(data[2:4], "big"), 4
    elif size == 127:
        need(10)
        size, offset = int.from_bytes(data[2:10], "big"), 10
    need(offset + size)
    return data[offset:offset + size].decode(), data[offset + size:]
