"""What makes ``tutorial-kit serve`` start fast, checked without timing anything (issue 15 item 9).

The figures are ``make bench``'s ("Spawns side by side"); a test never fails because a machine is
slow. These check the two things the start relies on: the command imports neither the helper
nor httpx, and a new home listens before ADMIN's first hash is computed (on a thread), which is
an ordinary hash of ADMIN that createSession waits for.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tutorial_kit.server import backend, runner
from tutorial_kit.server.accounts import ADMIN, AccountBook, hash_password, verify_password
from tutorial_kit.server.store import Store, database_path

#: modules `tutorial-kit serve` has no use for before its first answer
NOT_AT_START = (
    "httpx",
    "tutorial_kit.client.kit_client",
    "tutorial_kit.client.examples",
    "difflib",
    "uuid",
    "platform",
)

_SERVE_AND_LIST = """
import builtins, json, os, signal, sys
from tutorial_kit.cli.main import main

shown = builtins.print

def print_then_stop(*args, **kwargs):
    shown(*args, **kwargs)
    if args and str(args[0]).startswith("serving "):  # the signal handlers are installed by now
        os.kill(os.getpid(), signal.SIGTERM)

builtins.print = print_then_stop
code = main(["serve", "--home", sys.argv[1], "--port", "0"])
shown(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.slow
def test_serve_imports_neither_the_helper_nor_httpx(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = subprocess.run([sys.executable, "-c", _SERVE_AND_LIST, str(home)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("serving http://127.0.0.1:")
    out = json.loads(lines[-1])
    assert out["code"] == 0
    assert [m for m in NOT_AT_START if m in out["modules"]] == []
    assert database_path(home).is_file()  # a fresh home: ADMIN was stored before the server listened
    store = Store(database_path(home))
    try:
        row = store.account(ADMIN)
        assert row is not None and verify_password(ADMIN, row.password_hash)
    finally:
        store.close()


def test_ensure_admin_stores_a_hash_computed_before_and_never_replaces_one(tmp_path: Path) -> None:
    store = Store(database_path(tmp_path))
    try:
        book = AccountBook(store, time.time)
        ahead = hash_password(ADMIN)
        book.ensure_admin(ahead)
        row = store.account(ADMIN)
        assert row is not None and row.password_hash == ahead and row.is_admin
        book.ensure_admin(hash_password(ADMIN))  # ADMIN exists: a later hash is not used
        again = store.account(ADMIN)
        assert again is not None and again.password_hash == row.password_hash
    finally:
        store.close()


def _post(port: int, request: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"http://127.0.0.1:{port}/api", json=request, timeout=30)
    return dict(answer.json())


_LOGIN = {"api": "admin", "action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}}


def _admin_verifies(home: Path) -> bool:
    store = Store(database_path(home))
    try:
        row = store.account(ADMIN)
        return row is not None and verify_password(ADMIN, row.password_hash)
    finally:
        store.close()


class HeldHash:
    """The backend's ADMIN hash, held back until the test releases it; ``started``: it was asked for."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self._release = threading.Event()

    def release(self) -> None:
        self._release.set()

    def hash(self, password: str) -> str:
        assert password == ADMIN
        self.started.set()
        assert self._release.wait(30), "the test never released the hash"
        return hash_password(password)


@pytest.fixture
def held_hash(monkeypatch: pytest.MonkeyPatch) -> HeldHash:
    """ADMIN's deferred hash waits for ``held_hash.release()``."""
    held = HeldHash()
    monkeypatch.setattr(backend, "hash_password", held.hash)
    return held


def test_a_fresh_home_answers_at_once_and_a_login_waits_for_admin_s_hash(
        tmp_path: Path, held_hash: HeldHash) -> None:
    """Listening does not wait for ADMIN's first hash; what reads the accounts does."""
    home = tmp_path / "home"

    async def run() -> None:
        core = runner.ServerCore(home, port=0, defer_admin=True)
        await core.start()
        try:
            assert core.port is not None and core.backend is not None and core.backend.admin_pending
            ping = await asyncio.to_thread(_post, core.port, {"api": "admin", "action": "pingSession"})
            assert ping["errorCode"] == 0
            login = asyncio.ensure_future(asyncio.to_thread(_post, core.port, _LOGIN))
            await asyncio.sleep(0.2)
            assert not login.done()  # it cannot be answered before ADMIN exists
            assert await asyncio.to_thread(held_hash.started.wait, 30)  # asked for once the server listened
            held_hash.release()
            answer = await login
            assert answer["errorCode"] == 0 and answer["authToken"]
            assert not core.backend.admin_pending
        finally:
            await core.stop()

    asyncio.run(run())
    assert _admin_verifies(home)


def test_a_server_stopped_before_admin_s_hash_is_ready_stores_admin_first(
        tmp_path: Path, held_hash: HeldHash) -> None:
    home = tmp_path / "home"

    async def run() -> None:
        core = runner.ServerCore(home, port=0, defer_admin=True)
        await core.start()
        threading.Timer(0.2, held_hash.release).start()
        await core.stop()  # waits for the hash, then for ADMIN's write

    asyncio.run(run())
    assert _admin_verifies(home)


def test_on_a_network_address_admin_is_stored_before_the_default_password_check(tmp_path: Path) -> None:
    """0.0.0.0 refuses to start while ADMIN/ADMIN works: with the hash still under way, too."""
    from tutorial_kit import KitUsageError

    async def run() -> None:
        core = runner.ServerCore(tmp_path / "home", host="0.0.0.0", port=0, defer_admin=True)
        with pytest.raises(KitUsageError, match="ADMIN still has the password ADMIN"):
            await core.start()
        await core.stop()

    asyncio.run(run())
    assert _admin_verifies(tmp_path / "home")


def test_a_home_with_a_database_and_an_in_process_server_store_admin_before_listening(
        tmp_path: Path, held_hash: HeldHash) -> None:
    async def run(home: Path, defer: bool) -> None:
        core = runner.ServerCore(home, port=0, defer_admin=defer)
        await core.start()
        try:
            assert core.backend is not None and not core.backend.admin_pending
            assert _admin_verifies(home)
        finally:
            await core.stop()

    asyncio.run(run(tmp_path / "a", defer=False))  # EmulatorServer's way: ADMIN first
    asyncio.run(run(tmp_path / "a", defer=True))  # the database exists: nothing to hash
    assert not held_hash.started.is_set()


def test_a_new_home_s_uuid_is_a_random_version_4_uuid() -> None:
    import uuid

    from tutorial_kit.server.store import random_uuid4

    made = [random_uuid4() for _ in range(200)]
    assert len(set(made)) == 200
    for text in made:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)
