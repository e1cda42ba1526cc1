"""The embedded server over real HTTP: sessions (the contract's section 4): the session object,
tokens, ping, describe/list, alter, delete, services, permanent sessions across restarts, idle
expiry, and the host uuid."""

from __future__ import annotations

import calendar
import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import Post, err, ok, warnings_of
from tutorial_kit.server import EmulatorServer

FLAG = "enablePermanentJsonApiSessions"

#: The contract's session object keys, in order (section 4, revision 2: FairCom's newest createSession page).
SESSION_KEYS = [
    "authToken", "username", "description", "defaultDatabaseName", "defaultOwnerName",
    "defaultBinaryFormat", "defaultVariantFormat", "defaultStringFormat", "defaultFixedLengthCharFormat",
    "defaultResponseOptions", "idleConnectionTimeoutSeconds", "idleCursorTimeoutSeconds", "defaultApi",
    "defaultDebug", "transformBufferInitialBytes", "permanentSession", "sessionStartTimestamp",
    "sessionLastAccessedTimestamp", "defaultRetentionPolicy", "defaultRetentionUnit",
    "defaultRetentionPeriod", "serverVersion", "hostname", "hostUuid", "hostIpAddresses",
    "hostServerNamePort", "hostSQLPort",
]
#: every documented response option, FairCom's defaults under the seed's jsonActionApiDefaults
FULL_OPTIONS = {"binaryFormat": "hex", "variantFormat": "json", "dataFormat": "objects", "numberFormat": "number",
                "stringFormat": "json", "fixedLengthCharFormat": "sql", "includeBookmarks": False}
TOKEN = re.compile(r"[A-Za-z0-9]{64}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --- sessions ---------------------------------------------------------------------------------------


def test_the_session_object(ask: Callable[..., dict[str, Any]]) -> None:
    before = time.time()
    answer = ok(ask({"action": "createSession", "debug": "none", "params": {"username": "admin", "password": "ADMIN"}}))
    after = time.time()
    session = answer["result"]
    try:
        assert list(session) == SESSION_KEYS
        assert session["authToken"] == answer["authToken"] and TOKEN.fullmatch(session["authToken"])
        assert session["username"] == "ADMIN"
        expected = {
            "description": "", "defaultDatabaseName": "faircom", "defaultOwnerName": "admin",
            "defaultBinaryFormat": "hex", "defaultVariantFormat": "json", "defaultStringFormat": "json",
            "defaultFixedLengthCharFormat": "sql", "defaultResponseOptions": FULL_OPTIONS,
            "idleConnectionTimeoutSeconds": 3600, "idleCursorTimeoutSeconds": 600, "defaultApi": "hub",
            "defaultDebug": "max", "transformBufferInitialBytes": 0, "permanentSession": False,
            "defaultRetentionPolicy": "autoPurge", "defaultRetentionUnit": "week", "defaultRetentionPeriod": 4,
            "hostname": socket.gethostname(), "hostIpAddresses": ["127.0.0.1"], "hostServerNamePort": "FAIRCOMS",
            "hostSQLPort": 6597,
        }
        assert {k: session[k] for k in expected} == expected
        assert list(session["defaultResponseOptions"]) == list(FULL_OPTIONS)
        assert "tutorial kit" in session["serverVersion"] and "not a FairCom server" in session["serverVersion"]
        assert UUID.fullmatch(session["hostUuid"])
        for key in ("sessionStartTimestamp", "sessionLastAccessedTimestamp"):
            assert TIMESTAMP.fullmatch(session[key])
            when = calendar.timegm(time.strptime(session[key], "%Y-%m-%dT%H:%M:%S"))  # UTC
            assert int(before) <= when <= after
    finally:
        ok(ask({"action": "deleteSession", "authToken": answer["authToken"]}))


def test_settings_given_at_create_session_are_used(ask: Callable[..., dict[str, Any]]) -> None:
    params = {"username": "ADMIN", "password": "ADMIN", "description": "notebook 1", "defaultApi": "db",
              "defaultDebug": "none", "defaultDatabaseName": "ctreeSQL", "defaultOwnerName": "me",
              "defaultBinaryFormat": "base64", "defaultVariantFormat": "string",
              "defaultResponseOptions": {"dataFormat": "arrays"}, "idleConnectionTimeoutSeconds": 0,
              "idleCursorTimeoutSeconds": 5}
    answer = ok(ask({"action": "createSession", "params": params, "debug": "max"}))
    try:
        session = answer["result"]
        expected = {k: v for k, v in params.items() if k not in ("username", "password")}
        # response options given replace only those options; the rest come from the defaults
        expected["defaultResponseOptions"] = {**FULL_OPTIONS, "dataFormat": "arrays"}
        assert {k: session[k] for k in expected} == expected
        assert warnings_of(answer) == []
        unknown = ok(ask({"action": "createSession", "debug": "max",
                          "params": {"username": "ADMIN", "password": "ADMIN", "colour": "red"}}))
        assert any("params.colour" in w["message"] for w in warnings_of(unknown))
        ok(ask({"action": "deleteSession", "authToken": unknown["authToken"]}))
    finally:
        ok(ask({"action": "deleteSession", "authToken": answer["authToken"]}))


def test_tokens_are_64_alphanumerics_and_all_different(ask: Callable[..., dict[str, Any]]) -> None:
    tokens = [
        ok(ask({"action": "createSession", "debug": "none", "params": {"username": "ADMIN", "password": "ADMIN"}}))[
            "authToken"
        ]
        for _ in range(8)
    ]
    assert all(TOKEN.fullmatch(t) for t in tokens)
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        ok(ask({"action": "deleteSession", "authToken": token}))


def test_ping_session(ask: Callable[..., dict[str, Any]], admin_token: str) -> None:
    assert ok(ask({"action": "pingSession", "debug": "none"})) == {"result": {}, "errorCode": 0, "errorMessage": ""}
    assert ok(ask({"action": "pingSession", "authToken": admin_token, "debug": "none"}))["authToken"] == admin_token
    err(ask({"action": "pingSession", "authToken": "no-such-token"}), 12031, "createSession")


def test_describe_and_list_sessions_visibility_and_order(
    call: Post, server: EmulatorServer, login: Callable[..., str]
) -> None:
    admin1 = login(server, description="first")
    ok(call({"action": "createAccount", "authToken": admin1, "params": {"username": "alice", "password": "pw"}})[1])
    alice = login(server, "alice", "pw", description="alice's")
    admin2 = login(server, "ADMIN", "ADMIN", description="third")

    def describe(token: str, **params: Any) -> dict[str, Any]:
        return ok(call({"action": "describeSessions", "authToken": token, "params": params, "debug": "max"})[1])

    everything = describe(admin1)
    assert [s["authToken"] for s in everything["result"]["sessions"]] == [admin1, alice, admin2]
    assert all(list(s) == SESSION_KEYS for s in everything["result"]["sessions"])
    assert [s["username"] for s in everything["result"]["sessions"]] == ["ADMIN", "alice", "ADMIN"]
    assert [s["authToken"] for s in describe(alice)["result"]["sessions"]] == [alice]

    listed = describe(admin1, authTokens=[admin2, "unknown-token", admin1])
    assert [s["authToken"] for s in listed["result"]["sessions"]] == [admin2, admin1]
    assert [w["code"] for w in warnings_of(listed)] == [12031] and "authTokens[1]" in warnings_of(listed)[0]["message"]
    hidden = describe(alice, authTokens=[admin1, alice])
    assert [s["authToken"] for s in hidden["result"]["sessions"]] == [alice]
    assert len(warnings_of(hidden)) == 1 and admin1 not in json.dumps(hidden["debugInfo"]["warnings"])
    # FairCom documents authTokens' default as []: an empty array is no filter
    assert [s["authToken"] for s in describe(admin1, authTokens=[])["result"]["sessions"]] == [admin1, alice, admin2]
    err(
        call({"action": "describeSessions", "authToken": admin1, "params": {"authTokens": [1]}})[1], 12012, "authTokens"
    )

    def list_sessions(token: str, **params: Any) -> list[dict[str, Any]]:
        return ok(call({"action": "listSessions", "authToken": token, "params": params})[1])["result"]["sessions"]

    sessions = list_sessions(admin2)
    assert sessions == [
        {"username": "ADMIN", "description": "first", "authToken": admin1},
        {"username": "alice", "description": "alice's", "authToken": alice},
        {"username": "ADMIN", "description": "third", "authToken": admin2},
    ]
    assert list(sessions[0]) == ["username", "description", "authToken"]  # the newest FairCom page's order
    assert [s["authToken"] for s in list_sessions(alice)] == [alice]
    assert [s["authToken"] for s in list_sessions(admin1, usernameFilter=["ALICE"])] == [alice]
    assert [s["authToken"] for s in list_sessions(admin1, usernameFilter=["admin"])] == [admin1, admin2]
    assert len(list_sessions(admin1, usernameFilter=[])) == 3  # the documented default []: no filter
    assert list_sessions(alice, usernameFilter=["ADMIN"]) == []
    err(
        call({"action": "listSessions", "authToken": admin1, "params": {"usernameFilter": "ADMIN"}})[1],
        12012,
        "usernameFilter",
    )


def test_alter_session(
    call: Post, server: EmulatorServer, login: Callable[..., str], enable_permanent: Callable[..., Any], home: Path
) -> None:
    token = login(server)
    answer = ok(call({"action": "alterSession", "authToken": token, "debug": "none",
                      "params": {"description": "changed", "defaultDebug": "none", "idleConnectionTimeoutSeconds": 30,
                                 "defaultResponseOptions": {"numberFormat": "string"}}})[1])
    session = answer["result"]
    assert list(session) == SESSION_KEYS and session["authToken"] == token
    assert (session["description"], session["defaultDebug"], session["idleConnectionTimeoutSeconds"]) == (
        "changed",
        "none",
        30,
    )
    assert session["defaultResponseOptions"] == {**FULL_OPTIONS, "numberFormat": "string"}
    described = ok(call({"action": "describeSessions", "authToken": token})[1])
    assert "debugInfo" not in described  # the session's defaultDebug is now none
    assert described["result"]["sessions"][0]["description"] == "changed"
    for prop, value in (("username", "bob"), ("password", "x"), ("permanentSession", True)):
        err(call({"action": "alterSession", "authToken": token, "params": {prop: value}})[1], 12012, prop,
            "create a new session")
    err(call({"action": "alterSession", "authToken": token, "params": {"defaultApi": "nope"}})[1], 12012, "defaultApi")
    unchanged = ok(call({"action": "describeSessions", "authToken": token})[1])["result"]["sessions"][0]
    assert unchanged["defaultApi"] == "hub" and unchanged["description"] == "changed"

    enable_permanent(home, server)
    permanent = login(server, permanentSession=True)
    err(call({"action": "alterSession", "authToken": permanent, "params": {"idleConnectionTimeoutSeconds": 5}})[1],
        12012, "idleConnectionTimeoutSeconds", "permanent")
    altered = ok(call({"action": "alterSession", "authToken": permanent, "params": {"description": "key"}})[1])[
        "result"
    ]
    assert altered["idleConnectionTimeoutSeconds"] == -1 and altered["description"] == "key"
    server.restart()
    again = ok(call({"action": "describeSessions", "authToken": permanent})[1])["result"]["sessions"]
    assert [(s["description"], s["permanentSession"]) for s in again] == [("key", True)]  # altered settings were stored


def test_delete_session(call: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    token = login(server)
    answer = ok(call({"action": "deleteSession", "authToken": token, "debug": "none"})[1])
    assert answer == {"authToken": token, "result": {}, "errorCode": 0, "errorMessage": ""}
    err(call({"action": "pingSession", "authToken": token})[1], 12031)
    for _ in range(2):  # deleting twice, or an unknown token, is not an error
        again = ok(call({"action": "deleteSession", "authToken": token, "debug": "max"})[1])
        assert [w["code"] for w in warnings_of(again)] == [12031]
    err(call({"action": "deleteSession"})[1], 12025, '"authToken"')


def test_list_services(call: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    answer = ok(call({"action": "listServices"})[1])
    assert list(answer["result"]) == ["listeners", "jsonActionApiDefaults"]
    listeners = answer["result"]["listeners"]
    assert [item["serviceName"] for item in listeners] == ["http8080", "https8443"]
    assert all("tls" not in item for item in listeners)
    assert answer["result"]["jsonActionApiDefaults"]["defaultApi"] == "hub"
    assert FLAG not in answer["result"]["jsonActionApiDefaults"]
    token = login(server)
    shown = ok(call({"action": "listServices", "authToken": token})[1])["result"]["listeners"]
    assert shown[1]["tls"] == {"certificateFilename": "./web/fccert.pem"}
    err(call({"action": "listServices", "authToken": "bogus"})[1], 12031)


def test_services_json_is_read_only_at_start(
    call: Post, server: EmulatorServer, home: Path, set_defaults: Callable[..., None], login: Callable[..., str]
) -> None:
    set_defaults(home, enablePermanentJsonApiSessions=True, defaultApi="db")
    permanent = {
        "action": "createSession",
        "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True},
    }
    err(call(permanent)[1], 12006, "restart")
    defaults = ok(call({"action": "listServices"})[1])["result"]["jsonActionApiDefaults"]
    assert FLAG not in defaults and defaults["defaultApi"] == "hub"
    assert (
        ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1])["result"][
            "defaultApi"
        ]
        == "hub"
    )
    server.restart()
    defaults = ok(call({"action": "listServices"})[1])["result"]["jsonActionApiDefaults"]
    assert defaults[FLAG] is True and defaults["defaultApi"] == "db"
    session = ok(call(permanent)[1])["result"]
    assert session["permanentSession"] is True and session["idleConnectionTimeoutSeconds"] == -1
    assert session["defaultApi"] == "db"


def test_permanent_session_survives_restart_and_flag_off(
    call: Post,
    server: EmulatorServer,
    home: Path,
    enable_permanent: Callable[..., Any],
    set_defaults: Callable[..., None],
    login: Callable[..., str],
) -> None:
    host_uuid = ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1])[
        "result"
    ]["hostUuid"]
    temporary = login(server)
    enable_permanent(home, server)
    err(call({"action": "pingSession", "authToken": temporary})[1], 12031)  # restart ended it
    answer = ok(
        call(
            {
                "action": "createSession",
                "params": {
                    "username": "ADMIN",
                    "password": "ADMIN",
                    "permanentSession": True,
                    "idleConnectionTimeoutSeconds": 5,
                },
                "debug": "max",
            }
        )[1]
    )
    key = answer["authToken"]
    assert answer["result"]["permanentSession"] is True and answer["result"]["idleConnectionTimeoutSeconds"] == -1
    assert answer["result"]["hostUuid"] == host_uuid
    assert any("idleConnectionTimeoutSeconds" in w["message"] for w in warnings_of(answer))
    # new defaults in services.json do not change an existing session's settings
    set_defaults(home, enablePermanentJsonApiSessions=False, defaultApi="db", defaultDatabaseName="other")
    server.restart()
    session = ok(call({"action": "describeSessions", "authToken": key, "params": {"authTokens": [key]}})[1])["result"][
        "sessions"
    ][0]
    assert (session["permanentSession"], session["idleConnectionTimeoutSeconds"], session["hostUuid"]) == (
        True,
        -1,
        host_uuid,
    )
    assert session["sessionStartTimestamp"] == answer["result"]["sessionStartTimestamp"]
    assert {k: v for k, v in session.items() if k != "sessionLastAccessedTimestamp"} == {
        k: v for k, v in answer["result"].items() if k != "sessionLastAccessedTimestamp"}
    err(
        call(
            {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}}
        )[1],
        12006,
    )
    # revoking the API key
    ok(call({"action": "deleteSession", "authToken": key})[1])
    server.restart()
    err(call({"action": "pingSession", "authToken": key})[1], 12031)


def test_drop_account_ends_every_session_of_it(call: Post, server: EmulatorServer, home: Path,
                                              enable_permanent: Callable[..., Any], login: Callable[..., str]) -> None:
    enable_permanent(home, server)
    admin = login(server)
    ok(call({"action": "createAccount", "authToken": admin, "params": {"username": "alice", "password": "pw"}})[1])
    temporary = login(server, "alice", "pw")
    permanent = login(server, "ALICE", "pw", permanentSession=True)
    admin_key = login(server, permanentSession=True)
    ok(call({"action": "dropAccount", "authToken": admin, "params": {"username": "alice"}})[1])
    for token in (temporary, permanent):
        err(call({"action": "pingSession", "authToken": token})[1], 12031)
    server.restart()
    err(call({"action": "pingSession", "authToken": permanent})[1], 12031)
    ok(call({"action": "pingSession", "authToken": admin_key})[1])
    # the name is free again, and the new account has no sessions
    ok(call({"action": "createAccount", "authToken": admin_key, "params": {"username": "alice", "password": "pw2"}})[1])
    listed = ok(call({"action": "listSessions", "authToken": admin_key, "params": {"usernameFilter": ["alice"]}})[1])
    assert listed["result"]["sessions"] == []


def test_idle_expiry(call: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    short = login(server, idleConnectionTimeoutSeconds=1)
    forever = login(server, idleConnectionTimeoutSeconds=0)
    time.sleep(1.5)
    err(call({"action": "pingSession", "authToken": short})[1], 12031)
    sessions = ok(call({"action": "listSessions", "authToken": forever})[1])["result"]["sessions"]
    assert [s["authToken"] for s in sessions] == [forever]


def test_host_uuid_is_stable_across_restarts(call: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    first = ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1])["result"][
        "hostUuid"
    ]
    server.restart()
    second = ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1])["result"][
        "hostUuid"
    ]
    assert first == second and UUID.fullmatch(first)
