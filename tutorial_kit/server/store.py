"""Durable state in SQLite: accounts, permanent sessions and the host UUID.

Each thread that uses a :class:`Store` gets a connection of its own. The server's loop thread
only reads; its writes run on the store's writer thread (:meth:`Store.write_off_loop`), so a
write that waits for another program's lock (up to ``busy_timeout`` seconds) never stalls the
other clients. WAL mode with ``synchronous=NORMAL`` makes every commit survive a crash of the
process (``kill -9``): a permanent session is committed before its createSession answer is
written, and a revoked one is deleted before deleteSession answers. Temporary sessions are never
stored. Every multi-statement write runs inside :meth:`Store.atomic`.

A damaged, empty or locked database stops the start with a :class:`DataFileError` that names the
file and what to do; the file is never changed. A new database is built under a temporary name
and renamed into place, so an empty ``kit.sqlite3`` is never the kit's own doing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .._exceptions import DataFileError
from .._files import private_dir
from .kit_choices import choice

__all__ = ["Store", "AccountRow", "StoredSession", "is_busy", "database_path"]

T = TypeVar("T")

_MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "0001_initial",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE accounts (
            name_key TEXT PRIMARY KEY,          -- upper-cased username: names ignore case
            username TEXT NOT NULL,             -- as created, e.g. ADMIN
            password_hash TEXT NOT NULL,        -- scrypt$n$r$p$salt$hash, never the password
            description TEXT NOT NULL DEFAULT '',
            is_admin INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE permanent_sessions (
            token TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,               -- creation order across restarts
            name_key TEXT NOT NULL REFERENCES accounts(name_key) ON DELETE CASCADE,
            settings TEXT NOT NULL,             -- JSON object of the session's settings
            started REAL NOT NULL,
            last_access REAL NOT NULL,
            client_ip TEXT NOT NULL
        );
        """,
    ),
    (
        # FairCom's documented account properties (enableDatetime, lockoutAfterNFailedAttempts, ...)
        # as one JSON object, and when the password last changed. Accounts of an older home get
        # {} (every property at its default) and an unknown last change (NULL).
        "0002_account_properties",
        """
        ALTER TABLE accounts ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE accounts ADD COLUMN password_changed REAL
        """,
    ),
)

_ACCOUNT_COLUMNS = "name_key, username, password_hash, description, is_admin, properties, password_changed"


@dataclass(frozen=True)
class AccountRow:
    """An account as stored. ``description`` is FairCom's ``accountDescription``; ``properties``
    holds the other documented account properties that were set (see :mod:`account_props`)."""

    name_key: str
    username: str
    password_hash: str
    description: str
    is_admin: bool
    properties: dict[str, Any] = field(default_factory=dict)
    password_changed: float | None = None


def _account(row: sqlite3.Row) -> AccountRow:
    return AccountRow(row[0], row[1], row[2], row[3], bool(row[4]), json.loads(row[5]), row[6])


def random_uuid4() -> str:
    """A random (version 4) UUID as ``str(uuid.uuid4())`` writes it, from ``os.urandom``.

    Not ``uuid.uuid4()``: the uuid module imports ``platform``, 4 ms of a new home's start."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class StoredSession:
    """A permanent session as stored."""

    token: str
    seq: int
    name_key: str
    settings: dict[str, Any]
    started: float
    last_access: float
    client_ip: str


def database_path(home: str | Path) -> Path:
    """``<home>/data/kit.sqlite3``: the server's database in a server home."""
    return Path(home) / "data" / "kit.sqlite3"


def is_busy(err: sqlite3.Error) -> bool:
    """True if ``err`` says another connection holds the database's lock."""
    return isinstance(err, sqlite3.OperationalError) and ("locked" in str(err) or "busy" in str(err))


class Store:
    """The server's SQLite database. ``Store(":memory:")`` is for tests (one thread only)."""

    def __init__(self, path: str | Path, *, busy_timeout: float = choice("db_busy_timeout_seconds")) -> None:
        self.path = path = str(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._writer: ThreadPoolExecutor | None = None
        self._closed = False
        if path != ":memory:":
            private_dir(Path(path).parent)
            if not os.path.exists(path):
                self._create(path)
        try:
            self._check_not_empty()  # before SQLite opens it: opening an empty file makes it a new database
            self._check(self._conn)
            self._migrate()
        except DataFileError:
            self.close()
            raise
        except sqlite3.Error as err:
            self.close()
            raise self.unusable(err) from None

    # --- plumbing ---

    @property
    def _conn(self) -> sqlite3.Connection:
        """The calling thread's connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            conn = self._local.conn = self._connect(self.path)
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def _connect(self, path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, timeout=self.busy_timeout, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _create(self, path: str) -> None:
        """Build a new, migrated database under a temporary name, then rename it into place."""
        temp = f"{path}.new-{os.getpid()}"
        for leftover in (temp, temp + "-wal", temp + "-shm"):
            Path(leftover).unlink(missing_ok=True)
        os.close(os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))  # owner-only before SQLite opens it
        conn = self._connect(temp)
        try:
            self._migrate(conn)
        finally:
            conn.close()  # the last connection to close checkpoints the WAL into the file
        os.replace(temp, path)

    def _check_not_empty(self) -> None:
        """Refuse an empty file: SQLite would take it as a new database, and ADMIN/ADMIN would work again."""
        if self.path != ":memory:" and os.path.getsize(self.path) == 0:
            raise DataFileError(
                f"{self.path} is empty (0 bytes): the server's accounts and API keys are not in it. Restore "
                "it from a backup, or move it aside to start a fresh server (accounts and keys are lost).",
                path=self.path)

    def _check(self, conn: sqlite3.Connection) -> None:
        """Refuse a damaged file."""
        verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(verdict)

    def unusable(self, err: sqlite3.Error) -> DataFileError:
        """The start-stopping error for a database SQLite cannot use (busy, or damaged)."""
        if is_busy(err):
            return DataFileError(f"{self.path} is locked by another program: close it (a database browser?) "
                                 "and start the server again.", path=self.path)
        return DataFileError(
            f"{self.path} is damaged (SQLite says: {err}). Restore it from a backup, or move it aside, with "
            "its -wal and -shm files, to start a fresh server (accounts and keys are lost).", path=self.path)

    def write_off_loop(self, func: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Run ``func(*args)`` (a write method of this store) on the store's writer thread.

        The writer thread has its own connection, so a write that waits up to ``busy_timeout`` for
        another program's lock leaves the calling loop free. Raises what the write raises.
        """
        loop = asyncio.get_running_loop()
        if self.path == ":memory:":  # each connection would be a database of its own: stay on this one
            done: asyncio.Future[T] = loop.create_future()
            try:
                done.set_result(func(*args))
            except Exception as err:  # noqa: BLE001 - handed to the awaiting caller
                done.set_exception(err)
            return done
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kit-db")
        return loop.run_in_executor(self._writer, func, *args)

    def set_busy_timeout(self, seconds: float) -> None:
        """How long the calling thread's reads and writes wait for a lock (the loop thread: briefly)."""
        self._conn.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")

    @contextlib.contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction: all of it is committed, or none of it."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self, conn: sqlite3.Connection | None = None) -> None:
        conn = conn or self._conn
        conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY)")
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
        for name, script in _MIGRATIONS:
            if name in done:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO _migrations (name) VALUES (?)", (name,))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Finish pending writes and close every connection (idempotent)."""
        self._closed = True
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()

    # --- meta ---

    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def host_uuid(self) -> str:
        """The server home's UUID, made once and kept."""
        value = self.meta("host_uuid")
        if value is None:
            value = random_uuid4()
            self.set_meta("host_uuid", value)
        return value

    def next_counter(self, key: str) -> int:
        """Increment and return a durable counter (reproducible tokens use it)."""
        with self.atomic() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            value = (int(row[0]) if row else 0) + 1
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))
        return value

    # --- accounts ---

    def account(self, name_key: str) -> AccountRow | None:
        row = self._conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE name_key = ?", (name_key,)).fetchone()
        return None if row is None else _account(row)

    def accounts(self) -> list[AccountRow]:
        rows = self._conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY is_admin DESC, name_key")
        return [_account(r) for r in rows]

    def insert_account(self, row: AccountRow) -> None:
        self._conn.execute(
            f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row.name_key, row.username, row.password_hash, row.description, int(row.is_admin),
             json.dumps(row.properties), row.password_changed),
        )

    def update_account(self, before: AccountRow, after: AccountRow) -> bool:
        """Write ``after`` if the stored row still has ``before``'s password hash; False if not.

        The hash check makes the update fail when the account was dropped (or dropped and created
        again, or given another password) while this change was being prepared off the loop.
        """
        cursor = self._conn.execute(
            "UPDATE accounts SET password_hash = ?, description = ?, properties = ?, password_changed = ?"
            " WHERE name_key = ? AND password_hash = ?",
            (after.password_hash, after.description, json.dumps(after.properties), after.password_changed,
             before.name_key, before.password_hash),
        )
        return cursor.rowcount == 1

    def delete_account(self, name_key: str) -> None:
        """Delete an account and, in the same transaction, its permanent sessions."""
        self.delete_accounts([name_key])

    def delete_accounts(self, name_keys: list[str]) -> None:
        """Delete accounts and their permanent sessions, all in one transaction."""
        with self.atomic() as conn:
            for name_key in name_keys:
                conn.execute("DELETE FROM permanent_sessions WHERE name_key = ?", (name_key,))
                conn.execute("DELETE FROM accounts WHERE name_key = ?", (name_key,))

    def delete_sessions_of(self, name_key: str, *, keep: str | None = None) -> None:
        """Delete the account's permanent sessions but ``keep`` (call it inside :meth:`atomic`)."""
        self._conn.execute("DELETE FROM permanent_sessions WHERE name_key = ? AND token IS NOT ?", (name_key, keep))

    # --- permanent sessions ---

    def insert_session(self, row: StoredSession) -> None:
        """Store a permanent session durably (committed when this returns)."""
        self._conn.execute(
            "INSERT INTO permanent_sessions (token, seq, name_key, settings, started, last_access, client_ip)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row.token, row.seq, row.name_key, json.dumps(row.settings), row.started, row.last_access, row.client_ip),
        )

    def update_session_settings(self, token: str, settings: dict[str, Any]) -> None:
        self._conn.execute("UPDATE permanent_sessions SET settings = ? WHERE token = ?", (json.dumps(settings), token))

    def delete_session(self, token: str) -> None:
        self._conn.execute("DELETE FROM permanent_sessions WHERE token = ?", (token,))

    def touch_sessions(self, last_access: dict[str, float]) -> None:
        """Write many last-access times in one transaction."""
        if not last_access:
            return
        with self.atomic() as conn:
            conn.executemany(
                "UPDATE permanent_sessions SET last_access = ? WHERE token = ?",
                [(when, token) for token, when in last_access.items()],
            )

    def sessions(self) -> list[StoredSession]:
        """Every permanent session, in creation order."""
        cursor = self._conn.cursor()
        cursor.row_factory = None  # plain tuples: sqlite3.Row costs a third more per row, read once each here
        rows = cursor.execute(
            "SELECT token, seq, name_key, settings, started, last_access, client_ip "
            "FROM permanent_sessions ORDER BY seq"
        ).fetchall()
        # One parse for all the settings objects (a start with 10,000 sessions spends a third of
        # its loading time parsing them one by one); row by row if that does not line up.
        try:
            settings = json.loads("[" + ",".join([r[3] for r in rows]) + "]")
        except ValueError:
            settings = None
        if not isinstance(settings, list) or len(settings) != len(rows):
            settings = [json.loads(r[3]) for r in rows]
        return [StoredSession(r[0], r[1], r[2], s, r[4], r[5], r[6]) for r, s in zip(rows, settings, strict=True)]

    def max_session_seq(self) -> int:
        row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM permanent_sessions").fetchone()
        return int(row[0])
