"""Client connections: a cap below the file-descriptor limit, idle ones closed first, a header deadline.

Every open connection costs the process one file descriptor. Without a cap, about a thousand idle
connections use up the usual ``ulimit -n 1024``: ``accept()`` then fails on every loop turn, the
loop spins and each failure is logged. :class:`ConnectionGuard` keeps the count of connections
(HTTP and WebSocket) under ``max_connections``, itself kept :data:`fd_reserve` below the soft
limit. A new client at the cap gets the place of the connection that has been idle longest;
connections that are being answered are never closed for it. When none can be closed, the server
stops accepting (clients wait in the kernel's backlog) until a place is free. A request's headers
must arrive within ``header_timeout`` seconds of its first byte. Each overload is logged once.

The HTTP side marks what each connection is doing (:class:`Connection`); :class:`GuardedHTTPServer`
is tornado's HTTPServer with the guard in its accept loop.
"""

from __future__ import annotations

import errno
import logging
import resource
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from tornado import httpserver, ioloop, iostream

from .._exceptions import KitUsageError

__all__ = ["Connection", "ConnectionGuard", "GuardedHTTPServer", "connection_cap"]

log = logging.getLogger(__name__)

_OUT_OF_FDS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_MIN_CONNECTIONS = 8
_ACCEPTS_PER_EVENT = 128  # as tornado's own accept loop
_GRACE = 1.0  # seconds a new or just-active connection is safe from being closed to make room


def connection_cap(requested: int, fd_reserve: int) -> int:
    """``requested``, lowered to stay ``fd_reserve`` below this process's fd soft limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return requested
    room = soft - fd_reserve
    if room < _MIN_CONNECTIONS:
        raise KitUsageError(
            f"the file-descriptor limit (ulimit -n {soft}) leaves room for {max(room, 0)} connections; "
            f"raise it to at least {fd_reserve + _MIN_CONNECTIONS} (e.g. ulimit -n 1024) and start again."
        )
    return min(requested, room)


class Connection:
    """What one client connection is doing, as the HTTP side reports it.

    ``state``: "waiting" for a request's headers (idle between requests, or headers arriving),
    "reading" its body, "busy" being answered. Only "busy" connections are never closed to make
    room; the others are closed longest-idle first.
    """

    __slots__ = ("guard", "stream", "state", "since", "websocket", "header_start", "__weakref__")

    def __init__(self, guard: ConnectionGuard, stream: iostream.IOStream) -> None:
        self.guard = guard
        self.stream = stream
        self.state = "waiting"
        self.since = guard.clock()  # last sign of life
        self.websocket = False
        self.header_start: float | None = None  # when the sweep first saw part of the next request

    def waiting(self) -> None:
        """Between requests (or before the first): idle, among the first to be closed at the cap."""
        self.state = "waiting"
        self.header_start = None
        self.guard._idle(self)

    def reading(self) -> None:
        """Headers have arrived; the body is on its way."""
        self.state = "reading"
        self.guard._idle(self)

    def progress(self) -> None:
        """Body bytes arrived: active, so no longer the longest-idle."""
        if self.state == "reading":
            self.guard._idle(self)

    def working(self) -> None:
        """The request is complete and being answered: never closed to make room."""
        self.state = "busy"
        self.guard._evictable.pop(self, None)


class ConnectionGuard:
    """Counts the server's connections and keeps them under the cap (see the module docstring)."""

    def __init__(self, max_connections: int, header_timeout: float, *, fd_reserve: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = connection_cap(max_connections, fd_reserve) if fd_reserve else max_connections
        self.header_timeout = header_timeout
        self.clock = clock
        self._connections: dict[iostream.IOStream, Connection] = {}
        self._evictable: OrderedDict[Connection, None] = OrderedDict()  # longest-idle first
        self._paused: list[Callable[[], None]] = []  # listeners to resume
        self._resume: ioloop.PeriodicCallback | None = None
        self._sweeper: ioloop.PeriodicCallback | None = None
        self._reported: set[str] = set()  # overloads logged in the current episode

    # --- bookkeeping ---

    def __len__(self) -> int:
        return len(self._connections)

    def register(self, stream: iostream.IOStream) -> Connection:
        """A new connection; its stream's close() is hooked so that the count stays exact."""
        conn = Connection(self, stream)
        self._connections[stream] = conn
        self._evictable[conn] = None
        close = stream.close

        def closed(*args: Any, **kwargs: Any) -> None:
            close(*args, **kwargs)
            self._forget(conn)

        stream.close = closed  # type: ignore[method-assign]
        return conn

    def get(self, stream: iostream.IOStream | None) -> Connection | None:
        return self._connections.get(stream) if stream is not None else None

    def _forget(self, conn: Connection) -> None:
        self._connections.pop(conn.stream, None)
        self._evictable.pop(conn, None)

    def _idle(self, conn: Connection) -> None:
        conn.since = self.clock()
        evictable = self._evictable
        if conn in evictable:
            evictable.move_to_end(conn)
        elif conn.stream in self._connections:
            evictable[conn] = None

    # --- the cap ---

    def _oldest_idle(self) -> Connection | None:
        """The longest-idle connection, if it has been idle for at least :data:`_GRACE` seconds
        (a client that has just connected is about to send its request)."""
        while self._evictable:
            conn = next(iter(self._evictable))
            if not conn.stream.closed():
                return conn if self.clock() - conn.since >= _GRACE else None
            self._forget(conn)
        return None

    def make_room(self) -> bool:
        """True if one more connection may be accepted (closing the longest-idle one if need be)."""
        if len(self._connections) < self.cap:
            if len(self._connections) < self.cap * 0.9:
                self._recovered()
            return True
        conn = self._oldest_idle()
        if conn is not None:
            self._report("cap", "%d connections are open, the most this server takes (--max-connections): "
                                "closing the longest-idle ones to make room for new clients", self.cap)
            conn.stream.close()
            return True
        self._report("busy", "all %d connections are busy or just opened: new clients wait for a free one", self.cap)
        return False

    def _report(self, kind: str, message: str, *args: Any) -> None:
        """Log an overload once per episode (an episode ends when the count falls under 90% of the cap)."""
        if kind not in self._reported:
            self._reported.add(kind)
            log.warning(message, *args)

    def _recovered(self) -> None:
        if self._reported:
            self._reported.clear()
            log.info("connections are back under the cap (%d open)", len(self._connections))

    # --- accepting ---

    def listen(self, sock: socket.socket, on_connection: Callable[[socket.socket, Any], None]) -> Callable[[], None]:
        """Accept on ``sock`` within the cap; returns the function that stops it (tornado's contract)."""
        loop = ioloop.IOLoop.current()
        state = {"listening": True, "registered": True}

        def resume() -> None:
            if state["listening"] and not state["registered"]:
                state["registered"] = True
                loop.add_handler(sock, accept, ioloop.IOLoop.READ)

        def pause() -> None:
            if state["registered"]:
                state["registered"] = False
                loop.remove_handler(sock)
                self._paused.append(resume)
                self._start_resume_timer()

        def accept(fd: Any, events: int) -> None:
            for _ in range(_ACCEPTS_PER_EVENT):
                if not state["listening"]:
                    return
                if not self.make_room():
                    pause()
                    return
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as err:
                    if err.errno not in _OUT_OF_FDS:
                        raise
                    self._out_of_fds(err)
                    pause()
                    return
                on_connection(connection, address)

        def stop() -> None:
            state["listening"] = False
            if state["registered"]:
                state["registered"] = False
                loop.remove_handler(sock)

        loop.add_handler(sock, accept, ioloop.IOLoop.READ)
        return stop

    def _out_of_fds(self, err: OSError) -> None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        self._report("fds", "out of file descriptors (%s; ulimit -n %s) with %d connections open: closing the "
                            "longest-idle one; lower --max-connections or raise ulimit -n",
                     err.strerror, soft, len(self._connections))
        conn = self._oldest_idle()
        if conn is not None:
            conn.stream.close()

    def _start_resume_timer(self) -> None:
        if self._resume is None:
            self._resume = ioloop.PeriodicCallback(self._try_resume, 50)
            self._resume.start()

    def _try_resume(self) -> None:
        if len(self._connections) >= self.cap and self._oldest_idle() is None:
            return
        paused, self._paused = self._paused, []
        for resume in paused:
            resume()
        if self._resume is not None:
            self._resume.stop()
            self._resume = None

    # --- the header deadline ---

    def start(self) -> None:
        """Start the once-a-second sweep that enforces the header deadline."""
        self._sweeper = ioloop.PeriodicCallback(self._sweep_tick, 1000)
        self._sweeper.start()

    def stop(self) -> None:
        for timer in (self._sweeper, self._resume):
            if timer is not None:
                timer.stop()
        self._sweeper = self._resume = None
        self._paused.clear()

    def _sweep_tick(self) -> None:
        self.sweep()

    def sweep(self) -> int:
        """Close connections whose pending request's headers are late; return how many."""
        now, late = self.clock(), []
        for conn in list(self._evictable):
            if conn.state != "waiting" or conn.websocket:
                continue
            if conn.stream.closed():
                self._forget(conn)
            elif getattr(conn.stream, "_read_buffer_size", 0) > 0:  # part of a request has arrived
                if conn.header_start is None:
                    conn.header_start = now
                elif now - conn.header_start > self.header_timeout:
                    late.append(conn)
        for conn in late:
            conn.stream.close()
        if late:
            log.info("closed %d connection(s) whose request headers took over %g s", len(late), self.header_timeout)
        return len(late)


class GuardedHTTPServer(httpserver.HTTPServer):
    """tornado's HTTPServer whose accept loop and connections go through a :class:`ConnectionGuard`.

    Set ``guard`` before :meth:`add_sockets`. (It replaces TCPServer's accept handler, reusing its
    ``_sockets``/``_handlers`` tables and ``_handle_connection``, so that ``stop()`` works unchanged.)
    """

    guard: ConnectionGuard

    def add_sockets(self, sockets: Any) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self.guard.listen(sock, self._handle_connection)

    def handle_stream(self, stream: iostream.IOStream, address: tuple[Any, ...]) -> None:
        self.guard.register(stream)
        super().handle_stream(stream, address)
