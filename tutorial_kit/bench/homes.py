"""Server homes and sessions for the benchmark, made directly (no scrypt per session).

``createSession`` hashes a password with scrypt (~40 ms), so 10,000 sessions made through it
would take minutes. Instead:

* permanent sessions are rows written with :meth:`Store.insert_session` into the home's SQLite
  file *before* the server starts (the server loads them at start, as after any restart);
* live temporary sessions are :class:`Session` objects built as ``actions.create_session`` builds
  them (and rendered, as its answer does) and added to ``backend.sessions`` on the server's own
  loop (:meth:`EmulatorServer.call_in_loop`).

The ADMIN account is written with one hash computed once per benchmark run.
"""

from __future__ import annotations

import functools
import random
import string
import time
from pathlib import Path

from ..server.accounts import ADMIN, hash_password
from ..server.config import write_default_file
from ..server.runner import EmulatorServer, services_path
from ..server.sessions import Session
from ..server.store import AccountRow, Store, StoredSession

__all__ = ["make_home", "add_live_sessions", "fake_tokens"]

_ALPHABET = string.ascii_letters + string.digits


@functools.cache
def _admin_hash() -> str:
    return hash_password(ADMIN)


def fake_tokens(count: int, seed: int) -> list[str]:
    """``count`` distinct 64-character tokens from [A-Za-z0-9] (fast; not for real use)."""
    rng = random.Random(seed)
    return ["".join(rng.choices(_ALPHABET, k=64)) for _ in range(count)]


def make_home(home: Path, permanent: int = 0) -> Path:
    """A server home with services.json, the ADMIN account and ``permanent`` permanent sessions."""
    write_default_file(services_path(home))
    store = Store(home / "data" / "kit.sqlite3")
    try:
        with store.atomic():
            store.insert_account(AccountRow(ADMIN, ADMIN, _admin_hash(), "administrator", True))
            now = time.time()
            for seq, token in enumerate(fake_tokens(permanent, seed=permanent), start=1):
                settings = {"description": f"bench API key {seq}"}
                store.insert_session(StoredSession(token, seq, ADMIN, settings, now - 3600, now - 60, "127.0.0.1"))
        store.host_uuid()
    finally:
        store.close()
    return home


def add_live_sessions(server: EmulatorServer, count: int, seed: int = 1) -> None:
    """Add ``count`` temporary sessions of ADMIN to the running server (on its loop thread)."""
    tokens = fake_tokens(count, seed)

    def add() -> None:
        assert server.core is not None and server.core.backend is not None
        b = server.core.backend
        now = b.clock()
        for token in tokens:
            settings = b.resolve_settings({})
            session = Session(token, b.next_seq(), ADMIN, ADMIN, settings, False, now, now, "127.0.0.1", b.host)
            session.to_json()  # createSession answers with the session's JSON, which renders it
            b.sessions.add(session)

    server.call_in_loop(add)
