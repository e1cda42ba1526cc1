"""A client that outlives an idle stop: the transport of :meth:`ServerControl.client`.

The kit's server stops by itself after an idle time, or when the Jupyter server that owned it
ends. A lesson's client must keep working all the same: when its request finds nothing listening
(the connection was refused, so nothing was sent and the request is safe to send again), the
transport asks the control to start the server again — only if it ended by itself, never after a
stop on purpose — and sends the request once more. The server comes back on the same port when
that port is free; otherwise the transport sends this and later requests to the new port.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

import httpx

from ..client.transport import ssl_context

if TYPE_CHECKING:
    from .local import ServerControl

__all__ = ["ReviveTransport", "port_is_free"]

log = logging.getLogger(__name__)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when ``host:port`` can be bound right now (as the server binds it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class ReviveTransport(httpx.BaseTransport):
    """httpx's HTTP transport, plus: a refused connection to the control's server revives it."""

    def __init__(self, control: ServerControl, *, verify: Any = True) -> None:
        self.control = control
        self._inner = httpx.HTTPTransport(verify=ssl_context(verify))
        self._moved: dict[tuple[str, int], int] = {}  # (host, old port) -> the port it came back on

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.host, request.url.port or 0)
        if key in self._moved:
            _retarget(request, self._moved[key])
        try:
            return self._inner.handle_request(request)
        except httpx.ConnectError:
            url = self.control.revive(request.url.port)
            if url is None:
                raise  # stopped on purpose, or never started: the kit's usual message follows
        port = httpx.URL(url).port or 0
        if port != request.url.port:
            self._moved[key] = port
            _retarget(request, port)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _retarget(request: httpx.Request, port: int) -> None:
    request.url = request.url.copy_with(port=port)
    request.headers["Host"] = f"{request.url.host}:{port}"
