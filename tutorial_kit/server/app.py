"""HTTP and WebSocket: the tornado side. Handlers only translate; the envelope does the work.

Both transports hand the raw request text to the same :class:`~.envelope.Dispatcher`. POST on
``/api`` and on every path under it is a jsonAction request; a WebSocket upgrade on those paths
opens a socket where each text message is one request. Anything else on ``/api`` gets HTTP 405
with an envelope that says to POST JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from tornado import httputil, web, websocket
from tornado.routing import PathMatches, Rule

from .envelope import Dispatcher
from .errors import ErrorCode

__all__ = ["make_app"]

log = logging.getLogger(__name__)

_API_PATH = r"/api(?:/.*)?$"
_JSON = "application/json; charset=utf-8"


def _too_large(limit: int) -> str:
    return (
        f"The request body is larger than this server's limit of {limit} bytes: send a smaller "
        "request (the limit is the --max-body-bytes option of tutorial-kit serve)."
    )


@web.stream_request_body
class ApiHandler(web.RequestHandler):
    """POST a jsonAction request; any other method gets HTTP 405 and an error envelope."""

    def initialize(self, dispatcher: Dispatcher, max_body_bytes: int) -> None:
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes
        self._chunks: list[bytes] = []
        self._size = 0

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self.max_body_bytes:
            self._chunks.append(chunk)
        else:
            self._chunks = []  # over the limit: keep reading, keep nothing

    async def post(self, *args: Any) -> None:
        if self._size > self.max_body_bytes:
            body = self.dispatcher.error_body(ErrorCode.BODY_TOO_LARGE, _too_large(self.max_body_bytes))
        else:
            body = self.dispatcher.handle(b"".join(self._chunks), self.request.remote_ip or "")
            if not isinstance(body, bytes):
                body = await body
        self.set_header("Content-Type", _JSON)
        self.finish(body)

    def _not_post(self, *args: Any) -> None:
        self.set_status(405)
        self.set_header("Allow", "POST")
        self.set_header("Content-Type", _JSON)
        message = (f"{self.request.method} is not supported here: send the jsonAction request as JSON "
                   "in the body of a POST (or open a WebSocket on this path).")
        self.finish(self.dispatcher.error_body(ErrorCode.NOT_POST, message))

    get = put = delete = patch = options = _not_post

    def head(self, *args: Any) -> None:
        self.set_status(405)
        self.set_header("Allow", "POST")
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors tornado raises itself (e.g. a malformed request) still get an envelope."""
        self.set_header("Content-Type", _JSON)
        message = f"The HTTP request could not be handled ({status_code} {httputil.responses.get(status_code, '')}): send a POST with a JSON body."
        self.finish(self.dispatcher.error_body(ErrorCode.INVALID_VALUE, message))


class ApiSocket(websocket.WebSocketHandler):
    """One jsonAction request per text message; one answer per message (match them by requestId)."""

    def initialize(self, dispatcher: Dispatcher, max_body_bytes: int) -> None:
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes

    async def on_message(self, message: str | bytes) -> None:
        if len(message) > self.max_body_bytes:
            body = self.dispatcher.error_body(ErrorCode.BODY_TOO_LARGE, _too_large(self.max_body_bytes))
        else:
            body = self.dispatcher.handle(message, self.request.remote_ip or "")
            if not isinstance(body, bytes):
                body = await body
        try:
            await self.write_message(body.decode())
        except websocket.WebSocketClosedError:
            log.debug("websocket closed before its answer could be sent")


class _WebSocketUpgrade(PathMatches):
    """Matches the API paths only for a WebSocket upgrade request."""

    def match(self, request: httputil.HTTPServerRequest) -> dict[str, Any] | None:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return None
        return super().match(request)


def make_app(dispatcher: Dispatcher, max_body_bytes: int) -> web.Application:
    """The tornado application serving one dispatcher."""
    kwargs = {"dispatcher": dispatcher, "max_body_bytes": max_body_bytes}
    return web.Application(
        [
            Rule(_WebSocketUpgrade(_API_PATH), ApiSocket, kwargs),
            Rule(PathMatches(_API_PATH), ApiHandler, kwargs),
        ],
        websocket_max_message_size=max(4 * max_body_bytes, 4 * 1024 * 1024),
        compress_response=False,
    )
