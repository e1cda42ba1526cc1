"""The server's hot path: a jsonAction POST answered without tornado's per-request handler machinery.

:class:`ApiServer` is what the HTTPServer talks to (``app.make_server`` builds it). A POST on
``/api`` or a path under it is answered here; every other request (405s, WebSocket upgrades,
other paths) goes on to the tornado Application of ``app.make_app``. Each request tells the
:class:`~.connections.ConnectionGuard` what its connection is doing (waiting, reading, busy).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from tornado import http1connection, httputil, web
from tornado.log import access_log

from .connections import Connection, ConnectionGuard
from .envelope import Dispatcher
from .errors import ErrorCode
from .kit_choices import choice
from .origin import foreign_request, refusal_message
from .peers import RefusedMessage

__all__ = ["ApiServer", "API_PATH", "HTTP_MAX_BODY", "JSON_TYPE", "too_large_message", "watch_of", "redacted"]

API_PATH = r"/api(?:/.*)?$"
#: the HTTPServer's max_body_size: a declared length past it gets tornado's bare 400, not ours
HTTP_MAX_BODY = 2**40
_LINGER_SECONDS = 2.0  # at most this long, after an early 12028, before the connection is closed
JSON_TYPE = "application/json; charset=utf-8"


def too_large_message(limit: int) -> str:
    return (
        f"The request body is larger than this server's limit of {limit} bytes: send a smaller "
        "request (the limit is the --max-body-bytes option of tutorial-kit serve)."
    )


def redacted(uri: str) -> str:
    """A request's path for the log: the query string (it may hold a token) is never written."""
    path, mark, _ = uri.partition("?")
    return path + "?<query>" if mark else path


def watch_of(guard: ConnectionGuard | None, holder: Any) -> Connection | None:
    """The guard's record of the connection under ``holder`` (an HTTP1Connection or WebSocket protocol)."""
    return None if guard is None else guard.get(getattr(holder, "stream", None))


_API_RE = re.compile(API_PATH)  # matched against the path without the query, as PathMatches does
_OK_LINE = httputil.ResponseStartLine("HTTP/1.1", 200, "OK")
_FORBIDDEN_LINE = httputil.ResponseStartLine("HTTP/1.1", 403, "Forbidden")

class ApiServer(httputil.HTTPServerConnectionDelegate):
    """The HTTP server's delegate: jsonAction POSTs are answered here, everything else by ``app``.

    A POST on ``/api`` or a path under it is the server's hot path,
    so it skips tornado's RequestHandler machinery (routing objects, a handler and a coroutine per
    request, streamed-body futures): the body is collected as it arrives (nothing past the size
    limit is kept), the dispatcher answers, and the answer goes out with Content-Type,
    Content-Length and Date. Keep-alive, HTTP/1.0, chunked request bodies and
    ``Expect: 100-continue`` are handled by tornado's connection as before. Every other request
    (405s, WebSocket upgrades, other paths) goes to the tornado application unchanged, the way
    tornado's own router hands requests on.

    A body over the limit gets its 12028 envelope: after it ends if it ends within
    ``body_drain_factor`` times the limit (the connection stays usable), otherwise as soon as it
    passes that (or at once, for a declared Content-Length past it); the connection is then closed
    after at most one more ``max_body_bytes`` (or 2 s), so that nobody can make the server read an
    endless body. A request whose client
    goes away while it waits (a login in the queue) is cancelled.
    """

    def __init__(self, app: web.Application, dispatcher: Dispatcher, max_body_bytes: int, *,
                 loopback_only: bool = True, guard: ConnectionGuard | None = None,
                 gate: Callable[[object], str | None] | None = None) -> None:
        self.app = app
        self.gate = gate
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes
        self.drain_bytes = choice("body_drain_factor") * max_body_bytes
        self.loopback_only = loopback_only
        self.guard = guard
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
        watch = watch_of(self.guard, request_conn)
        if watch is not None:
            watch.waiting()  # the connection now waits for its next request
        return _ApiMessage(self, server_conn, request_conn, watch)


class _ApiMessage(httputil.HTTPMessageDelegate):
    """One request on a connection: answered directly, or handed to the application."""

    __slots__ = ("server", "server_conn", "conn", "watch", "delegate", "chunks", "size", "task", "uri", "started",
                 "refused", "answered", "linger", "timer")

    def __init__(self, server: ApiServer, server_conn: object, conn: httputil.HTTPConnection,
                 watch: Connection | None) -> None:
        self.server = server
        self.server_conn = server_conn
        # tornado's HTTPServer hands every delegate an HTTP1Connection (the methods used here are its own)
        self.conn = cast(http1connection.HTTP1Connection, conn)
        self.watch = watch
        self.delegate: httputil.HTTPMessageDelegate | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.task: asyncio.Future[None] | None = None
        self.uri = ""
        self.started = 0.0
        self.refused: str | None = None
        self.answered = False  # answered before the body ended (over the limit)
        self.linger = 0  # bytes still read (and dropped) after that answer, so that it reaches the client
        self.timer: asyncio.TimerHandle | None = None

    def headers_received(self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
                         headers: httputil.HTTPHeaders) -> Awaitable[None] | None:
        assert isinstance(start_line, httputil.RequestStartLine)
        if self.watch is not None:
            self.watch.reading()
        if start_line.method == "POST" and _API_RE.match(start_line.path.partition("?")[0]) is not None:
            # (a WebSocket upgrade is a GET; an Upgrade header on a POST changes nothing)
            self.uri, self.started = start_line.path, time.perf_counter()
            if "Origin" in headers or self.server.loopback_only:
                self.refused = foreign_request(headers, self.server.loopback_only)
            declared = _declared_length(headers)
            if declared is not None and self.server.drain_bytes < declared <= HTTP_MAX_BODY:
                self._refuse_body()  # nothing of it is read
            elif _body_already_read(self.conn, declared):
                # The server's body timeout guards a body that is slow to arrive; this one has
                # arrived, so skip the timer (a timer per request is a good share of the cost).
                self.conn.set_body_timeout(None)  # type: ignore[arg-type]
            return None
        self.delegate = self.server.app.start_request(self.server_conn, self.conn)
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self.delegate is not None:
            return self.delegate.data_received(chunk)
        if self.answered:
            self.linger -= len(chunk)
            if self.linger < 0:
                self._end_linger()
            return None
        if self.watch is not None:
            self.watch.progress()
        self.size += len(chunk)
        if self.size <= self.server.max_body_bytes:
            self.chunks.append(chunk)
        elif self.size > self.server.drain_bytes:
            self._refuse_body()
        elif self.chunks:
            self.chunks = []  # over the limit: read on (up to drain_bytes), keep nothing
        return None

    def _refuse_body(self) -> None:
        """Answer 12028 now, before the body ends, then close the connection.

        Closing a socket with unread data makes the kernel send a reset, which can destroy the
        answer before the client reads it; so the server lingers: it reads on (and drops) at most
        ``max_body_bytes`` more, for at most :data:`_LINGER_SECONDS`, then closes.
        """
        self.answered, self.chunks, self.linger = True, [], self.server.max_body_bytes
        server = self.server
        self._answer(server.dispatcher.error_body(ErrorCode.BODY_TOO_LARGE, too_large_message(server.max_body_bytes)),
                     close=True, finish=False)
        self.timer = asyncio.get_running_loop().call_later(_LINGER_SECONDS, self._end_linger)

    def _end_linger(self) -> None:
        """Finish the refused request; the connection closes once the answer is written."""
        if self.timer is None:
            return
        self.timer.cancel()
        self.timer = None
        if hasattr(self.conn, "_disconnect_on_finish"):  # tornado's flag: close even if the body ended meanwhile
            self.conn._disconnect_on_finish = True
        self.conn.finish()

    def finish(self) -> None:
        if self.delegate is not None:
            self.delegate.finish()
            return
        if self.answered:  # the body ended while lingering
            self._end_linger()
            return
        if self.watch is not None:
            self.watch.working()
        server = self.server
        if self.refused is not None:
            self._answer(server.dispatcher.error_body(ErrorCode.FOREIGN_REQUEST, refusal_message(self.refused)),
                         _FORBIDDEN_LINE)
            return
        if self.size > server.max_body_bytes:
            self._answer(
                server.dispatcher.error_body(ErrorCode.BODY_TOO_LARGE, too_large_message(server.max_body_bytes))
            )
            return
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        answer = server.dispatcher.handle(body, self._client_ip())
        if answer.ready is not None:
            self._answer(answer.ready)
        else:
            self.task = asyncio.ensure_future(self._answer_later(answer.wait()))
            # tornado tells a delegate whose request is complete of a closed connection only through
            # this callback (on_connection_close is for requests still being read)
            self.conn.set_close_callback(self.on_connection_close)

    def _client_ip(self) -> str:
        # tornado's HTTP1Connection carries the HTTPServer's request context (remote_ip among it)
        return getattr(getattr(self.conn, "context", None), "remote_ip", None) or ""

    async def _answer_later(self, pending: Awaitable[bytes]) -> None:
        try:
            body = await pending
        except asyncio.CancelledError:  # the client went away (see on_connection_close)
            return
        self._answer(body)

    def _answer(self, body: bytes, status: httputil.ResponseStartLine | None = None, *, close: bool = False,
                finish: bool = True) -> None:
        status = status or _OK_LINE
        headers = httputil.HTTPHeaders()
        headers["Content-Type"] = JSON_TYPE
        headers["Content-Length"] = str(len(body))
        headers["Date"] = self.server.http_date()
        if close:
            headers["Connection"] = "close"
        if len(body) > 65536:  # written apart from the headers, so that it is not copied to join them
            self.conn.write_headers(status, headers)
            self.conn.write(body)
        else:  # one write, one send
            self.conn.write_headers(status, headers, body)
        if finish:
            self.conn.finish()
        if access_log.isEnabledFor(logging.INFO):  # as tornado's Application logs the requests it serves
            took = (time.perf_counter() - self.started) * 1000
            access_log.info("%d %s %s (%s) %.2fms", status.code, "POST", redacted(self.uri), self._client_ip(), took)

    def on_connection_close(self) -> None:
        if self.timer is not None:  # closed while lingering: nothing more to do
            self.timer.cancel()
            self.timer = None
        if self.delegate is not None:
            self.delegate.on_connection_close()
        elif self.task is not None and not self.task.done():
            self.task.cancel()  # e.g. a login still queued: its password is never checked


def _declared_length(headers: httputil.HTTPHeaders) -> int | None:
    """The Content-Length as a number, or None (absent, chunked, or not digits: tornado judges those)."""
    length = headers.get("Content-Length")
    if length is None or not (length.isascii() and length.isdigit()):
        return None
    return int(length)


def _body_already_read(conn: httputil.HTTPConnection, length: int | None) -> bool:
    """True when the whole Content-Length body already sits in the connection's read buffer.

    Reads tornado's IOStream buffer size; if that ever changes, this says False and the body
    timeout simply stays on.
    """
    if length is None or not hasattr(conn, "set_body_timeout"):
        return False
    buffered = getattr(getattr(conn, "stream", None), "_read_buffer_size", None)
    return isinstance(buffered, int) and buffered >= length
