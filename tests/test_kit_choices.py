"""The table of kit's choices is the one place those decisions live: change a row, the server follows."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tutorial_kit.server import ERROR_TABLE, KIT_CHOICES, EmulatorServer
from tutorial_kit.server.kit_choices import Choice


def test_every_kit_choice_error_code_comes_from_the_table() -> None:
    choice_codes = {c.value for name, c in KIT_CHOICES.items() if name.startswith("error.")}
    for row in ERROR_TABLE:
        assert row.source in ("documented", "kit's choice")
        if row.source == "kit's choice":
            assert row.code in choice_codes, row


def _set_flag(home: Path, value: bool) -> None:
    path = home / "config" / "services.json"
    data = json.loads(path.read_text())
    data["jsonActionApiDefaults"]["enablePermanentJsonApiSessions"] = value
    path.write_text(json.dumps(data))


def _post(url: str, body: dict) -> dict:
    return httpx.post(url, json={**body, "debug": "none"}).json()


@pytest.mark.parametrize("survives", [True, False])
def test_permanent_keys_after_the_flag_is_turned_off_follow_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, survives: bool
) -> None:
    monkeypatch.setitem(KIT_CHOICES, "permanent_survives_flag_off", Choice(survives, "test"))
    with EmulatorServer(tmp_path, port=0) as srv:
        _set_flag(tmp_path, True)
        srv.restart()
        created = _post(srv.url, {"action": "createSession",
                                  "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}})
        key = created["authToken"]
        _set_flag(tmp_path, False)
        srv.restart()
        ping = _post(srv.url, {"action": "pingSession", "authToken": key})
        assert ping["errorCode"] == (0 if survives else 12031)
        _set_flag(tmp_path, True)
        srv.restart()
        assert _post(srv.url, {"action": "pingSession", "authToken": key})["errorCode"] == 0, "kept on disk either way"


def test_listservices_tls_visibility_follows_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorServer(tmp_path, port=0) as srv:
        hidden = _post(srv.url, {"action": "listServices"})["result"]["listeners"][1]
        assert "tls" not in hidden
        monkeypatch.setitem(KIT_CHOICES, "listservices_tls_needs_token", Choice(False, "test"))
        shown = _post(srv.url, {"action": "listServices"})["result"]["listeners"][1]
        assert shown["tls"] == {"certificateFilename": "./web/fccert.pem"}


@pytest.mark.parametrize("ends", [True, False])
def test_a_new_password_ending_the_other_sessions_follows_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ends: bool
) -> None:
    monkeypatch.setitem(KIT_CHOICES, "password_change_ends_sessions", Choice(ends, "test"))
    with EmulatorServer(tmp_path, port=0) as srv:
        login = {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}}
        first, second = _post(srv.url, login)["authToken"], _post(srv.url, login)["authToken"]
        changed = _post(srv.url, {"action": "alterAccount", "authToken": first,
                                  "params": {"username": "ADMIN", "password": "new-pw"}})
        assert changed["errorCode"] == 0, changed
        assert _post(srv.url, {"action": "pingSession", "authToken": second})["errorCode"] == (12031 if ends else 0)


def test_account_rows_read_at_each_request_follow_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorServer(tmp_path, port=0) as srv:
        admin = _post(srv.url, {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[
            "authToken"
        ]
        _post(srv.url, {"action": "createAccount", "authToken": admin, "params": {"username": "bob", "password": "pw"}})
        bob = _post(srv.url, {"action": "createSession", "params": {"username": "bob", "password": "pw"}})["authToken"]
        assert _post(srv.url, {"action": "listAccounts", "authToken": bob})["errorCode"] == 12030
        monkeypatch.setitem(KIT_CHOICES, "list_accounts_admin_only", Choice(False, "test"))
        assert _post(srv.url, {"action": "listAccounts", "authToken": bob})["errorCode"] == 0
        monkeypatch.setitem(KIT_CHOICES, "describe_accounts_result_key", Choice("items", "test"))
        monkeypatch.setitem(KIT_CHOICES, "admin_role_names", Choice(("admin", "everything"), "test"))
        described = _post(srv.url, {"action": "describeAccounts", "authToken": admin})["result"]
        assert described["items"][0]["roleNames"] == ["admin", "everything"]
        monkeypatch.setitem(KIT_CHOICES, "api_null_is_default", Choice(False, "test"))
        assert _post(srv.url, {"api": None, "action": "pingSession"})["errorCode"] == 12013


@pytest.mark.parametrize("sees_all", [True, False])
def test_what_the_administrator_sees_of_other_accounts_sessions_follows_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sees_all: bool
) -> None:
    monkeypatch.setitem(KIT_CHOICES, "admin_sees_every_session", Choice(sees_all, "test"))
    with EmulatorServer(tmp_path, port=0) as srv:
        admin = _post(srv.url, {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[
            "authToken"
        ]
        _post(srv.url, {"action": "createAccount", "authToken": admin, "params": {"username": "bob", "password": "pw"}})
        bob = _post(srv.url, {"action": "createSession", "params": {"username": "bob", "password": "pw"}})["authToken"]
        every = _post(srv.url, {"action": "describeSessions", "authToken": admin})["result"]["sessions"]
        listed = _post(srv.url, {"action": "listSessions", "authToken": admin})["result"]["sessions"]
        named = _post(srv.url, {"action": "describeSessions", "authToken": admin, "params": {"authTokens": [bob]}})
        expected = {"ADMIN", "bob"} if sees_all else {"ADMIN"}
        assert {s["username"] for s in every} == expected
        assert {s["username"] for s in listed} == expected
        assert [s["username"] for s in named["result"]["sessions"]] == (["bob"] if sees_all else [])
        own = _post(srv.url, {"action": "describeSessions", "authToken": bob})["result"]["sessions"]
        assert {s["username"] for s in own} == {"bob"}, "another account sees only its own either way"


def test_every_error_row_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from tutorial_kit.server.errors import ErrorCode

    for number, row in enumerate(ERROR_TABLE):
        if row.choice_name is None:
            assert getattr(ErrorCode, row.name) == row.documented_code, "documented rows are FairCom's own"
            continue
        flipped = 19000 + number
        monkeypatch.setitem(KIT_CHOICES, row.choice_name, Choice(flipped, "test"))
        assert getattr(ErrorCode, row.name) == flipped == row.code, row.name


def test_the_server_answers_with_flipped_error_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One request per row a plain request can reach; every row flipped while the server runs."""
    with EmulatorServer(tmp_path, port=0) as srv:
        for number, row in enumerate(ERROR_TABLE):
            if row.choice_name is not None:
                monkeypatch.setitem(KIT_CHOICES, row.choice_name, Choice(19000 + number, "test"))
        codes = {row.name: row.code for row in ERROR_TABLE}
        admin = _post(srv.url, {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})
        cases = {
            "MISSING_PROPERTY": {"action": "createSession", "params": {"username": "ADMIN"}},
            "INVALID_VALUE": {"action": "createSession", "params": {"username": 4, "password": "x"}},
            "UNKNOWN_API": {"api": "nope", "action": "pingSession"},
            "UNKNOWN_ACTION": {"action": "noSuchAction"},
            "PERMANENT_DISABLED": {"action": "createSession",
                                   "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}},
            "BAD_CREDENTIALS": {"action": "createSession", "params": {"username": "ADMIN", "password": "wrong"}},
            "BAD_TOKEN": {"action": "describeSessions", "authToken": "x" * 64},
            "ACCOUNT_EXISTS": {"action": "createAccount", "authToken": admin["authToken"],
                               "params": {"username": "ADMIN", "password": "pw"}},
            "TOO_LONG": {"action": "createAccount", "authToken": admin["authToken"],
                         "params": {"username": "u" * 5000, "password": "pw"}},
        }
        for name, request in cases.items():
            assert _post(srv.url, request)["errorCode"] == codes[name], name
        too_large = httpx.post(srv.url, content=b" " * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
        assert too_large.json()["errorCode"] == codes["BODY_TOO_LARGE"]
        not_post = httpx.get(srv.url)
        assert (not_post.status_code, not_post.json()["errorCode"]) == (405, codes["NOT_POST"])
        foreign = httpx.post(srv.url, json={"action": "pingSession"}, headers={"Origin": "https://example.com"})
        assert (foreign.status_code, foreign.json()["errorCode"]) == (403, codes["FOREIGN_REQUEST"])
    # Not reached by a request here: OTHER_USER (another OS user's process), SESSION_LIMIT and
    # LOGIN_QUEUE_FULL (limits; tests/test_hardening_logins.py and the session-limit tests),
    # INTERNAL, DATABASE_BUSY, DATABASE_FAILED (faults);
    # they read ErrorCode at the raise like every row (test_every_error_row_is_read_at_call_time).


def test_no_module_freezes_a_row_of_the_table_at_import() -> None:
    """A module-level name bound to choice(...) or ErrorCode.X would not follow a change of the table.

    Two exceptions, each read once per process: timestamp_zone picks the clock function, because
    rendered timestamps are cached per second (sessions._TS_CACHE); roles_not_emulated and
    services_not_emulated name rows of the action table (account_actions.ACCOUNT_ACTIONS), which
    the dispatcher's lookup is built from. Changing those means a new server process.
    """
    import ast

    import tutorial_kit

    frozen = []
    for path in Path(tutorial_kit.__file__).parent.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                text = ast.unparse(node.value)
                if ("choice(" in text and "secrets.choice" not in text) or "ErrorCode." in text:
                    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
                    frozen.append(f"{path.name}: {ast.unparse(target)}")
    assert sorted(frozen) == ["account_actions.py: ACCOUNT_ACTIONS", "sessions.py: _TO_FIELDS"]
