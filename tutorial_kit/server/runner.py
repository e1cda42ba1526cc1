"""Running the server: :class:`ServerCore` on an asyncio loop, :class:`EmulatorServer` on a thread.

``ServerCore`` is one run of the server on the current loop: read services.json, open the store,
bind the listeners, serve. ``tutorial-kit serve`` runs it in the foreground; ``EmulatorServer``
runs it on a thread of its own for tests, benchmarks and notebooks (start, stop, restart, ``with``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import socket
import sqlite3
import ssl
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tornado import httpserver, ioloop, netutil

from .._exceptions import ConfigFileError, KitUsageError
from .._hosts import is_loopback
from .app import close_websockets, make_server
from .backend import Backend
from .config import Listener, RunningConfig, load_config
from .connections import ConnectionGuard, GuardedHTTPServer
from .envelope import Dispatcher, EchoBudget
from .fastpath import HTTP_MAX_BODY, ApiServer
from .kit_choices import choice
from .lifetime import Lifetime, RunGuard
from .limits import ServerLimits
from .reproducible import Reproducible, reproducible_from_env
from .store import Store, database_path

__all__ = ["ServerCore", "EmulatorServer", "services_path"]

log = logging.getLogger(__name__)

_LOOP_LOCK_WAIT = 0.25  # seconds a read on the loop thread may wait for another program's lock
#: seconds after listening before the loaded sessions are rendered: a batch per loop turn from
#: the start would add a batch to each turn of the first request's (its accept, read, answer)
_RENDER_AFTER = 0.25


def services_path(home: Path) -> Path:
    return Path(home) / "config" / "services.json"


def _bind(port: int, host: str) -> list[socket.socket]:
    """Bind ``port``; a failure carries the port as ``err.port`` so that messages can name it."""
    try:
        return netutil.bind_sockets(port, host)
    except OSError as err:
        err.port = port  # type: ignore[attr-defined]
        raise


class ServerCore:
    """One run of the server on the running asyncio loop."""

    def __init__(self, home: str | Path, *, host: str = "127.0.0.1", port: int | None = None,
                 max_body_bytes: int | None = None, env: Mapping[str, str] | None = None,
                 lifetime: Lifetime | None = None, allow_other_users: bool = False, defer_admin: bool = False,
                 **limits: Any) -> None:
        """``limits``: any field of :class:`~.limits.ServerLimits` (``max_connections=200``...); None = default.
        ``lifetime``: when the run ends by itself (owner gone, idle; :mod:`.lifetime`);
        ``allow_other_users``: also answer other users' programs on a loopback listener (:mod:`.peers`);
        ``defer_admin``: a new home on a loopback address listens before ADMIN's first password hash
        (~45 ms of scrypt) is done; it is computed on a thread from then on, and createSession waits
        for it (``tutorial-kit serve`` does this)."""
        self.home = Path(home)
        self.host = host
        self.port_override = port
        self.limits = ServerLimits.from_options(max_body_bytes=max_body_bytes, **limits)
        self.max_body_bytes = self.limits.max_body_bytes
        own_user_only = choice("own_user_only") and not allow_other_users
        # the home's lock, the run record, owner/idle stops and the same-user gate (lifetime.py)
        self.run_guard = RunGuard(self.home, lifetime=lifetime, own_user_only=own_user_only)
        self.env = os.environ if env is None else env
        self.defer_admin = defer_admin
        self.guard: ConnectionGuard | None = None
        self.config: RunningConfig | None = None
        self.backend: Backend | None = None
        self.port: int | None = None
        self.https_port: int | None = None
        self._servers: list[httpserver.HTTPServer] = []
        self._flusher: ioloop.PeriodicCallback | None = None
        self._renderer: asyncio.Handle | None = None

    async def start(self) -> None:
        """Claim the home, read the configuration, open the store and listen.

        Raises HomeInUseError (another server runs for this home), ConfigFileError or OSError.
        """
        self.run_guard.claim()
        try:
            await self._start()
        except BaseException:
            self.run_guard.release()
            raise

    async def _start(self) -> None:
        self.config = config = load_config(services_path(self.home))  # before touching any data
        reproducible = reproducible_from_env(self.env, self.host)
        http, https = config.listener("http"), config.listener("https")
        if http is None and https is None:
            raise ConfigFileError(f"{config.path}: no listener is enabled; set \"enabled\": true on http8080.",
                                  path=config.path, property_path="listeners")
        tls = self._tls_context(https) if https is not None else None  # before binding anything
        sockets: list[tuple[list[socket.socket], ssl.SSLContext | None]] = []
        served: dict[int, int] = {}  # listener index -> the port really served on (listServices shows it)
        try:
            if http is not None:
                port = self.port_override if self.port_override is not None else http.port
                sockets.append((_bind(port, self.host), None))
                served[http.index] = sockets[-1][0][0].getsockname()[1]
            if https is not None:
                sockets.append((_bind(https.port, self.host), tls))
                served[https.index] = sockets[-1][0][0].getsockname()[1]
            addresses = tuple(dict.fromkeys(s.getsockname()[0] for group, _ in sockets for s in group))
            self.backend = self._open_backend(config, addresses, served, reproducible)
            self.guard = ConnectionGuard(self.limits.max_connections, self.limits.header_timeout,
                                         fd_reserve=choice("connection_fd_reserve"))
        except BaseException:  # a failed start must not keep a port bound
            for group, _ in sockets:
                for sock in group:
                    sock.close()
            if self.backend is not None:
                self.backend.close()
                self.backend = None
            raise
        dispatcher = Dispatcher(self.backend, EchoBudget(factor=self.limits.answer_echo_factor))
        loopback = is_loopback(self.host)
        app = make_server(dispatcher, self.limits, loopback_only=loopback, guard=self.guard,
                          gate=self.run_guard.gate(loopback=loopback))
        self._listen(app, sockets, self.guard)
        self.guard.start()
        flush_ms = choice("last_access_flush_seconds") * 1000 / 2
        self._flusher = ioloop.PeriodicCallback(self.backend.flush, flush_ms)
        self._flusher.start()
        self._renderer = asyncio.get_running_loop().call_later(_RENDER_AFTER, self._render_loaded)
        self.run_guard.started(self.url, self.port or self.https_port or 0, app.app.settings["open_sockets"],
                               config.warnings)
        self.backend.listening()  # a new home's ADMIN hash starts now

    def _listen(self, app: ApiServer, sockets: list[tuple[list[socket.socket], ssl.SSLContext | None]],
                guard: ConnectionGuard) -> None:
        """One HTTP server per listener (http, https) on its bound sockets."""
        for group, tls in sockets:
            server = GuardedHTTPServer(app, ssl_options=tls, max_body_size=HTTP_MAX_BODY,
                                       idle_connection_timeout=self.limits.connection_idle_timeout,
                                       body_timeout=self.limits.body_timeout)
            server.guard = guard
            server.add_sockets(group)
            self._servers.append(server)
            bound = group[0].getsockname()[1]
            if tls is None:
                self.port = bound
            else:
                self.https_port = bound

    def _open_backend(self, config: RunningConfig, addresses: tuple[str, ...], served: dict[int, int],
                      reproducible: Reproducible | None) -> Backend:
        """Open the store and load the server's state; refuse a network address while ADMIN/ADMIN works."""
        store = Store(database_path(self.home), busy_timeout=self.limits.db_busy_timeout)
        try:
            backend = Backend(config, store, ip_addresses=addresses, served_ports=served, reproducible=reproducible,
                              login_queue_per_address=self.limits.login_queue_per_address,
                              login_queue_total=self.limits.login_queue_total,
                              # a network address checks ADMIN's password before it listens
                              defer_admin=self.defer_admin and is_loopback(self.host))
        except sqlite3.Error as err:
            store.close()
            raise store.unusable(err) from None
        if not is_loopback(self.host) and backend.accounts.admin_password_is_default():
            backend.close()
            raise KitUsageError(
                f"ADMIN still has the password ADMIN, so the server does not listen on {self.host}, where "
                f"others could log in with it. Set one first: tutorial-kit accounts admin-password --home "
                f"{self.home} (it asks for it), then start the server again.")
        if not is_loopback(self.host):
            log.warning("serving on %s: every machine that can reach it can try to log in", self.host)
        store.set_busy_timeout(_LOOP_LOCK_WAIT)  # the loop only reads; it must never wait long for a lock
        return backend

    def _render_loaded(self) -> None:
        """Render the permanent sessions loaded at start, a batch per loop turn, between requests."""
        self._renderer = None
        if self.backend is not None and self.backend.render_loaded():
            self._renderer = asyncio.get_running_loop().call_soon(self._render_loaded)

    def _tls_context(self, listener: Listener) -> ssl.SSLContext:
        pem = (self.home / (listener.certificate_file or "")).resolve()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(str(pem))
        except (OSError, ssl.SSLError) as err:
            raise ConfigFileError(
                f"{services_path(self.home)}: listener {listener.service_name} names the certificate file {pem}, "
                f"which cannot be used ({err}). Put the certificate and its private key in that one PEM file, "
                "or set \"enabled\": false on the https listener.",
                path=str(services_path(self.home)),
                property_path=f"listeners[{listener.index}].tls.{listener.certificate_key}",
            ) from None
        return context

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        if self.port is not None:
            return f"http://{host}:{self.port}/api"
        return f"https://{host}:{self.https_port}/api"

    @property
    def https_url(self) -> str | None:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return None if self.https_port is None else f"https://{host}:{self.https_port}/api"

    async def stop(self) -> None:
        """Stop listening, close connections, flush and close the store (idempotent)."""
        if self._flusher is not None:
            self._flusher.stop()
            self._flusher = None
        if self._renderer is not None:
            self._renderer.cancel()
            self._renderer = None
        servers, self._servers = self._servers, []
        for server in servers:
            server.stop()
        if self.guard is not None:
            self.guard.stop()
        for delegate in {id(s.request_callback): s.request_callback for s in servers}.values():
            await close_websockets(delegate)
        for server in servers:
            try:
                await asyncio.wait_for(server.close_all_connections(), timeout=2)
            except TimeoutError:
                log.warning("some connections did not close within 2 s")
        if self.backend is not None:
            await self.backend.finish_writes()  # a key revoked or created in flight reaches the disk
            self.backend.close()
            self.backend = None
        self.run_guard.release()


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still pending (requests of clients cut off by the stop), then close the loop,
    as asyncio.run does: no "Task was destroyed but it is pending!" in the log."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


class EmulatorServer:
    """The server on a thread of its own, for tests, benchmarks and in-process use.

    ``port=None`` takes the http8080 listener's port from services.json; ``port=0`` picks a free
    one. :meth:`start` returns once requests can be answered and re-raises start-up errors
    (a broken services.json, a port in use) in the caller.
    """

    def __init__(self, home: str | Path, *, host: str = "127.0.0.1", port: int | None = None,
                 max_body_bytes: int | None = None, env: Mapping[str, str] | None = None,
                 allow_other_users: bool = False, **limits: Any) -> None:
        """``limits``: any field of :class:`~.limits.ServerLimits`, as for :class:`ServerCore`."""
        ServerLimits.from_options(max_body_bytes=max_body_bytes, **limits)  # a wrong one fails here, not on the thread
        self.home = Path(home)
        self.host = host
        self._port = port
        self.allow_other_users = allow_other_users
        self.max_body_bytes = max_body_bytes
        self.limits = limits
        self.env = env
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.core: ServerCore | None = None

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            return self
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        core = ServerCore(self.home, host=self.host, port=self._port, max_body_bytes=self.max_body_bytes, env=self.env,
                          allow_other_users=self.allow_other_users, **self.limits)
        thread = threading.Thread(target=self._run, args=(core, started), name="kit-server", daemon=True)
        thread.start()
        try:
            started.result()
        except BaseException:
            thread.join()
            raise
        self._thread, self.core = thread, core
        return self

    def _run(self, core: ServerCore, started: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(core.start())
        except BaseException as err:  # noqa: BLE001 - handed to the thread that called start()
            loop.run_until_complete(core.stop())
            _close_loop(loop)
            started.set_exception(err)
            return
        self._loop = loop
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(core.stop())
            _close_loop(loop)

    def stop(self) -> None:
        """Stop the server and join its thread (idempotent)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = self._loop = None

    def restart(self) -> EmulatorServer:
        """Stop and start again on the same port, re-reading services.json."""
        if self.core is not None and self.core.port is not None:
            self._port = self.core.port
        self.stop()
        return self.start()

    def call_in_loop(self, func: Any, *args: Any) -> Any:
        """Run ``func(*args)`` on the server's loop thread and return its result (tests use it)."""
        assert self._loop is not None, "the server is not running"
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(func(*args))
            except BaseException as err:  # noqa: BLE001
                future.set_exception(err)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=30)

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def port(self) -> int:
        assert self.core is not None and self.core.port is not None, "the server is not running"
        return self.core.port

    @property
    def url(self) -> str:
        assert self.core is not None, "the server is not running"
        return self.core.url

    @property
    def https_url(self) -> str | None:
        return None if self.core is None else self.core.https_url

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
