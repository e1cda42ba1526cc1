"""From httpx to the in-browser server: the table of listeners and the transport that reads it.

In the browser nothing can listen on a port, so :data:`LISTENERS` stands in for the operating
system's table of listening sockets: an in-browser server "binds" ``127.0.0.1:PORT`` there when it
starts and leaves when it stops. It is the one piece of state shared across this Python, as the
port table is shared across a computer. :class:`InProcessTransport` looks a request's host and
port up in it at send time, so a client made before a restart keeps working after it, and a
request while nothing listens fails as a refused connection does (httpx.ConnectError, which the
client turns into ServerNotRunningError with what to do).

HTTP is translated the way the desktop server's handlers do: POST on ``/api`` (or a path under it)
is a jsonAction request; any other method there gets HTTP 405 with an error envelope; a body over
the server's limit gets errorCode 12028; other paths get 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from .._exceptions import ServerControlError
from ..server.errors import ErrorCode

if TYPE_CHECKING:
    from .server import BrowserServer

__all__ = ["LISTENERS", "Listeners", "InProcessTransport"]

_JSON = "application/json; charset=utf-8"


@dataclass
class Listeners:
    """Which in-browser server answers at which ``(host, port)``, and which one serves each home."""

    _by_address: dict[tuple[str, int], BrowserServer] = field(default_factory=dict)
    _by_home: dict[Path, BrowserServer] = field(default_factory=dict)

    def bind(self, host: str, port: int, server: BrowserServer) -> None:
        """Take ``host:port`` for ``server``; raise ServerControlError when another server has it."""
        other = self._by_address.get((host, port))
        if other is not None and other is not server:
            raise ServerControlError(
                f"port {port} is already used by the in-browser server of {other.home}: change the "
                f'"port" of http8080 in {server.home}/config/services.json, or stop that server first.')
        self._by_address[(host, port)] = server
        self._by_home[server.home] = server

    def release(self, server: BrowserServer) -> None:
        for key in [k for k, v in self._by_address.items() if v is server]:
            del self._by_address[key]
        if self._by_home.get(server.home) is server:
            del self._by_home[server.home]

    def at(self, host: str, port: int) -> BrowserServer | None:
        return self._by_address.get((host, port))

    def of_home(self, home: Path) -> BrowserServer | None:
        return self._by_home.get(home)


#: the listeners of this Python (one per interpreter, like the port table of one computer)
LISTENERS = Listeners()

_LOCAL_NAMES = {"localhost": "127.0.0.1"}


class InProcessTransport(httpx.BaseTransport):
    """An httpx transport that hands each request to the in-browser server listening at its URL."""

    def __init__(self, listeners: Listeners = LISTENERS) -> None:
        self.listeners = listeners

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = _LOCAL_NAMES.get(url.host, url.host)
        port = url.port or (443 if url.scheme == "https" else 80)
        server = self.listeners.at(host, port)
        if url.scheme == "https" and server is not None:
            raise httpx.ConnectError(f"[SSL] the in-browser server at {host}:{port} speaks plain http only",
                                     request=request)
        if server is None:
            raise httpx.ConnectError(f"nothing listens at {host}:{port} in this browser tab", request=request)
        path = url.path
        if path != "/api" and not path.startswith("/api/"):
            return httpx.Response(404, text="404: Not Found", request=request)
        if request.method == "HEAD":
            return httpx.Response(405, headers={"Allow": "POST"}, request=request)
        if request.method != "POST":
            message = (f"{request.method} is not supported here: send the jsonAction request as JSON "
                       "in the body of a POST.")
            return _json(405, server.error_body(ErrorCode.NOT_POST, message), request, {"Allow": "POST"})
        body = request.read()
        if len(body) > server.max_body_bytes:
            message = (f"The request body is larger than this server's limit of {server.max_body_bytes} "
                       "bytes: send a smaller request.")
            return _json(200, server.error_body(ErrorCode.BODY_TOO_LARGE, message), request)
        return _json(200, server.answer(body), request)


def _json(status: int, body: bytes, request: httpx.Request, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers={"Content-Type": _JSON, **(headers or {})}, content=body, request=request)


def route_plain_httpx(listeners: Listeners = LISTENERS) -> None:
    """Let any httpx client in this Python reach the in-browser servers (``httpx.post(lesson.url)``).

    In the browser nothing listens on a real port, so httpx's own transport cannot connect to
    127.0.0.1. This wraps ``httpx.HTTPTransport.handle_request`` once: a request to an address in
    ``listeners`` goes to that server, as the port table would send it; every other request goes
    where httpx sends it. Idempotent.
    """
    original = httpx.HTTPTransport.handle_request
    if getattr(original, "_kit_routed", False):
        return
    inner = InProcessTransport(listeners)

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        host = _LOCAL_NAMES.get(request.url.host, request.url.host)
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        if listeners.at(host, port) is not None:
            return inner.handle_request(request)
        return original(self, request)

    handle_request._kit_routed = True  # type: ignore[attr-defined]
    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
