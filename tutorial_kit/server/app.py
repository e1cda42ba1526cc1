"""HTTP and WebSocket: the tornado side. Handlers only translate; the envelope does the work.

Both transports hand the raw request text to the same :class:`~.envelope.Dispatcher`. POST on
``/api`` and on every path under it is a jsonAction request; a WebSocket upgrade on those paths
opens a socket where each text message is one request. Anything else on ``/api`` gets HTTP 405
with an envelope that says to POST JSON.

The HTTP server talks to :class:`~.fastpath.ApiServer` (see :func:`make_server`): a POST on the
API paths is the hot path, answered there without tornado's per-request handler machinery; every
other request goes on to the tornado :class:`~tornado.web.Application` of :func:`make_app`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from tornado import httputil, web, websocket
from tornado.log import access_log
from tornado.routing import PathMatches, Rule

from .connections import ConnectionGuard
from .envelope import Dispatcher
from .errors import ErrorCode
from .fastpath import API_PATH, JSON_TYPE, ApiServer, redacted, too_large_message, watch_of
from .limits import ServerLimits
from .origin import foreign_request, refusal_message

__all__ = ["make_app", "make_server", "ApiServer", "foreign_request"]

log = logging.getLogger(__name__)


def _byte_size(message: str | bytes) -> int:
    """The message's size in UTF-8 bytes, as the limit counts it (isascii() is O(1))."""
    if isinstance(message, bytes) or message.isascii():
        return len(message)
    return len(message.encode("utf-8", "surrogatepass"))


def _refuse_foreign(handler: web.RequestHandler, dispatcher: Dispatcher) -> None:
    """Answer 403 with an envelope if :func:`foreign_request` refuses the handler's request."""
    reason = foreign_request(handler.request.headers, handler.settings["loopback_only"])
    if reason is not None:
        handler.set_status(403)
        handler.set_header("Content-Type", JSON_TYPE)
        # The connection is closed after this answer (a request with a body is answered before
        # the body is read, and a web page gets no second request anyway): say so, or a
        # keep-alive client sends its next request into the closing socket.
        handler.set_header("Connection", "close")
        connection = handler.request.connection
        written = handler.finish(dispatcher.error_body(ErrorCode.FOREIGN_REQUEST, refusal_message(reason)))
        if connection is not None:
            written.add_done_callback(lambda _: connection.close())  # type: ignore[attr-defined]


class ApiHandler(web.RequestHandler):
    """Any method on the API paths but POST (which :class:`~.fastpath.ApiServer` answers): HTTP 405 and an envelope."""

    def initialize(self, dispatcher: Dispatcher, max_body_bytes: int) -> None:
        self.dispatcher = dispatcher

    def prepare(self) -> None:
        _refuse_foreign(self, self.dispatcher)

    def _not_post(self, *args: Any) -> None:
        self.set_status(405)
        self.set_header("Allow", "POST")
        self.set_header("Content-Type", JSON_TYPE)
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
        self.set_header("Content-Type", JSON_TYPE)
        status = f"{status_code} {httputil.responses.get(status_code, '')}"
        message = f"The HTTP request could not be handled ({status}): send a POST with a JSON body."
        self.finish(self.dispatcher.error_body(ErrorCode.INVALID_VALUE, message))


class ApiSocket(websocket.WebSocketHandler):
    """One jsonAction request per text message; one answer per message (match them by requestId)."""

    def initialize(self, dispatcher: Dispatcher, max_body_bytes: int) -> None:
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes

    def prepare(self) -> None:
        """The kit's Host/Origin rule, before tornado's own handshake checks run.

        tornado's same-origin check lets a page through whose ``Origin`` equals the ``Host`` it
        sent (or that says ``Sec-Fetch-Site: same-origin``), which is exactly what a DNS
        rebinding page sends; so the rule of the HTTP side is applied here first.
        """
        _refuse_foreign(self, self.dispatcher)

    def check_origin(self, origin: str) -> bool:
        """tornado asks this for pages it takes as cross-origin; :meth:`prepare` has applied the rule."""
        return foreign_request(self.request.headers, self.settings["loopback_only"]) is None

    def open(self, *args: Any) -> None:
        self.settings["open_sockets"].add(self)  # so that stopping the server can close it
        self._pending: set[asyncio.Future[bytes]] = set()
        self._watch = watch_of(self.settings.get("guard"), self.ws_connection)
        if self._watch is not None:
            self._watch.websocket = True
            self._watch.waiting()

    def on_close(self) -> None:
        self.settings["open_sockets"].discard(self)
        for task in getattr(self, "_pending", ()):
            task.cancel()  # a login still queued for a client that has gone is never hashed

    async def on_message(self, message: str | bytes) -> None:
        watch = self._watch
        if watch is not None:
            watch.working()
        try:
            body = await self._answer_for(message)
        except asyncio.CancelledError:  # the client went away, or the server is stopping
            return
        finally:
            if watch is not None and not self._pending:
                watch.waiting()
        try:
            await self.write_message(body.decode())
        except websocket.WebSocketClosedError:
            log.debug("websocket closed before its answer could be sent")

    async def _answer_for(self, message: str | bytes) -> bytes:
        if _byte_size(message) > self.max_body_bytes:
            return self.dispatcher.error_body(ErrorCode.BODY_TOO_LARGE, too_large_message(self.max_body_bytes))
        answer = self.dispatcher.handle(message, self.request.remote_ip or "")
        if answer.ready is not None:
            return answer.ready
        task = asyncio.ensure_future(answer.wait())
        self._pending.add(task)
        try:
            return await task
        finally:
            self._pending.discard(task)


class _WebSocketUpgrade(PathMatches):
    """Matches the API paths only for a WebSocket upgrade request."""

    def match(self, request: httputil.HTTPServerRequest) -> dict[str, Any] | None:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return None
        return super().match(request)


def make_app(dispatcher: Dispatcher, limits: ServerLimits, *, loopback_only: bool = True,
             guard: ConnectionGuard | None = None) -> web.Application:
    """The tornado application serving one dispatcher (see :func:`foreign_request` for ``loopback_only``)."""
    kwargs = {"dispatcher": dispatcher, "max_body_bytes": limits.max_body_bytes}
    return web.Application(
        [
            Rule(_WebSocketUpgrade(API_PATH), ApiSocket, kwargs),
            Rule(PathMatches(API_PATH), ApiHandler, kwargs),
        ],
        websocket_max_message_size=max(4 * limits.max_body_bytes, 4 * 1024 * 1024),
        compress_response=False,
        open_sockets=set(),
        loopback_only=loopback_only,
        guard=guard,
        log_function=_log_request,
    )


def _log_request(handler: web.RequestHandler) -> None:
    """tornado's access log line, with the query string redacted."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    if access_log.isEnabledFor(level):
        request = handler.request
        took = 1000.0 * request.request_time()
        access_log.log(level, "%d %s %s (%s) %.2fms", status, request.method, redacted(request.uri or ""),
                       request.remote_ip, took)


async def close_websockets(delegate: Any, timeout: float = 1.0) -> None:
    """Close the open WebSockets of ``delegate`` (what make_app or make_server returned).

    Each gets a close frame ("going away"); a client that does not answer it within ``timeout``
    seconds has its connection closed. The HTTPServer's close_all_connections does not reach
    upgraded connections, so without this they would outlive the server.
    """
    app = getattr(delegate, "app", delegate)
    sockets: set[ApiSocket] = app.settings.get("open_sockets", set())
    closing = [(handler, handler.ws_connection) for handler in list(sockets)]
    for handler, _ in closing:
        handler.close(1001, "the server is stopping")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sockets and loop.time() < deadline:
        await asyncio.sleep(0.01)
    for handler, connection in closing:
        if handler in sockets and connection is not None:
            if connection.stream is not None:
                connection.stream.close()


def make_server(dispatcher: Dispatcher, limits: ServerLimits, *, loopback_only: bool = True,
                guard: ConnectionGuard | None = None,
                gate: Callable[[object], str | None] | None = None) -> ApiServer:
    """What the HTTP server runs: :class:`ApiServer` in front of :func:`make_app`'s application.

    ``gate(connection)``, called once per request, returns why the connection is refused (it is
    answered HTTP 403) or None (see lifetime.RunGuard.gate: activity and the peer's user).
    """
    app = make_app(dispatcher, limits, loopback_only=loopback_only, guard=guard)
    return ApiServer(app, dispatcher, limits.max_body_bytes, loopback_only=loopback_only, guard=guard, gate=gate)
