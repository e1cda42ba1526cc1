"""One run of the kit's server inside this Python: what ``tutorial-kit serve`` is on the desktop.

:class:`BrowserServer` reads ``services.json`` once when it starts (as the desktop server does),
opens the store from the drive's copy, builds the same :class:`~tutorial_kit.server.backend.Backend`
and :class:`~tutorial_kit.server.envelope.Dispatcher` the HTTP server uses, and takes its
address in :data:`~.transport.LISTENERS`. :meth:`answer` is the whole request path: dispatch,
flush last-access times every few seconds, save the database to the drive when it changed.

No threads: password hashing runs in the request (:class:`BrowserBackend`), and the dispatcher's
coroutines for the hashing actions finish without ever waiting, so they are run to their end here.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from .._exceptions import ServerControlError
from ..server.backend import Backend
from ..server.config import RunningConfig, load_config
from ..server.envelope import Answer, Dispatcher
from ..server.kit_choices import choice
from ..server.reproducible import reproducible_from_env
from .snapshot import SnapshotStore
from .transport import LISTENERS, Listeners, route_plain_httpx

__all__ = ["BrowserServer", "BrowserBackend", "HOST"]

log = logging.getLogger(__name__)

T = TypeVar("T")

HOST = "127.0.0.1"


class _InlineExecutor(Executor):
    """Runs each job at once in the caller (there are no threads to run it on)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(err)
        return future


class BrowserBackend(Backend):
    """The server's state, with password hashing and database writes done in the request itself.

    No event loop runs the in-page server (see :func:`_finish`), so nothing here may wait on a
    future: the login queue, the writer thread and the shielded commit task of :class:`Backend`
    are replaced by doing the work at once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, hash_executor=_InlineExecutor(), **kwargs)

    async def run_hash(self, func: Callable[..., T], *args: Any, address: str = "") -> T:
        return func(*args)

    async def commit(self, write: Callable[..., T], *args: Any, then: Callable[[T], Any] | None = None) -> T:
        return await self._commit_now(write, args, then)

    def flush(self) -> None:
        pending, self.sessions.dirty_permanent = self.sessions.dirty_permanent, {}
        if pending:
            self.store.touch_sessions(pending)


def _finish(answer: Answer) -> bytes:
    """The bytes of a dispatcher answer; a pending one is run to its end (it never waits here)."""
    if answer.ready is not None:
        return answer.ready
    pending = answer.wait()
    try:
        pending.send(None)
    except StopIteration as done:
        return bytes(done.value)
    pending.close()
    raise ServerControlError("an action waited for the event loop, which the in-browser server does not run")


class BrowserServer:
    """The server's rules for one home, answering requests in this Python. Made by BrowserControl."""

    def __init__(self, home: Path, *, port: int | None = None, env: Mapping[str, str] | None = None,
                 max_body_bytes: int | None = None, listeners: Listeners = LISTENERS) -> None:
        self.home = home
        self.port_override = port
        self.env = os.environ if env is None else env
        self.max_body_bytes = max_body_bytes or choice("max_body_bytes")
        self.listeners = listeners
        self.config: RunningConfig | None = None
        self.backend: BrowserBackend | None = None
        self.dispatcher: Dispatcher | None = None
        self.port: int | None = None
        self.started_at: str | None = None
        self._last_flush = 0.0

    @property
    def services_path(self) -> Path:
        return self.home / "config" / "services.json"

    @property
    def snapshot_path(self) -> Path:
        return self.home / "data" / "kit.sqlite3"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/api"

    def start(self) -> BrowserServer:
        """Read services.json, open the store, take the port. Raises ConfigFileError or ServerControlError."""
        config = load_config(self.services_path)
        http = config.listener("http")
        if http is None:
            raise ServerControlError(
                f"{self.services_path}: no http listener is enabled. In the browser the kit's server "
                'answers plain http only: set "enabled": true on http8080, then start it again.')
        port = self.port_override if self.port_override else http.port
        self.config = config
        self._open_backend()
        try:
            self.listeners.bind(HOST, port, self)
        except BaseException:
            self._close_backend(save=True)
            raise
        self.port = port
        route_plain_httpx(self.listeners)  # httpx.post(lesson.url, ...) works as on the desktop
        self.started_at = datetime.now(UTC).isoformat(timespec="microseconds")
        log.info("in-browser server for %s answers at %s", self.home, self.url)
        return self

    def _open_backend(self) -> None:
        assert self.config is not None
        reproducible = reproducible_from_env(self.env, HOST)
        store = SnapshotStore(self.snapshot_path)
        try:
            self.backend = BrowserBackend(self.config, store, ip_addresses=(HOST,), reproducible=reproducible)
        except BaseException:
            store.close()
            raise
        self.dispatcher = Dispatcher(self.backend)
        self._last_flush = time.monotonic()

    def _close_backend(self, *, save: bool) -> None:
        backend, self.backend, self.dispatcher = self.backend, None, None
        if backend is None:
            return
        if not save:
            backend.store.forget_changes()  # type: ignore[attr-defined]
            backend.sessions.dirty_permanent = {}
        backend.close()

    def stop(self) -> None:
        """Flush, save the database to the drive, give the port back (idempotent)."""
        self.listeners.release(self)
        self._close_backend(save=True)

    @property
    def running(self) -> bool:
        return self.backend is not None

    def _store(self) -> SnapshotStore:
        assert self.backend is not None, "the in-browser server is not running"
        return self.backend.store  # type: ignore[return-value]

    def answer(self, body: bytes) -> bytes:
        """Answer one jsonAction request body; the database reaches the drive before this returns."""
        if self.dispatcher is None:
            raise ServerControlError("the in-browser server is stopped")
        if self._store().changed_elsewhere:
            log.info("%s was saved by another kernel: reloading the server's data from it", self.snapshot_path)
            self._close_backend(save=False)
            self._open_backend()
        assert self.dispatcher is not None
        answer = _finish(self.dispatcher.handle(body, HOST))
        if time.monotonic() - self._last_flush >= choice("last_access_flush_seconds"):
            self._last_flush = time.monotonic()
            self.backend.flush()  # type: ignore[union-attr]
        self._store().save_if_changed()
        return answer

    def error_body(self, code: int, message: str) -> bytes:
        """An error envelope for a request that could not be read (not POST, too large)."""
        assert self.dispatcher is not None
        return self.dispatcher.error_body(code, message)
