"""HTTP and WebSocket: the tornado side. Handlers only translate; the envelope does the work.

Both transports hand the raw request text to the same :class:`~.envelope.Dispatcher`. POST on
``/api`` and on every path under it is a jsonAction request; a WebSocket upgrade on those paths
opens a socket where each text message is one request. Anything else on ``/api`` gets HTTP 405
with an envelope that says to POST JSON.

The HTTP server talks to :class:`ApiServer` (see :func:`make_server`): a POST on the API paths is
the hot path, answered there without tornado's per-request handler machinery; every other request
goes on to the tornado :class:`~tornado.web.Application` of :func:`make_app`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from tornado import httputil, web, websocket
from tornado.log import access_log
from tornado.routing import PathMatches, Rule

from .envelope import Dispatcher
from .errors import ErrorCode
from .peers import RefusedMessage

__all__ = ["make_app", "make_server", "ApiServer"]

log = logging.getLogger(__name__)

_API_PATH = r"/api(?:/.*)?$"
_JSON = "application/json; charset=utf-8"


def _too_large(limit: int) -> str:
    return (
        f"The request body is larger than this server's limit of {limit} bytes: send a smaller "
        "request (the limit is the --max-body-bytes option of tutorial-kit serve)."
    )


_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def foreign_request(headers: httputil.HTTPHeaders, loopback_only: bool) -> str | None:
    """Why a request must be refused as coming from a web page, or None.

    A page in the learner's browser can POST to a server on 127.0.0.1 (and, through DNS
    rebinding, read the answers). Browsers always name the page's origin in ``Origin`` and the
    name they resolved in ``Host``; programs (httpx, curl, FairCom's clients) send no ``Origin``.
    So: an ``Origin`` of another machine's site is refused (pages served from this computer,
    JupyterLab's for one, are not), and a loopback-only server refuses a ``Host`` that is not a
    loopback name.
    """
    host = headers.get("Host", "")
    if loopback_only and host:  # no Host at all: an HTTP/1.0 program, never a browser
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name.lower() not in _LOCAL_HOSTS and not name.startswith("127."):
            return f'the Host header names "{host}", not this computer'
    origin = headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin)
        same_machine = (parts.hostname or "") in _LOCAL_HOSTS or (parts.hostname or "").startswith("127.")
        if parts.netloc.lower() != host.lower() and not same_machine:
            return f'it comes from the web page {origin}'
    return None


def _refusal(reason: str) -> str:
    return (f"This server refused the request because {reason}: it only answers programs on this "
            "computer, not web pages. Send the request from Python, curl or a notebook, to "
            "http://127.0.0.1:<port>/api.")


def _byte_size(message: str | bytes) -> int:
    """The message's size in UTF-8 bytes, as the limit counts it (isascii() is O(1))."""
    if isinstance(message, bytes) or message.isascii():
        return len(message)
    return len(message.encode("utf-8", "surrogatepass"))


@web.stream_request_body
class ApiHandler(web.RequestHandler):
    """POST a jsonAction request; any other method gets HTTP 405 and an error envelope."""

    def initialize(self, dispatcher: Dispatcher, max_body_bytes: int) -> None:
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes
        self._chunks: list[bytes] = []
        self._size = 0

    def prepare(self) -> None:
        reason = foreign_request(self.request.headers, self.settings["loopback_only"])
        if reason is not None:
            self.set_status(403)
            self.set_header("Content-Type", _JSON)
            # Answered before the request was read to its end, so tornado closes the connection
            # after this answer: say so, or a keep-alive client sends its next request into it.
            self.set_header("Connection", "close")
            self.finish(self.dispatcher.error_body(ErrorCode.FOREIGN_REQUEST, _refusal(reason)))

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

    def check_origin(self, origin: str) -> bool:
        """Refuse pages of other origins (tornado's rule) and, on loopback, foreign Host names."""
        return foreign_request(self.request.headers, self.settings["loopback_only"]) is None

    def open(self, *args: Any) -> None:
        self.settings["open_sockets"].add(self)  # so that stopping the server can close it

    def on_close(self) -> None:
        self.settings["open_sockets"].discard(self)

    async def on_message(self, message: str | bytes) -> None:
        if _byte_size(message) > self.max_body_bytes:
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


def make_app(dispatcher: Dispatcher, max_body_bytes: int, *, loopback_only: bool = True) -> web.Application:
    """The tornado application serving one dispatcher (see :func:`foreign_request` for ``loopback_only``)."""
    kwargs = {"dispatcher": dispatcher, "max_body_bytes": max_body_bytes}
    return web.Application(
        [
            Rule(_WebSocketUpgrade(_API_PATH), ApiSocket, kwargs),
            Rule(PathMatches(_API_PATH), ApiHandler, kwargs),
        ],
        websocket_max_message_size=max(4 * max_body_bytes, 4 * 1024 * 1024),
        compress_response=False,
        open_sockets=set(),
        loopback_only=loopback_only,
    )


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
            connection.stream.close()


def make_server(dispatcher: Dispatcher, max_body_bytes: int, *, loopback_only: bool = True,
                gate: Callable[[object], str | None] | None = None) -> "ApiServer":
    """What the HTTP server runs: :class:`ApiServer` in front of :func:`make_app`'s application.

    ``gate(connection)``, called once per request, returns why the connection is refused (it is
    answered HTTP 403) or None (see lifetime.RunGuard.gate: activity and the peer's user).
    """
    app = make_app(dispatcher, max_body_bytes, loopback_only=loopback_only)
    return ApiServer(app, dispatcher, max_body_bytes, loopback_only=loopback_only, gate=gate)


_API_RE = re.compile(_API_PATH)  # matched against the path without the query, as PathMatches does
_OK_LINE = httputil.ResponseStartLine("HTTP/1.1", 200, "OK")
_FORBIDDEN_LINE = httputil.ResponseStartLine("HTTP/1.1", 403, "Forbidden")
def _body_already_read(conn: httputil.HTTPConnection, headers: httputil.HTTPHeaders) -> bool:
    """True when the whole Content-Length body already sits in the connection's read buffer.

    Reads tornado's IOStream buffer size; if that ever changes, this says False and the body
    timeout simply stays on.
    """
    length = headers.get("Content-Length")
    if length is None or not (length.isascii() and length.isdigit()) or not hasattr(conn, "set_body_timeout"):
        return False
    buffered = getattr(getattr(conn, "stream", None), "_read_buffer_size", None)
    return isinstance(buffered, int) and buffered >= int(length)


class ApiServer(httputil.HTTPServerConnectionDelegate):
    """The HTTP server's delegate: jsonAction POSTs are answered here, everything else by ``app``.

    A POST on ``/api`` or a path under it is the server's hot path,
    so it skips tornado's RequestHandler machinery (routing objects, a handler and a coroutine per
    request, streamed-body futures): the body is collected as it arrives (nothing past the size
    limit is kept, and an oversized body still gets its 12028 envelope), the dispatcher answers,
    and the answer goes out with Content-Type, Content-Length and Date. Keep-alive, HTTP/1.0,
    chunked request bodies and ``Expect: 100-continue`` are handled by tornado's connection as
    before. Every other request (405s, WebSocket upgrades, other paths) goes to the tornado
    application unchanged, the way tornado's own router hands requests on.
    """

    def __init__(self, app: web.Application, dispatcher: Dispatcher, max_body_bytes: int, *,
                 loopback_only: bool = True, gate: Callable[[object], str | None] | None = None) -> None:
        self.app = app
        self.gate = gate
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes
        self.loopback_only = loopback_only
        self._date: tuple[int, str] = (0, "")

    def http_date(self) -> str:
        """The Date header value, formatted once per second."""
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, httputil.format_timestamp(now))
        return self._date[1]

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        refused = self.gate(server_conn) if self.gate is not None else None
        if refused is not None:  # another user's connection (server/peers.py): HTTP 403, whatever it asks
            return RefusedMessage(request_conn, self.dispatcher.error_body(ErrorCode.OTHER_USER, refused))
        return _ApiMessage(self, server_conn, request_conn)


class _ApiMessage(httputil.HTTPMessageDelegate):
    """One request on a connection: answered directly, or handed to the application."""

    __slots__ = ("server", "server_conn", "conn", "delegate", "chunks", "size", "task", "uri", "started", "refused")

    def __init__(self, server: ApiServer, server_conn: object, conn: httputil.HTTPConnection) -> None:
        self.server = server
        self.server_conn = server_conn
        self.conn = conn
        self.delegate: httputil.HTTPMessageDelegate | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.task: asyncio.Future[None] | None = None
        self.uri = ""
        self.started = 0.0
        self.refused: str | None = None

    def headers_received(self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
                         headers: httputil.HTTPHeaders) -> Awaitable[None] | None:
        assert isinstance(start_line, httputil.RequestStartLine)
        if start_line.method == "POST" and _API_RE.match(start_line.path.partition("?")[0]) is not None:
            # (a WebSocket upgrade is a GET; an Upgrade header on a POST changes nothing)
            self.uri, self.started = start_line.path, time.perf_counter()
            if "Origin" in headers or self.server.loopback_only:
                self.refused = foreign_request(headers, self.server.loopback_only)
            if _body_already_read(self.conn, headers):
                # The server's body timeout guards a body that is slow to arrive; this one has
                # arrived, so skip the timer (a timer per request is a good share of the cost).
                self.conn.set_body_timeout(None)  # type: ignore[attr-defined, arg-type]
            return None
        self.delegate = self.server.app.start_request(self.server_conn, self.conn)
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.delegate is not None:
            return self.delegate.data_received(chunk)
        self.size += len(chunk)
        if self.size <= self.server.max_body_bytes:
            self.chunks.append(chunk)
        elif self.chunks:
            self.chunks = []  # over the limit: keep reading, keep nothing
        return None

    def finish(self) -> None:
        if self.delegate is not None:
            self.delegate.finish()
            return
        server = self.server
        if self.refused is not None:
            self._answer(server.dispatcher.error_body(ErrorCode.FOREIGN_REQUEST, _refusal(self.refused)), _FORBIDDEN_LINE)
            return
        if self.size > server.max_body_bytes:
            self._answer(server.dispatcher.error_body(ErrorCode.BODY_TOO_LARGE, _too_large(server.max_body_bytes)))
            return
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        answer = server.dispatcher.handle(body, self._client_ip())
        if isinstance(answer, bytes):
            self._answer(answer)
        else:
            self.task = asyncio.ensure_future(self._answer_later(answer))

    def _client_ip(self) -> str:
        # tornado's HTTP1Connection carries the HTTPServer's request context (remote_ip among it)
        return getattr(getattr(self.conn, "context", None), "remote_ip", None) or ""

    async def _answer_later(self, pending: Awaitable[bytes]) -> None:
        self._answer(await pending)

    def _answer(self, body: bytes, status: httputil.ResponseStartLine | None = None) -> None:
        status = status or _OK_LINE
        headers = httputil.HTTPHeaders()
        headers["Content-Type"] = _JSON
        headers["Content-Length"] = str(len(body))
        headers["Date"] = self.server.http_date()
        if len(body) > 65536:  # written apart from the headers, so that it is not copied to join them
            self.conn.write_headers(status, headers)
            self.conn.write(body)
        else:  # one write, one send
            self.conn.write_headers(status, headers, body)
        self.conn.finish()
        if access_log.isEnabledFor(logging.INFO):  # as tornado's Application logs the requests it serves
            took = (time.perf_counter() - self.started) * 1000
            access_log.info("%d %s %s (%s) %.2fms", status.code, "POST", self.uri, self._client_ip(), took)

    def on_connection_close(self) -> None:
        if self.delegate is not None:
            self.delegate.on_connection_close()
