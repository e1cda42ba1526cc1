"""A minimal keep-alive HTTP/1.1 client over one socket: pre-built requests, Content-Length bodies.

The benchmark measures the server, so the client does as little as it can: it sends bytes built
once and reads the answer by its Content-Length, nothing more.
"""

from __future__ import annotations

import socket

__all__ = ["RawClient", "build_request"]


def build_request(host: str, port: int, path: str, body: bytes, method: str = "POST") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class RawClient:
    """One keep-alive connection. ``roundtrip(request) -> (status, body)``."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, path: str, body: bytes, method: str = "POST") -> tuple[int, bytes]:
        return self.roundtrip(build_request(self.host, self.port, path, body, method))

    def roundtrip(self, request: bytes) -> tuple[int, bytes]:
        self.sock.sendall(request)
        return self._read_response()

    def _read_response(self) -> tuple[int, bytes]:
        buf, sock = self._buf, self.sock
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise ValueError(f"the answer has no Content-Length: {lines!r}")
        start = end + 4
        have = len(buf) - start
        if have >= length:
            body = bytes(buf[start:start + length])
            del buf[:start + length]
            return status, body
        out = bytearray(length)
        out[:have] = buf[start:]
        buf.clear()
        view = memoryview(out)
        while have < length:
            got = sock.recv_into(view[have:])
            if not got:
                raise ConnectionError("the server closed the connection mid-answer")
            have += got
        return status, bytes(out)
