"""Durable state in SQLite: accounts, permanent sessions and the host UUID.

One :class:`Store` owns one connection, opened on the server's loop thread. WAL mode with
``synchronous=NORMAL`` makes every commit survive a crash of the process (``kill -9``): a
permanent session is committed before its createSession answer is written. Temporary sessions
are never stored. Every multi-statement write runs inside :meth:`Store.atomic`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Store", "AccountRow", "SessionRow"]

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


@dataclass(frozen=True)
class SessionRow:
    """A permanent session as stored."""

    token: str
    seq: int
    name_key: str
    settings: dict[str, Any]
    started: float
    last_access: float
    client_ip: str


class Store:
    """The server's SQLite database. ``Store(":memory:")`` is for tests."""

    def __init__(self, path: str | Path) -> None:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # owner-only before SQLite opens it
            os.close(fd)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # --- plumbing ---

    @contextlib.contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction: all of it is committed, or none of it."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        self._conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY)")
        done = {row[0] for row in self._conn.execute("SELECT name FROM _migrations")}
        for name, script in _MIGRATIONS:
            if name in done:
                continue
            with self.atomic() as conn:
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO _migrations (name) VALUES (?)", (name,))

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]

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
            value = str(uuid.uuid4())
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
        with self.atomic() as conn:
            conn.execute("DELETE FROM permanent_sessions WHERE name_key = ?", (name_key,))
            conn.execute("DELETE FROM accounts WHERE name_key = ?", (name_key,))

    # --- permanent sessions ---

    def insert_session(self, row: SessionRow) -> None:
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

    def sessions(self) -> list[SessionRow]:
        """Every permanent session, in creation order."""
        rows = self._conn.execute(
            "SELECT token, seq, name_key, settings, started, last_access, client_ip FROM permanent_sessions ORDER BY seq"
        ).fetchall()
        # One parse for all the settings objects (a start with 10,000 sessions spends a third of
        # its loading time parsing them one by one); row by row if that does not line up.
        try:
            settings = json.loads("[" + ",".join([r[3] for r in rows]) + "]")
        except ValueError:
            settings = None
        if not isinstance(settings, list) or len(settings) != len(rows):
            settings = [json.loads(r[3]) for r in rows]
        return [SessionRow(r[0], r[1], r[2], s, r[4], r[5], r[6]) for r, s in zip(rows, settings)]

    def max_session_seq(self) -> int:
        row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM permanent_sessions").fetchone()
        return int(row[0])
