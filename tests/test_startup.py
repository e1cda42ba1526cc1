"""What makes ``tutorial-kit serve`` start fast, checked without timing anything (issue 15 item 9).

The figures are ``make bench``'s ("Spawns side by side"); a test never fails because a machine is
slow. These check the two things the start relies on: the command imports neither the helper
nor httpx, and ADMIN's first hash, computed ahead on a thread, is an ordinary hash of ADMIN.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutorial_kit.server.accounts import ADMIN, AccountBook, hash_ahead, verify_password
from tutorial_kit.server.store import Store, database_path

#: modules `tutorial-kit serve` has no use for before its first answer
NOT_AT_START = ("httpx", "tutorial_kit.client.kit_client", "tutorial_kit.client.examples", "difflib")

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


def test_a_hash_computed_ahead_is_an_ordinary_salted_hash_of_admin() -> None:
    first, second = hash_ahead(ADMIN), hash_ahead(ADMIN)
    a, b = first.result(timeout=30), second.result(timeout=30)
    assert a.startswith("scrypt$") or a.startswith("pbkdf2_sha256$")
    assert verify_password(ADMIN, a) and verify_password(ADMIN, b)
    assert not verify_password("admin", a)
    assert a != b  # each has its own random salt


def test_ensure_admin_stores_the_hash_computed_ahead_and_never_replaces_one(tmp_path: Path) -> None:
    store = Store(database_path(tmp_path))
    try:
        book = AccountBook(store, time.time)
        ahead = hash_ahead(ADMIN)
        book.ensure_admin(ahead)
        row = store.account(ADMIN)
        assert row is not None and row.password_hash == ahead.result() and row.is_admin
        book.ensure_admin(hash_ahead(ADMIN))  # ADMIN exists: a later hash is not used
        again = store.account(ADMIN)
        assert again is not None and again.password_hash == row.password_hash
    finally:
        store.close()
