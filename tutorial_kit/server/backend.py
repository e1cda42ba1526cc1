"""The server's state, in one object: configuration, store, accounts, live sessions, clock, tokens.

:class:`Backend` is built once per server start (the configuration is read then, and only then).
It knows nothing of HTTP. The actions (:mod:`actions`) work on it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import sqlite3
import string
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import __version__
from .accounts import ADMIN, AccountBook, LoginQueue, LoginThrottle, hash_password, name_key
from .config import RunningConfig
from .errors import ApiError, ErrorCode, fit_message
from .kit_choices import choice
from .login_rules import AccountLockout
from .reproducible import Reproducible
from .sessions import HostInfo, LiveSessions, Session
from .settings import RESPONSE_OPTION_DEFAULTS, SESSION_SETTINGS, SETTING_FALLBACKS
from .store import AccountRow, Store, StoredSession, is_busy

__all__ = ["Backend", "CallContext", "store_error"]

T = TypeVar("T")
_HASH_WORKERS = 2

log = logging.getLogger(__name__)

_TOKEN_ALPHABET = string.ascii_letters + string.digits


def new_token() -> str:
    """64 characters from [A-Za-z0-9], from the operating system's secure random source."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(int(choice("token_length"))))


@dataclass
class CallContext:
    """What an action gets besides its params: who calls, from where, and where warnings go."""

    params: dict[str, Any]
    client_ip: str
    session: Session | None = None  # the caller's session, when the request had a valid authToken
    token: str | None = None  # the request's authToken as sent ("" counts as absent)
    warnings: list[dict[str, Any]] | None = None  # None: debug is off, warnings are not collected
    duplicate_keys: tuple[str, ...] = ()  # keys the request's JSON repeated
    response_token: str | None = None  # set by createSession: the new token for the envelope

    def warn(self, code: int, message: str) -> None:
        if self.warnings is not None:
            self.warnings.append({"code": code, "message": fit_message(message)})

    def taken(self, message: str) -> None:
        """Warn that a string was taken as the boolean or number it spells (see :mod:`values`)."""
        self.warn(choice("warning.value_taken"), message)


class Backend:
    """State and shared services for one run of the server."""

    def __init__(
        self,
        config: RunningConfig,
        store: Store,
        *,
        ip_addresses: tuple[str, ...] = ("127.0.0.1",),
        served_ports: dict[int, int] | None = None,
        reproducible: Reproducible | None = None,
        clock: Callable[[], float] | None = None,
        hash_executor: Executor | None = None,
        login_queue_per_address: int = choice("login_queue_per_address"),
        login_queue_total: int = choice("login_queue_total"),
        defer_admin: bool = False,
    ) -> None:
        """``defer_admin``: in a fresh home on a running loop, ADMIN's first password hash (~45 ms of
        scrypt) is computed once the server listens (:meth:`listening`) and ADMIN stored then; the
        actions that read accounts wait for it (:meth:`admin_stored`)."""
        self.config = config
        self._defaults_cache: tuple[RunningConfig, dict[str, Any]] | None = None
        self.store = store
        self.reproducible = reproducible
        self.clock = clock or (reproducible.clock if reproducible else time.time)
        self.served_ports = dict(served_ports or {})  # listener index -> the port really served on
        self.accounts = AccountBook(store, self.clock)
        self._writes: set[asyncio.Future[Any]] = set()  # commits in flight (see commit)
        self._listening: asyncio.Event | None = None  # set by listening(): a deferred ADMIN hash may start
        self._admin: asyncio.Future[None] | None = self._admin_later() if defer_admin else None
        if self._admin is None:
            self.accounts.ensure_admin()
        self.throttle = LoginThrottle(self.clock)
        self.lockout = AccountLockout(self.clock)
        self.sessions = LiveSessions(self.clock)
        self._own_executor = hash_executor is None
        self.hash_executor = hash_executor or ThreadPoolExecutor(
            max_workers=_HASH_WORKERS, thread_name_prefix="kit-hash"
        )
        self.logins = LoginQueue(self.hash_executor, _HASH_WORKERS, login_queue_per_address, login_queue_total)
        self._flushing: asyncio.Future[None] | None = None
        self._write_trouble = False  # a write failed and none has worked since
        self.host = HostInfo(
            hostname=reproducible.hostname if reproducible else socket.gethostname(),
            host_uuid=reproducible.host_uuid if reproducible else store.host_uuid(),
            ip_addresses=ip_addresses,
            retention_policy=config.default("defaultRetentionPolicy"),
            retention_unit=config.default("defaultRetentionUnit"),
            retention_period=config.default("defaultRetentionPeriod"),
            server_version=choice("server_version").format(version=__version__),
        )
        self._seq = store.max_session_seq()
        self._unrendered: list[Session] = []  # loaded at start, JSON not rendered yet (last first)
        self._load_permanent_sessions()

    def _load_permanent_sessions(self) -> None:
        """Load the permanent sessions. Their JSON is not rendered here: see :meth:`render_loaded`."""
        if not self.config.permanent_sessions_enabled and not choice("permanent_survives_flag_off"):
            log.info("enablePermanentJsonApiSessions is off: stored API keys stay on disk, unused")
            return
        accounts = {row.name_key: row for row in self.store.accounts()}
        for row in self.store.sessions():
            account = accounts.get(row.name_key)
            if account is None:
                continue
            session = self._session_from_row(row, account.username)
            self.sessions.add(session)
            self._unrendered.append(session)
        log.info("loaded %d permanent session(s)", len(self.sessions))

    def render_loaded(self, batch: int = 100) -> bool:
        """Render the JSON of up to ``batch`` sessions loaded at start; True while some remain.

        The server calls this between requests from a quarter second after it starts listening (a
        batch of 100 takes about a millisecond, which is all a request can wait for it; the first
        requests, answered meanwhile, wait for none), so a start with 10,000
        permanent sessions is not slowed by rendering them, nor is the first describeSessions.
        (A session renders itself on first use anyway; this only does it ahead of time.)
        """
        pending = self._unrendered
        for _ in range(min(batch, len(pending))):
            pending.pop().to_json()
        return bool(pending)

    def _session_from_row(self, row: StoredSession, username: str) -> Session:
        settings = self.resolve_settings(row.settings)
        return Session(row.token, row.seq, username, row.name_key, settings, True, row.started,
                       row.last_access, row.client_ip, self.host)

    def resolve_settings(self, given: dict[str, Any]) -> dict[str, Any]:
        """The session settings: given values, else the running defaults, else FairCom's documented ones."""
        out = self._setting_defaults().copy()  # every setting, in order
        for name, value in given.items():
            if name == "defaultResponseOptions" and choice("merge_response_options"):
                out[name] = {**out[name], **value}
            elif name in out:
                out[name] = value
        if out["defaultDebug"] not in ("none", "max"):
            out["defaultDebug"] = "max"
        return out

    def _setting_defaults(self) -> dict[str, Any]:
        """The running defaults of the settings, worked out once per configuration
        (loading 10,000 permanent sessions at start resolves 10,000 settings)."""
        cached = self._defaults_cache
        if cached is not None and cached[0] is self.config:
            return cached[1]
        defaults = {}
        for name in SESSION_SETTINGS:
            value = self.config.default(name)
            defaults[name] = SETTING_FALLBACKS.get(name) if value is None else value
        # every documented response option is shown: the file's values over FairCom's defaults
        defaults["defaultResponseOptions"] = {**RESPONSE_OPTION_DEFAULTS, **(defaults["defaultResponseOptions"] or {})}
        self._defaults_cache = (self.config, defaults)
        return defaults

    def issue_token(self) -> str:
        """A fresh token that no live session has."""
        while True:
            token = self.reproducible.token(self.store) if self.reproducible else new_token()
            if self.sessions.get(token) is None:
                return token

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def run_hash(self, func: Callable[..., T], *args: Any, address: str = "") -> T:
        """Run slow password work off the event loop, through the login queue (per client ``address``)."""
        return await self.logins.run(address, func, *args)

    def _admin_later(self) -> asyncio.Future[None] | None:
        """A fresh home on a running loop: hash ADMIN's password on a thread once the server listens
        and store it, in a write tracked like a commit (a stopping server waits for it); None: there
        is ADMIN already, or no loop to do it later on."""
        if self.store.account(ADMIN) is not None:
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        listening = self._listening = asyncio.Event()

        async def store_it() -> None:
            await listening.wait()
            password_hash = await asyncio.to_thread(hash_password, ADMIN)  # scrypt releases the GIL
            await self.commit(self.accounts.ensure_admin, password_hash)

        task = asyncio.ensure_future(store_it())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return task

    def listening(self) -> None:
        """The server listens: a deferred ADMIN hash starts now (before, it would slow the start)."""
        if self._listening is not None:
            self._listening.set()

    @property
    def admin_pending(self) -> bool:
        """True in a fresh home's first moments, while ADMIN's first hash is computed (about 45 ms)."""
        return self._admin is not None

    async def admin_stored(self) -> None:
        """Wait until ADMIN is in the store (at once but in a fresh home's first moments).

        Only what reads accounts without a session waits (createSession; the dispatcher makes
        every action that waits anyway wait for this first): no session exists before ADMIN does.
        A write that failed is tried again by the next caller, and raises for this one.
        """
        task = self._admin
        if task is None:
            return
        if task.done() and not task.cancelled() and task.exception() is not None:
            task = self._admin = asyncio.ensure_future(self.commit(self.accounts.ensure_admin, None))
        await asyncio.shield(task)
        if self._admin is task:
            self._admin = None

    async def commit(self, write: Callable[..., T], *args: Any, then: Callable[[T], Any] | None = None) -> T:
        """Disk first, memory second: run ``write(*args)`` (a Store method) off the loop, then
        ``then(its result)``.

        The write and ``then`` run to the end even if the request is cancelled in between (its
        client left), so memory never disagrees with the disk. A write that fails changes
        nothing, runs no ``then`` and raises an ApiError that says why (busy, or failed).
        """
        task = asyncio.ensure_future(self._commit_now(write, args, then))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)

    async def _commit_now(self, write: Callable[..., T], args: tuple[Any, ...], then: Callable[[T], Any] | None) -> T:
        """The commit itself (see :meth:`commit`, which keeps it running when its request is cancelled)."""
        try:
            result = await self.store.write_off_loop(write, *args)
        except sqlite3.IntegrityError:  # a rule of the data (a name taken meanwhile): the caller's to say
            raise
        except sqlite3.Error as err:
            self._write_failed(err)
            raise store_error(err) from None
        if self._write_trouble:
            self._write_trouble = False
            log.warning("database writes work again")
        if then is not None:
            then(result)
        return result

    def _write_failed(self, err: sqlite3.Error) -> None:
        """Log a failed write once per episode (a full disk must not fill the log as well)."""
        if not self._write_trouble:
            self._write_trouble = True
            log.error("database writes fail (%s): clients are told so and nothing changes; logged once until "
                      "a write works again", err)

    async def finish_writes(self) -> None:
        """Wait for the commits in flight (a stopping server lets them reach the disk)."""
        pending = [task for task in self._writes if not task.done()]
        if self._flushing is not None and not self._flushing.done():
            pending.append(self._flushing)
        if pending:
            await asyncio.wait(pending)

    def caller_account(self, session: Session | None) -> AccountRow | None:
        return None if session is None else self.store.account(session.name_key)

    def is_admin(self, session: Session) -> bool:
        row = self.store.account(session.name_key)
        return row is not None and row.is_admin

    def end_sessions_of(self, username: str, *, keep: str | None = None) -> None:
        """End every live session of the account, permanent ones too, but ``keep`` (memory only: the
        caller's commit has deleted the permanent ones from disk first)."""
        for session in self.sessions.of_account(name_key(username)):
            if session.token != keep:
                self.sessions.remove(session.token)

    def flush(self) -> None:
        """Write pending last-access times of permanent sessions off the loop (the server: every few seconds).

        If the database is busy they stay pending for the next flush (or the last one, at close).
        """
        if self._flushing is not None and not self._flushing.done():
            return
        pending, self.sessions.dirty_permanent = self.sessions.dirty_permanent, {}
        if not pending:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # called from plain code (a test, a tool): write here
            self.store.touch_sessions(pending)
            return
        self._flushing = future = asyncio.ensure_future(self.store.write_off_loop(self.store.touch_sessions, pending))
        future.add_done_callback(lambda done: self._flushed(done, pending))

    def _flushed(self, done: asyncio.Future[None], pending: dict[str, float]) -> None:
        if done.cancelled() or done.exception() is None:
            return
        for token, when in pending.items():  # keep them for the next flush (newer times win)
            if token in self.sessions.dirty_permanent or self.sessions.get(token) is not None:
                self.sessions.dirty_permanent.setdefault(token, when)
        error = done.exception()
        if isinstance(error, sqlite3.Error):
            self._write_failed(error)  # (the times are kept for the next try)
        else:
            log.warning("could not write last-access times (%s); they are kept for the next try", error)

    def close(self) -> None:
        """Write what is pending and release resources (idempotent)."""
        if self._admin is not None and not self._admin.done():  # a start that failed before listening
            self._admin.cancel()
        if self.store is not None:
            pending, self.sessions.dirty_permanent = self.sessions.dirty_permanent, {}
            try:
                if pending:
                    self.store.touch_sessions(pending)
            except sqlite3.Error as err:
                log.warning("could not write the last-access times of %d API key(s) at stop: %s", len(pending), err)
            finally:
                self.store.close()
        if self._own_executor:
            self.hash_executor.shutdown(wait=False, cancel_futures=True)


def store_error(err: sqlite3.Error) -> ApiError:
    """The envelope's error for a failed database operation: busy (another program holds the lock), or failed."""
    if is_busy(err):
        return ApiError(ErrorCode.DATABASE_BUSY,
                        "The server's database is busy: another program holds it. Nothing was changed; "
                        "close that program (a database browser?) and send the request again.")
    return ApiError(ErrorCode.DATABASE_FAILED,
                    f"The server could not write its database ({err}). Nothing was changed; free disk space "
                    "or fix the data folder, then send the request again.")
