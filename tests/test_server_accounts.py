"""FairCom's account actions and account properties (issue 10, revision 2 row 1).

Sources: tutorial_kit/server/sources.py rows action.createAccount ... action.describeAccounts;
what the pages leave open is in kit_choices.py (account_* rows).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import Post, err, ok
from tutorial_kit.server import EmulatorServer
from tutorial_kit.server.account_actions import alter_account, create_account, drop_accounts
from tutorial_kit.server.accounts import hash_password, verify_password
from tutorial_kit.server.backend import Backend, CallContext
from tutorial_kit.server.config import load_config
from tutorial_kit.server.errors import ApiError
from tutorial_kit.server.login_rules import AccountLockout
from tutorial_kit.server.store import _MIGRATIONS, AccountRow, Store

REPRODUCIBLE = {"TUTORIAL_KIT_REPRODUCIBLE": "1"}  # the clock stands at 2026-01-01T09:00:00 UTC


@pytest.fixture
def fixed(home: Path) -> Iterator[EmulatorServer]:
    srv = EmulatorServer(home, port=0, env=REPRODUCIBLE).start()
    try:
        yield srv
    finally:
        srv.stop()


def _describe(post: Post, srv: EmulatorServer, admin: str, name: str) -> dict[str, Any]:
    answer = ok(post(srv, {"action": "describeAccounts", "authToken": admin, "params": {"usernames": [name]}})[1])
    return answer["result"]["accounts"][0]


def test_faircoms_maximal_create_account_stores_and_returns_every_property(
        post: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    admin = login(server)
    params = {"username": "NewAccount2", "password": "CorrectHorseBatteryStaple",
              "accountDescription": "NewAccount2 will be used solely to test deletion",
              "enableDatetime": "2024-01-01", "disableDatetime": "2124-12-31", "lockoutAfterNFailedAttempts": 5,
              "maxDaysBeforePasswordMustChange": 14, "maxMinutesBeforeNextLogin": 0, "memoryLimit": 1048576,
              "memoryRule": "default"}
    answer = ok(post(server, {"api": "admin", "action": "createAccount", "params": params, "authToken": admin,
                              "requestId": "1", "debug": "max"})[1])
    assert answer["result"] == {} and answer["requestId"] == "1"
    stored_only = [w["message"].split()[0] for w in answer["debugInfo"]["warnings"]]
    assert stored_only == ["maxDaysBeforePasswordMustChange", "maxMinutesBeforeNextLogin", "memoryLimit", "memoryRule"]
    account = _describe(post, server, admin, "newaccount2")
    expected = {k: v for k, v in params.items() if k != "password"}
    assert {k: account[k] for k in expected} == expected
    assert list(account) == [
        "username",
        "accountDescription",
        "enableDatetime",
        "disableDatetime",
        "lockoutAfterNFailedAttempts",
        "maxDaysBeforePasswordMustChange",
        "maxMinutesBeforeNextLogin",
        "memoryLimit",
        "memoryRule",
        "roleNames",
        "lastPasswordChange",
    ]
    login(server, "NewAccount2", "CorrectHorseBatteryStaple")


def test_account_property_values_are_checked(post: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    admin = login(server)

    def create(**params: Any) -> dict[str, Any]:
        return post(server, {"action": "createAccount", "authToken": admin, "debug": "max",
                             "params": {"username": "bob", **params}})[1]

    err(create(enableDatetime="tomorrow"), 12012, "enableDatetime", "YYYY-MM-DD")
    err(create(disableDatetime="0100-01-01"), 12012, "disableDatetime", "0336-10-07")
    err(create(disableDatetime=20241231), 12012, "disableDatetime")
    err(create(lockoutAfterNFailedAttempts=-1), 12012, "lockoutAfterNFailedAttempts", "0 to 2147483647")
    err(create(maxMinutesBeforeNextLogin=35_791_395), 12012, "maxMinutesBeforeNextLogin", "35791394")
    err(create(memoryRule=""), 12012, "memoryRule")
    err(create(accountDescription="d" * 65_501), 12034, "accountDescription", "65500")
    # FairCom's "defaults" are server settings: numeric strings are taken, with a warning
    answer = ok(create(password="pw", lockoutAfterNFailedAttempts="3", description="old name"))
    messages = [w["message"] for w in answer["debugInfo"]["warnings"]]
    assert any('"3": taken as the number 3' in m for m in messages)
    assert any("params.description" in m and "accountDescription" in m for m in messages)
    assert _describe(post, server, admin, "bob")["lockoutAfterNFailedAttempts"] == 3


def test_enable_and_disable_datetimes_are_enforced_at_login(
        post: Post, fixed: EmulatorServer, login: Callable[..., str]) -> None:
    admin = login(fixed)

    def account(name: str, **props: Any) -> None:
        ok(post(fixed, {"action": "createAccount", "authToken": admin,
                        "params": {"username": name, "password": "pw", **props}})[1])

    def attempt(name: str) -> dict[str, Any]:
        return post(fixed, {"action": "createSession", "params": {"username": name, "password": "pw"}})[1]

    account("early", enableDatetime="2026-01-01T09:00:01")  # one second after the frozen clock
    err(attempt("early"), 12033, "2026-01-01T09:00:01", "enableDatetime")
    account("ontime", enableDatetime="2026-01-01T09:00:00")
    ok(attempt("ontime"))
    account("lastday", disableDatetime="2026-01-01")  # a date: logins through that whole day (UTC)
    ok(attempt("lastday"))
    account("gone", disableDatetime="2025-12-31")
    err(attempt("gone"), 12033, "2025-12-31", "disableDatetime")
    account("exact", disableDatetime="2026-01-01T08:59:59")
    err(attempt("exact"), 12033)
    # a wrong password is the usual answer, whatever the dates: they are only told to the right password
    wrong = post(fixed, {"action": "createSession", "params": {"username": "gone", "password": "nope"}})[1]
    err(wrong, 12033, "username or password is wrong")
    # "" removes the limit (FairCom's alterAccount page); null leaves it as it is
    ok(
        post(
            fixed,
            {"action": "alterAccount", "authToken": admin, "params": {"username": "gone", "disableDatetime": None}},
        )[1]
    )
    err(attempt("gone"), 12033)
    ok(
        post(
            fixed, {"action": "alterAccount", "authToken": admin, "params": {"username": "gone", "disableDatetime": ""}}
        )[1]
    )
    ok(attempt("gone"))
    assert "disableDatetime" not in _describe(post, fixed, admin, "gone")


def test_lockout_after_n_failed_attempts_locks_the_account(
        post: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    admin = login(server)
    ok(post(server, {"action": "createAccount", "authToken": admin,
                     "params": {"username": "carol", "password": "right", "lockoutAfterNFailedAttempts": 3,
                                "lockoutWaitMinutes": 10}})[1])
    wrong = {"action": "createSession", "params": {"username": "carol", "password": "wrong"}}
    right = {"action": "createSession", "params": {"username": "carol", "password": "right"}}
    err(post(server, wrong)[1], 12033)
    ok(post(server, right)[1])  # a success starts the count again: the failures must be consecutive
    for _ in range(3):
        err(post(server, wrong)[1], 12033, "wrong")
    err(post(server, right)[1], 12033, "locked", "10 minute")  # the right password is refused too
    assert _describe(post, server, admin, "carol")["lockoutWaitMinutes"] == 10
    # the administrator's change of the account ends the lockout
    ok(
        post(
            server, {"action": "alterAccount", "authToken": admin, "params": {"username": "carol", "password": "new"}}
        )[1]
    )
    login(server, "carol", "new")


def test_account_lockout_lasts_lockout_wait_minutes() -> None:
    now = [1000.0]
    lockout = AccountLockout(lambda: now[0])
    row = AccountRow("DAN", "dan", "h", "", False, {"lockoutAfterNFailedAttempts": 2})
    lockout.failed(row)
    lockout.check(row)
    lockout.failed(row)
    with pytest.raises(ApiError) as info:
        lockout.check(row)
    assert info.value.code == 12033 and "5 minute" in info.value.message  # kit's default wait
    now[0] += 5 * 60
    lockout.check(row)  # over
    free = AccountRow("EVE", "eve", "h", "", False, {})
    for _ in range(50):
        lockout.failed(free)  # no limit set: never locked
    lockout.check(free)


def test_a_new_password_ends_the_accounts_other_sessions_api_keys_too(
        post: Post, server: EmulatorServer, login: Callable[..., str], home: Path,
        enable_permanent: Callable[..., EmulatorServer]) -> None:
    server = enable_permanent(home, server)
    admin = login(server)
    ok(
        post(
            server, {"action": "createAccount", "authToken": admin, "params": {"username": "alice", "password": "pw1"}}
        )[1]
    )
    first, second = login(server, "alice", "pw1"), login(server, "alice", "pw1")
    key = login(server, "alice", "pw1", permanentSession=True)
    ok(
        post(
            server, {"action": "alterAccount", "authToken": first, "params": {"username": "alice", "password": "pw2"}}
        )[1]
    )
    ok(post(server, {"action": "pingSession", "authToken": first})[1])  # the session that changed it goes on
    for gone in (second, key):
        err(post(server, {"action": "pingSession", "authToken": gone})[1], 12031)
    # an administrator's reset ends every session of the account, not the administrator's own
    ok(
        post(
            server, {"action": "alterAccount", "authToken": admin, "params": {"username": "alice", "password": "pw3"}}
        )[1]
    )
    err(post(server, {"action": "pingSession", "authToken": first})[1], 12031)
    ok(post(server, {"action": "pingSession", "authToken": admin})[1])
    # the API key is gone from disk too: it stays gone after a restart
    server.restart()
    err(post(server, {"action": "pingSession", "authToken": key})[1], 12031)
    # a change of the description alone ends nothing
    third = login(server, "alice", "pw3")
    ok(post(server, {"action": "alterAccount", "authToken": third,
                     "params": {"username": "alice", "accountDescription": "mine"}})[1])
    ok(post(server, {"action": "pingSession", "authToken": third})[1])


def test_documented_actions_the_kit_does_not_emulate_name_their_page(post: Post, server: EmulatorServer) -> None:
    for action, url in (("cloneAccount", "https://documentation.faircom.com/en_US/account-api-actions/cloneaccount"),
                        ("assignRolesToAccounts", "account-api-actions/assignrolestoaccounts"),
                        ("manageService", "https://docs.faircom.com/docs/en/UUID-23495d6b")):
        for token in ({}, {"authToken": "whatever"}):
            err(post(server, {"action": action, "params": {}, **token})[1], 12008, f'"{action}"', url)


# --- dropAccounts while an alterAccount hashes ----------------------------------------------------


class _GatedExecutor(ThreadPoolExecutor):
    """Runs password hashing only once ``gate`` is set, so a test can act while a hash is pending."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.gate = threading.Event()
        self.started = threading.Event()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        def gated() -> Any:
            self.started.set()
            self.gate.wait(10)
            return fn(*args, **kwargs)
        return super().submit(gated)


@pytest.mark.parametrize("recreate", [False, True])
def test_alter_account_never_answers_success_for_an_account_dropped_meanwhile(tmp_path: Path, recreate: bool) -> None:
    executor = _GatedExecutor()
    backend = Backend(load_config(tmp_path / "config" / "services.json"), Store(":memory:"), hash_executor=executor)
    try:
        admin = backend.store.account("ADMIN")
        backend.store.insert_account(AccountRow("ALICE", "alice", hash_password("old"), "", False))
        admin_session = type("S", (), {"name_key": "ADMIN", "token": "t"})()

        def ctx(params: dict[str, Any]) -> CallContext:
            return CallContext(params, "127.0.0.1", session=admin_session, token="t", warnings=[])

        async def race() -> None:
            task = asyncio.ensure_future(alter_account(backend, ctx({"username": "alice", "password": "new"})))
            while not executor.started.is_set():
                await asyncio.sleep(0.001)
            await drop_accounts(backend, ctx({"usernames": ["alice"]}))  # (async: it commits to disk first)
            if recreate:  # the same name again, with its own password
                executor.gate.set()
                await create_account(backend, ctx({"username": "alice", "password": "other"}))
            executor.gate.set()
            with pytest.raises(ApiError) as info:
                await task
            assert info.value.code == 12012 and "dropped or changed" in info.value.message

        assert admin is not None
        asyncio.run(race())
        row = backend.store.account("ALICE")
        if recreate:
            assert row is not None and verify_password("other", row.password_hash)  # the new account is untouched
        else:
            assert row is None
    finally:
        backend.close()
        executor.shutdown()


# --- a home made before account properties existed ------------------------------------------------


def test_an_older_home_keeps_working(tmp_path: Path, post: Post, login: Callable[..., str]) -> None:
    db = tmp_path / "data" / "kit.sqlite3"
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    name, script = _MIGRATIONS[0]
    conn.executescript(script)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY)")
    conn.execute("INSERT INTO _migrations VALUES (?)", (name,))
    conn.execute("INSERT INTO accounts VALUES ('ADMIN', 'ADMIN', ?, 'administrator', 1)", (hash_password("ADMIN"),))
    conn.execute("INSERT INTO accounts VALUES ('BOB', 'bob', ?, 'a learner', 0)", (hash_password("pw"),))
    conn.execute(
        "INSERT INTO permanent_sessions VALUES ('K' || hex(randomblob(31)), 1, 'BOB', ?, 1.0, 2.0, '127.0.0.1')",
        (json.dumps({"description": "old key", "defaultResponseOptions": {"numberFormat": "string"}}),),
    )
    conn.commit()
    key = conn.execute("SELECT token FROM permanent_sessions").fetchone()[0]
    conn.close()
    with EmulatorServer(tmp_path, port=0) as srv:
        admin = login(srv)
        login(srv, "bob", "pw")
        accounts = ok(post(srv, {"action": "listAccounts", "authToken": admin})[1])["result"]["accounts"]
        bob = accounts[1]
        assert bob["username"] == "bob" and bob["accountDescription"] == "a learner"
        assert bob["lockoutAfterNFailedAttempts"] == 0 and "lastPasswordChange" not in bob  # not known for old rows
        session = ok(post(srv, {"action": "describeSessions", "authToken": key})[1])["result"]["sessions"][0]
        assert session["description"] == "old key" and session["defaultStringFormat"] == "json"
        assert session["defaultResponseOptions"]["numberFormat"] == "string"
        assert session["defaultResponseOptions"]["includeBookmarks"] is False
        ok(
            post(srv, {"action": "alterAccount", "authToken": admin, "params": {"username": "bob", "password": "pw2"}})[
                1
            ]
        )
        assert "lastPasswordChange" in ok(post(srv, {"action": "describeAccounts", "authToken": admin,
                                                     "params": {"usernames": ["bob"]}})[1])["result"]["accounts"][0]
