"""The embedded server over real HTTP: every error row of the contract's section 6 (tokens,
credentials, settings, admin rights, accounts, the login throttle, the session limits, the flag)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Post, err, ok, strict_json, warnings_of
from seed_examples import SEED_CREATE
from tutorial_kit.server import EmulatorServer, services_path
from tutorial_kit.server import actions as server_actions

FLAG = "enablePermanentJsonApiSessions"


# --- error rows of section 6 -----------------------------------------------------------------------


def test_12031_unknown_token(ask: Callable[..., dict[str, Any]]) -> None:
    for action in ("describeSessions", "listSessions", "pingSession", "alterSession", "listServices",
                   "createAccount", "alterAccount", "dropAccount", "listAccounts"):
        answer = err(ask({"action": action, "authToken": "A" * 64}), 12031, "createSession")
        assert answer["authToken"] == "A" * 64


def test_12025_missing_credentials(ask: Callable[..., dict[str, Any]]) -> None:
    err(ask({"action": "createSession"}), 12025, '"username"')
    err(ask({"action": "createSession", "params": {"password": "ADMIN"}}), 12025, '"username"')
    err(ask({"action": "createSession", "params": {"username": "ADMIN"}}), 12025, '"password"')


def test_the_seeds_create_session_example_names_password_and_warns_about_the_duplicate(
    ask: Callable[..., dict[str, Any]],
) -> None:
    answer = err(ask(SEED_CREATE), 12025, '"password"', "repeats")
    duplicates = [w for w in warnings_of(answer) if '"username"' in w["message"]]  # default debug is max
    assert len(duplicates) == 1 and "more than once" in duplicates[0]["message"]
    assert answer["debugInfo"]["request"]["params"] == {"username": "CHANGE", "permanentSession": True}


def test_string_booleans_and_numbers_are_taken_with_a_warning(ask: Callable[..., dict[str, Any]]) -> None:
    # FairCom's own examples send "permanentSession": "true" (sources: action.createSession)
    login = {"username": "ADMIN", "password": "ADMIN"}
    refused = ask({"action": "createSession", "debug": "max", "params": {**login, "permanentSession": "true"}})
    err(refused, 12006, "enablePermanentJsonApiSessions")  # taken as true: the flag is off in this home
    assert any("JSON boolean" in w["message"] and w["code"] == 12012 for w in warnings_of(refused))
    answer = ok(ask({"action": "createSession", "debug": "max",
                     "params": {**login, "permanentSession": "False", "idleConnectionTimeoutSeconds": "60",
                                "defaultResponseOptions": {"includeBookmarks": "true"}}}))
    messages = [w["message"] for w in warnings_of(answer)]
    assert any('"False": taken as the JSON boolean false' in m for m in messages)
    assert any('"60": taken as the number 60' in m and "JSON number" in m for m in messages)
    assert answer["result"]["idleConnectionTimeoutSeconds"] == 60
    assert answer["result"]["defaultResponseOptions"]["includeBookmarks"] is True
    ok(ask({"action": "deleteSession", "authToken": answer["authToken"]}))


def test_12012_and_12034_for_settings(ask: Callable[..., dict[str, Any]]) -> None:
    login = {"username": "ADMIN", "password": "ADMIN"}
    err(ask({"action": "createSession", "params": {**login, "permanentSession": "yes"}}), 12012,
        "permanentSession", "true or false")
    err(ask({"action": "createSession", "params": {**login, "defaultApi": "sql"}}), 12012, "defaultApi", '"hub"')
    err(ask({"action": "createSession", "params": {**login, "idleConnectionTimeoutSeconds": -5}}), 12012,
        "idleConnectionTimeoutSeconds")
    err(ask({"action": "createSession", "params": {**login, "description": "x" * 65_501}}), 12034,
        "description", "65500")
    err(ask({"action": "createSession", "params": {**login, "defaultOwnerName": "o" * 65}}), 12034, "defaultOwnerName")
    err(ask({"action": "createSession", "params": {"username": 5, "password": "x"}}), 12012, "username")
    err(ask({"action": "createSession", "params": {"username": "ADMIN", "password": None}}), 12012, "password")


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("createSession", {"username": "a\ud800", "password": "x"}),
        ("createSession", {"username": "ADMIN", "password": "x", "description": "\udfff"}),
        ("createAccount", {"username": "\ud800", "password": "x"}),
        ("createAccount", {"username": "bob", "password": "\udc00"}),
        ("alterAccount", {"username": "\ud800", "password": "x"}),
        ("dropAccount", {"username": "\ud800"}),
    ],
)
def test_lone_surrogate_escapes_in_names_are_12012(ask: Callable[..., dict[str, Any]], admin_token: str, action: str,
                                                   params: dict[str, Any]) -> None:
    answer = ask({"action": action, "authToken": admin_token, "params": params})  # json.dumps writes \udXXX escapes
    err(answer, 12012, "lone surrogate")


def test_12009_internal_error_details_only_in_the_log(
    ask: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(backend: Any, ctx: Any) -> Any:
        raise ZeroDivisionError("kit-internal-detail-9137")

    spec = server_actions.ACTIONS["pingsession"]
    monkeypatch.setitem(server_actions.ACTIONS, "pingsession",
                        server_actions.ActionSpec(spec.name, boom, spec.token, spec.is_async))
    with caplog.at_level(logging.ERROR):
        for debug in ("none", "max"):
            answer = err(ask({"action": "pingSession", "requestId": 9, "debug": debug}), 12009, "log")
            text = json.dumps(answer)
            assert "kit-internal-detail-9137" not in text and "Traceback" not in text and "ZeroDivision" not in text
            assert answer["requestId"] == 9
    assert "kit-internal-detail-9137" in caplog.text
    assert "Traceback" in caplog.text and "ZeroDivisionError" in caplog.text
    monkeypatch.undo()
    ok(ask({"action": "pingSession"}))


def test_12030_admin_rights(call: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    admin = login(server)
    ok(call({"action": "createAccount", "authToken": admin, "params": {"username": "alice", "password": "pw-a"}})[1])
    ok(call({"action": "createAccount", "authToken": admin, "params": {"username": "bob", "password": "pw-b"}})[1])
    alice = login(server, "ALICE", "pw-a")
    for action, params in (("createAccount", {"username": "carol", "password": "x"}),
                           ("dropAccount", {"username": "bob"}), ("dropAccounts", {"usernames": ["bob"]}),
                           ("listAccounts", {}),
                           ("alterAccount", {"username": "bob", "password": "x"}),
                           ("alterAccount", {"username": "nobody", "password": "x"}),  # no hint that it does not exist
                           ("alterAccount", {"username": "alice", "lockoutAfterNFailedAttempts": 0}),
                           ("alterAccount", {"username": "alice", "disableDatetime": ""})):
        err(call({"action": action, "authToken": alice, "params": params})[1], 12030, "administrator", "ADMIN")
    # nothing changed: bob still logs in with his password
    login(server, "bob", "pw-b")
    # describeAccounts: one's own account by default; others' names are left out with a warning
    own = ok(call({"action": "describeAccounts", "authToken": alice})[1])["result"]["accounts"]
    assert [a["username"] for a in own] == ["alice"]
    answer = ok(call({"action": "describeAccounts", "authToken": alice, "debug": "max",
                      "params": {"usernames": ["bob", "ALICE"]}})[1])
    assert [a["username"] for a in answer["result"]["accounts"]] == ["alice"]
    assert [w["message"] for w in warnings_of(answer)] == ["usernames[0] matches no account you may see"]


def test_accounts_create_list_alter_drop(call: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    # FairCom's account actions (sources: action.createAccount, action.listAccounts, ...)
    admin = login(server)
    answer = ok(call({"action": "createAccount", "authToken": admin,
                      "params": {"username": "Alice", "password": "pw-a", "accountDescription": "learner"}})[1])
    assert answer["result"] == {}
    for name in ("alice", "ALICE", "admin"):
        err(call({"action": "createAccount", "authToken": admin, "params": {"username": name, "password": "x"}})[1],
            12020, name)
    err(
        call({"action": "createAccount", "authToken": admin, "params": {"username": "x" * 32, "password": "x"}})[1],
        12034,
    )
    err(call({"action": "createAccount", "authToken": admin, "params": {"password": "x"}})[1], 12025, '"username"')
    err(call({"action": "createAccount", "authToken": admin,
              "params": {"username": "carol", "password": "p" * 257}})[1], 12034, "password", "256")
    # the password is optional (default ""): such an account logs in with an empty password, and a warning says so
    answer = ok(
        call({"action": "createAccount", "authToken": admin, "debug": "max", "params": {"username": "carol"}})[1]
    )
    assert any("empty password" in w["message"] for w in warnings_of(answer))
    login(server, "carol", "")
    accounts = ok(call({"action": "listAccounts", "authToken": admin})[1])["result"]["accounts"]
    assert [a["username"] for a in accounts] == ["ADMIN", "Alice", "carol"]
    assert list(accounts[1]) == ["username", "accountDescription", "lockoutAfterNFailedAttempts",
                                 "maxDaysBeforePasswordMustChange", "maxMinutesBeforeNextLogin", "memoryLimit",
                                 "memoryRule", "roleNames", "lastPasswordChange"]
    assert accounts[1]["accountDescription"] == "learner" and accounts[1]["roleNames"] == []
    assert accounts[0]["roleNames"] == ["ADMIN"]
    partial = ok(call({"action": "listAccounts", "authToken": admin, "params": {"partialNames": ["AL", "adm"]}})[1])
    assert [a["username"] for a in partial["result"]["accounts"]] == ["ADMIN", "Alice"]
    for empty in ([], None):
        every = ok(call({"action": "listAccounts", "authToken": admin, "params": {"partialNames": empty}})[1])
        assert len(every["result"]["accounts"]) == 3

    # alterAccount names its target: an account changes its own password, the admin anyone's
    alice = login(server, "alice", "pw-a")
    assert ok(call({"action": "alterAccount", "authToken": alice,
                    "params": {"username": "alice", "password": "pw-a2"}})[1])["result"] == {}
    err(call({"action": "createSession", "params": {"username": "alice", "password": "pw-a"}})[1], 12033)
    login(server, "alice", "pw-a2")
    ok(call({"action": "alterAccount", "authToken": admin, "params": {"username": "ALICE", "password": "pw-a3"}})[1])
    login(server, "Alice", "pw-a3")
    err(
        call({"action": "alterAccount", "authToken": admin, "params": {"username": "nobody", "password": "x"}})[1],
        12012,
        "nobody",
    )
    err(call({"action": "alterAccount", "authToken": admin, "params": {"password": "x"}})[1], 12025, '"username"')
    # FairCom's minimal alterAccount names only the account: nothing changes
    ok(call({"action": "alterAccount", "authToken": admin, "params": {"username": "Alice"}})[1])
    login(server, "Alice", "pw-a3")
    ok(call({"action": "alterAccount", "authToken": admin,
             "params": {"username": "Alice", "accountDescription": "renamed"}})[1])
    described = ok(call({"action": "describeAccounts", "authToken": admin, "params": {"usernames": ["alice"]}})[1])
    assert described["result"]["accounts"][0]["accountDescription"] == "renamed"

    # dropAccounts (and dropAccount): ADMIN cannot go; a missing name is FairCom's documented warning
    err(
        call({"action": "dropAccounts", "authToken": admin, "params": {"usernames": ["carol", "admin"]}})[1],
        12012,
        "ADMIN",
    )
    login(server, "carol", "")  # nothing was dropped
    answer = ok(call({"action": "dropAccounts", "authToken": admin, "debug": "max",
                      "params": {"usernames": ["carol", "nobody"]}})[1])
    assert warnings_of(answer) == [{"code": 101, "message": "Not able to remove account [NOBODY] - ISAM error [0]"}]
    assert ok(call({"action": "dropAccount", "authToken": admin, "params": {"username": "aLiCe"}})[1])["result"] == {}
    err(call({"action": "pingSession", "authToken": alice})[1], 12031)
    err(call({"action": "createSession", "params": {"username": "alice", "password": "pw-a3"}})[1], 12033)
    assert ok(call({"action": "dropAccounts", "authToken": admin})[1])["result"] == {}  # usernames defaults to []
    ok(call({"action": "pingSession", "authToken": admin})[1])


def test_12033_wrong_credentials_and_the_throttle(call: Post, server: EmulatorServer, other_address: str) -> None:
    wrong_user = err(call({"action": "createSession", "params": {"username": "nobody", "password": "ADMIN"}})[1], 12033)
    wrong_pw = err(call({"action": "createSession", "params": {"username": "ADMIN", "password": "admin"}})[1], 12033)
    assert wrong_user["errorMessage"] == wrong_pw["errorMessage"]  # names cannot be probed
    for _ in range(4):  # 1 + 4 = the 5th failure blocks the pair
        err(call({"action": "createSession", "params": {"username": "admin", "password": "nope"}})[1], 12033, "wrong")
    for password in ("nope", "ADMIN"):
        err(call({"action": "createSession", "params": {"username": "ADMIN", "password": password}})[1], 12033,
            "blocked", "more second", "try again")
    # another address is not blocked
    with httpx.Client(transport=httpx.HTTPTransport(local_address=other_address), trust_env=False) as other:
        answer = strict_json(
            other.post(
                server.url, json={"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}}
            ).content
        )
    ok(answer)
    # another username from the blocked address is not blocked
    err(call({"action": "createSession", "params": {"username": "nobody", "password": "x"}})[1], 12033, "wrong")


def _limits_server(home: Path, **limits: int) -> EmulatorServer:
    srv = EmulatorServer(home, port=0).start()
    srv.stop()
    data = json.loads(services_path(home).read_text())
    data["jsonActionApiDefaults"].update(limits)
    services_path(home).write_text(json.dumps(data, indent=2))
    return srv.start()


@pytest.mark.parametrize(
    ("limits", "name"),
    [
        ({"maxJsonApiSessions": 2}, "maxJsonApiSessions"),
        ({"maxJsonApiSessionsPerIpAddress": 2}, "maxJsonApiSessionsPerIpAddress"),
        ({"maxJsonApiSessionsPerUsername": 2}, "maxJsonApiSessionsPerUsername"),
    ],
)
def test_12015_each_session_limit(home: Path, post: Post, login: Callable[..., str], other_address: str,
                                  limits: dict[str, int], name: str) -> None:
    srv = _limits_server(home, **limits)
    try:
        admin = login(srv)
        ok(
            post(srv, {"action": "createAccount", "authToken": admin, "params": {"username": "bob", "password": "pw"}})[
                1
            ]
        )
        second = login(srv)
        third = {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}}
        answer = err(post(srv, third)[1], 12015, name, "(2)", "deleteSession")
        assert "authToken" not in answer
        with httpx.Client(transport=httpx.HTTPTransport(local_address=other_address), trust_env=False) as other:
            from_other = strict_json(other.post(srv.url, json=third).content)
        bob = post(srv, {**third, "params": {"username": "bob", "password": "pw"}})[1]
        # only the limit that is set applies: another address, or another account, may still log in
        assert from_other["errorCode"] == (0 if name == "maxJsonApiSessionsPerIpAddress" else 12015), from_other
        assert bob["errorCode"] == (0 if name == "maxJsonApiSessionsPerUsername" else 12015), bob
        ok(post(srv, {"action": "deleteSession", "authToken": second})[1])
        ok(post(srv, third)[1])  # the freed slot can be used again, and then the limit holds again
        err(post(srv, third)[1], 12015, name)
    finally:
        srv.stop()


def test_12006_permanent_session_while_the_flag_is_off(call: Post) -> None:
    answer = err(
        call(
            {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}}
        )[1],
        12006,
        FLAG,
        "config/services.json",
        "jsonActionApiDefaults",
        "restart",
    )
    assert "authToken" not in answer
