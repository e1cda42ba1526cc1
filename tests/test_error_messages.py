"""Every errorMessage the server can produce fits FairCom's 256-byte limit (sources: fact.error_message_limit).

The test finds every place in ``tutorial_kit/server`` that builds an :class:`ApiError` (by reading
the code), sends requests that reach each one, with long user input wherever the input shows in
the message, and checks three things: every place was reached, every errorMessage and every
warning message is at most 256 bytes, and none had to be clipped (clipping is the safety net in
``errors.fit_message``; relying on it would be a bug).
"""

from __future__ import annotations

import ast
import json
import logging
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tutorial_kit.server import EmulatorServer, errors, services_path
from tutorial_kit.server import actions as server_actions
from tutorial_kit.server.errors import MAX_MESSAGE_BYTES, ApiError
from tutorial_kit.server.settings import check_bool, check_int
from tutorial_kit.server.store import Store

SERVER = Path(errors.__file__).parent
LONG = "L" * 5000


def construction_sites() -> set[tuple[str, int]]:
    """(file, line) of every ApiError(...), ApiError.missing/invalid/too_long(...) outside errors.py."""
    sites = set()
    for path in SERVER.glob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            direct = isinstance(func, ast.Name) and func.id == "ApiError"
            named = (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                     and func.value.id == "ApiError" and func.attr in ("missing", "invalid", "too_long"))
            if direct or named:
                sites.add((path.name, node.lineno))
    return sites


@pytest.fixture
def reached(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, int]]:
    """Records where each ApiError was built (the first frame outside errors.py)."""
    seen: set[tuple[str, int]] = set()
    original = ApiError.__init__

    def recording(self: ApiError, *args: Any, **kwargs: Any) -> None:
        frame = sys._getframe(1)
        while frame.f_code.co_filename == errors.__file__:
            frame = frame.f_back  # type: ignore[assignment]
        if Path(frame.f_code.co_filename).parent == SERVER:
            seen.add((Path(frame.f_code.co_filename).name, frame.f_lineno))
        original(self, *args, **kwargs)

    monkeypatch.setattr(ApiError, "__init__", recording)
    return seen


class Probe:
    """Sends requests and checks every message in every answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=30, trust_env=False)
        self.answers = 0

    def send(self, body: Any, *, method: str = "POST", headers: dict[str, str] | None = None) -> dict[str, Any]:
        content = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        answer = json.loads(self.http.request(method, self.url, content=content, headers=headers).content)
        for message in [
            answer["errorMessage"],
            *[w["message"] for w in answer.get("debugInfo", {}).get("warnings", [])],
        ]:
            assert len(message.encode("utf-8")) <= MAX_MESSAGE_BYTES, message
        self.answers += 1
        return answer

    def token(self, username: str = "ADMIN", password: str = "ADMIN", **params: Any) -> str:
        answer = self.send({"action": "createSession", "debug": "none",
                            "params": {"username": username, "password": password, **params}})
        assert answer["errorCode"] == 0, answer
        return answer["authToken"]


@pytest.fixture
def probe_server(tmp_path: Path) -> Iterator[tuple[EmulatorServer, Probe]]:
    srv = EmulatorServer(tmp_path, port=0).start()
    probe = Probe(srv.url)
    try:
        yield srv, probe
    finally:
        probe.http.close()
        srv.stop()


def _envelope(p: Probe, admin: str) -> None:
    bodies: list[Any] = [
        {"action": LONG}, {"action": "createSesion"}, {"api": LONG, "action": "pingSession"},
        {"api": [LONG], "action": "pingSession"}, {"api": "admin"}, {"action": 5},
        {"action": "pingSession", "debug": LONG}, {"action": "pingSession", "authToken": 5},
        {"action": "pingSession", "params": [LONG]}, {"action": "pingSession", "apiVersion": 5},
        {"action": "pingSession", "responseOptions": LONG}, [LONG], '{"a": ' + "[" * 100 + "]" * 100 + "}",
        '{"action": "createSession", "params": {"username": "\\ud800", "password": "x"}}',
        b'{"action": "\xff"}', '{"' + "n" * 5000 + '" 1}', "{" + "x" * 5000,
        {"action": "describeSessions"}, {"action": "pingSession", "authToken": LONG},
        {"action": "pingSession", "debug": "max", LONG: 1, "params": {LONG: 2}},
        '{"action": "pingSession", "debug": "max", "' + LONG + '": 1, "' + LONG + '": 2}',
    ]
    for body in bodies:
        p.send(body)
    p.send({"action": "pingSession"}, method="GET")
    p.send({"action": "pingSession"}, headers={"Origin": "http://elsewhere.example"})
    p.send(b'{"action": "pingSession", "x": "' + b"y" * (1024 * 1024 + 10) + b'"}')


def _sessions(p: Probe, admin: str) -> None:
    login = {"username": "ADMIN", "password": "ADMIN"}
    for params in ({"password": "x"}, {"username": "CHANGE"}, {"username": "ADMIN", "password": 5},
                   {"username": "ADMIN", "password": LONG}, {**login, "permanentSession": True},
                   {**login, "description": LONG * 14}, {**login, "defaultApi": LONG},
                   {**login, "idleConnectionTimeoutSeconds": LONG}, {**login, "defaultDatabaseName": ""},
                   {**login, "description": 5}, {**login, "defaultResponseOptions": LONG},
                   {**login, "defaultResponseOptions": {LONG: 1}},
                   {**login, "defaultResponseOptions": {"includeBookmarks": LONG}},
                   {**login, "permanentSession": LONG}):
        p.send({"action": "createSession", "params": params})
    p.send('{"action": "createSession", "params": {"username": "CHANGE", "username": "CHANGE"}}')
    for _ in range(6):  # the throttle blocks the 5th wrong one, then answers "blocked"
        p.send({"action": "createSession", "params": {"username": "throttled", "password": "no"}})
    p.send({"action": "describeSessions", "authToken": admin, "params": {"authTokens": LONG}})
    p.send({"action": "listSessions", "authToken": admin, "params": {"usernameFilter": LONG}})
    p.send({"action": "alterSession", "authToken": admin, "params": {"username": LONG}})
    p.send({"action": "deleteSession", "authToken": LONG, "debug": "max"})


def _accounts(p: Probe, admin: str) -> str:
    def admin_call(action: str, params: dict[str, Any]) -> dict[str, Any]:
        return p.send({"action": action, "authToken": admin, "debug": "max", "params": params})

    admin_call("createAccount", {"password": "x"})
    admin_call("createAccount", {"username": LONG})
    admin_call("createAccount", {"username": "admin"})
    admin_call("createAccount", {"username": "dated", "password": "pw", "enableDatetime": LONG})
    admin_call("createAccount", {"username": "dated", "password": "pw", "enableDatetime": 5})
    admin_call("createAccount", {"username": "dated", "password": "pw", "disableDatetime": "0001-01-01"})
    admin_call("createAccount", {"username": "u" * 31, "password": "", "lockoutAfterNFailedAttempts": "9" * 19,
                                 "memoryRule": "r" * 64, "maxDaysBeforePasswordMustChange": 1, LONG: 1})
    admin_call("alterAccount", {"password": "x"})
    admin_call("alterAccount", {"username": "n" * 64})
    admin_call("dropAccounts", {"usernames": LONG})
    admin_call("dropAccounts", {"usernames": ["ADMIN"]})
    admin_call("dropAccounts", {"usernames": ["m" * 64]})
    admin_call("describeAccounts", {"usernames": ["m" * 64]})
    admin_call("cloneAccount", {})
    admin_call("assignRolesToAccounts", {})
    admin_call("manageService", {})
    for name, props in (
        ("future", {"enableDatetime": "2999-01-01T00:00:00"}),
        ("past", {"disableDatetime": "2000-01-01"}),
        ("locks", {"lockoutAfterNFailedAttempts": 1}),
    ):
        admin_call("createAccount", {"username": name, "password": "pw", **props})
        p.send({"action": "createSession", "params": {"username": name, "password": "pw" if name != "locks" else "no"}})
    p.send({"action": "createSession", "params": {"username": "locks", "password": "pw"}})
    admin_call("createAccount", {"username": "plain", "password": "pw"})
    plain = p.token("plain", "pw")
    p.send({"action": "listAccounts", "authToken": plain})
    p.send({"action": "alterAccount", "authToken": plain, "params": {"username": "plain", "memoryLimit": 1}})
    return plain


def test_every_error_message_fits_256_bytes(probe_server: tuple[EmulatorServer, Probe], reached: set[tuple[str, int]],
                                            monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                                            tmp_path: Path) -> None:
    srv, p = probe_server
    caplog.set_level(logging.WARNING)
    admin = p.token()
    _envelope(p, admin)
    _sessions(p, admin)
    plain = _accounts(p, admin)

    # the session's account gone from under it (only possible if the store is changed behind the server)
    srv.call_in_loop(lambda: srv.core.backend.store._conn.execute("DELETE FROM accounts WHERE name_key = 'PLAIN'"))
    p.send({"action": "describeAccounts", "authToken": plain})
    # an alterAccount whose account changed while its password was being hashed
    with monkeypatch.context() as patch:
        patch.setattr(Store, "update_account", lambda self, before, after: False)
        p.send({"action": "alterAccount", "authToken": admin, "params": {"username": "ADMIN", "password": "x"}})
    # an unexpected failure inside an action
    spec = server_actions.ACTIONS["pingsession"]

    def boom(b: Any, ctx: Any) -> Any:
        raise ZeroDivisionError

    with monkeypatch.context() as patch:
        patch.setitem(server_actions.ACTIONS, "pingsession", server_actions.ActionSpec(spec.name, boom, spec.token))
        p.send({"action": "pingSession"})

    # (issue 12) a requestId too large to copy back, and a full login queue: per address, then in all
    assert p.send({"action": "pingSession", "requestId": [0] * 60_000})["errorCode"] == 12034
    logins = srv.core.backend.logins
    for per_address, total in ((0, 128), (32, 0)):
        srv.call_in_loop(lambda per_address=per_address, total=total: (
            setattr(logins, "per_address", per_address), setattr(logins, "total", total)))
        assert p.send({"action": "createSession", "params": {"username": LONG, "password": LONG}})["errorCode"] == 12015
    srv.call_in_loop(lambda: (setattr(logins, "per_address", 32), setattr(logins, "total", 128)))

    # with permanent sessions on: the refused idle timeout of a permanent session, and the session limit
    services = json.loads(services_path(srv.home).read_text())
    services["jsonActionApiDefaults"].update(enablePermanentJsonApiSessions=True, maxJsonApiSessionsPerUsername=3)
    services_path(srv.home).write_text(json.dumps(services))
    srv.restart()
    key = p.token(permanentSession=True)
    p.send({"action": "alterSession", "authToken": key, "params": {"idleConnectionTimeoutSeconds": 5}})
    # (issue 12) a database write refused: busy (another program's lock), or failed (a full disk)
    for failure in ("database is locked", "database or disk is full"):
        def refuse(*args: Any, failure: str = failure) -> None:
            raise sqlite3.OperationalError(failure)

        with monkeypatch.context() as patch:
            patch.setattr(Store, "update_session_settings", refuse)
            answer = p.send({"action": "alterSession", "authToken": key, "params": {"description": LONG[:200]}})
        assert answer["errorCode"] == 12009 and "Nothing was changed" in answer["errorMessage"]
    for _ in range(3):
        p.send({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})

    # the strict checks a caller may ask for (no warning function: a string is refused)
    for strict in (lambda: check_bool("flag", "true"), lambda: check_int("count", "5", 0, 9)):
        with pytest.raises(ApiError):
            strict()

    missing = sorted(construction_sites() - reached)
    assert missing == [], f"add a request that reaches {missing}, with long input where input is shown"
    assert [r.getMessage() for r in caplog.records if "clipped" in r.getMessage()] == []
    assert p.answers > 80


def test_the_safety_net_clips_at_a_character_boundary(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        clipped = ApiError(12012, "é" * 300).message
    assert len(clipped.encode()) <= MAX_MESSAGE_BYTES and clipped.endswith("...")
    assert "clipped" in caplog.text
