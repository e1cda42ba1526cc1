"""The embedded server over real HTTP: every action, every error row of the contract's section 6,
the envelope rules of section 2, sessions (section 4) and services.json (section 5)."""

from __future__ import annotations

import calendar
import json
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import strict_json
from tutorial_kit import ConfigFileError
from tutorial_kit.server import EmulatorServer, services_path
from tutorial_kit.server import actions as server_actions

Post = Callable[..., tuple[int, Any]]
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

#: The seed's createSession example, as printed: "username" twice and no "password".
SEED_CREATE_SESSION = """{
  "api": "admin",
  "action": "createSession",
  "params": {
    "username": "CHANGE",
    "username": "CHANGE",
    "permanentSession": true
  }
}"""


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["errorCode"] == 0 and answer["errorMessage"] == "", answer
    return answer


def err(answer: dict[str, Any], code: int, *fragments: str) -> dict[str, Any]:
    assert answer["errorCode"] == code, answer
    for fragment in fragments:
        assert fragment in answer["errorMessage"], (fragment, answer["errorMessage"])
    assert "result" not in answer
    return answer


def warnings_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return answer["debugInfo"]["warnings"]


# --- a shared server for tests that only read, or only add sessions of their own -----------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    srv = EmulatorServer(tmp_path_factory.mktemp("shared-home"), port=0).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False) as c:
        yield c


@pytest.fixture(scope="module")
def admin_token(shared: EmulatorServer, client: httpx.Client) -> str:
    answer = client.post(shared.url, json={"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})
    return ok(strict_json(answer.content))["authToken"]


@pytest.fixture
def ask(shared: EmulatorServer, client: httpx.Client) -> Callable[..., dict[str, Any]]:
    """POST to the shared server; returns the parsed answer (asserting HTTP 200)."""

    def _ask(body: Any, path: str = "/api", **headers: str) -> dict[str, Any]:
        content = body if isinstance(body, (bytes, str)) else json.dumps(body)
        response = client.post(shared.url.replace("/api", path), content=content, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        return strict_json(response.content)

    return _ask


def raw(client: httpx.Client, url: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(url, content=content)


# --- transport -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/admin", "/api/db", "/api/hub", "/api/v1/action", "/api?x=1"])
def test_post_on_every_api_path_routes_on_the_body(ask: Callable[..., dict[str, Any]], path: str) -> None:
    answer = ok(ask({"api": "admin", "action": "pingSession", "requestId": path, "debug": "none"}, path))
    assert answer == {"result": {}, "requestId": path, "errorCode": 0, "errorMessage": ""}


def test_a_path_outside_api_is_not_served(shared: EmulatorServer, client: httpx.Client) -> None:
    for path in ("/apix", "/", "/other/api"):
        response = client.post(shared.url.replace("/api", path), content=b'{"action": "pingSession"}')
        assert response.status_code == 404, path


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml"])
def test_content_type_is_ignored(ask: Callable[..., dict[str, Any]], content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    ok(ask('{"action": "pingSession", "params": {"a": "b=c&d"}}', **headers))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_405_with_an_envelope(shared: EmulatorServer, client: httpx.Client, method: str) -> None:
    for path in ("/api", "/api/admin"):
        response = client.request(method, shared.url.replace("/api", path))
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        answer = strict_json(response.content)
        err(answer, 12006, "POST", "JSON")
        assert list(answer)[-2:] == ["errorCode", "errorMessage"]


def test_head_gets_405(shared: EmulatorServer, client: httpx.Client) -> None:
    assert client.head(shared.url).status_code == 405


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (b"", ("empty",)),
        (b"   ", ("empty",)),
        (b"{", ("line 1, column 2",)),
        (b'{\n  "action": "pingSession"\n  "debug": "none"\n}', ("line 3, column 3", "','")),
        (b'{"action" "pingSession"}', ('":" is missing', '"action"')),
        (b"[1, 2]", ("JSON object", "array")),
        (b'"pingSession"', ("JSON object",)),
        (b"null", ("JSON object",)),
        (b"\xff\xfe{}", ("UTF-8",)),
        (b'{"action": NaN}', ("NaN",)),
        (b'{"action": "pingSession", "requestId": 1e999}', ("too large",)),
    ],
)
def test_bodies_that_are_not_a_json_object_get_12012_saying_where(ask: Callable[..., dict[str, Any]], body: bytes,
                                                                  fragments: tuple[str, ...]) -> None:
    err(ask(body), 12012, *fragments)


# --- the envelope --------------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["abc", "", 42, -7, 0, 2**70, 1.5, -0.25, None, True, False,
                                        [1, "two", None, [3]], {"a": {"b": [1, 2]}, "c": None}, [], {}])
@pytest.mark.parametrize("debug", ["none", "max"])
def test_request_id_is_echoed_unchanged(ask: Callable[..., dict[str, Any]], request_id: Any, debug: str) -> None:
    answer = ok(ask({"action": "pingSession", "requestId": request_id, "debug": debug}))
    assert "requestId" in answer
    assert answer["requestId"] == request_id and type(answer["requestId"]) is type(request_id)
    err_answer = ask({"action": "noSuchAction", "requestId": request_id, "debug": debug})
    assert err_answer["errorCode"] == 12008 and err_answer["requestId"] == request_id


def test_no_request_id_key_when_the_request_had_none(ask: Callable[..., dict[str, Any]]) -> None:
    assert "requestId" not in ask({"action": "pingSession", "debug": "max"})


def test_response_key_order_success_and_error(ask: Callable[..., dict[str, Any]], admin_token: str) -> None:
    full = ["authToken", "result", "requestId", "debugInfo", "errorCode", "errorMessage"]
    for debug in ("max", "min"):
        answer = ok(ask({"action": "pingSession", "authToken": admin_token, "requestId": 1, "debug": debug}))
        assert list(answer) == full
        answer = ask({"action": "describeSessions", "authToken": admin_token, "requestId": 1, "debug": debug,
                      "params": {"authTokens": "x"}})
        err(answer, 12012, "authTokens")
        assert list(answer) == [k for k in full if k != "result"]
    answer = ok(ask({"action": "pingSession", "authToken": admin_token, "debug": "none"}))
    assert list(answer) == ["authToken", "result", "errorCode", "errorMessage"]
    answer = ask({"action": "pingSession", "authToken": "x", "debug": "none"})
    assert list(answer) == ["authToken", "errorCode", "errorMessage"] and answer["errorCode"] == 12031
    answer = ok(ask({"action": "pingSession", "debug": "none"}))
    assert list(answer) == ["result", "errorCode", "errorMessage"]


def test_create_session_answer_has_the_new_token_first(ask: Callable[..., dict[str, Any]]) -> None:
    answer = ok(ask({"action": "createSession", "requestId": "r", "debug": "max",
                     "params": {"username": "ADMIN", "password": "ADMIN"}}))
    assert list(answer) == ["authToken", "result", "requestId", "debugInfo", "errorCode", "errorMessage"]
    assert answer["authToken"] == answer["result"]["authToken"]
    ok(ask({"action": "deleteSession", "authToken": answer["authToken"]}))


def test_debug_none_is_compact_and_has_no_debug_info(shared: EmulatorServer, client: httpx.Client) -> None:
    response = raw(client, shared.url, {"action": "pingSession", "debug": "none"})
    assert response.text == '{"result":{},"errorCode":0,"errorMessage":""}'


def test_debug_min_is_pretty_without_the_request_copy(shared: EmulatorServer, client: httpx.Client) -> None:
    # FairCom: the answer is pretty-printed unless debug is "none" (sources: fact.debug_modes)
    for debug in ("min", "MIN", "Min"):
        response = raw(client, shared.url, {"action": "pingSession", "debug": debug})
        answer = strict_json(response.content)
        assert response.text == json.dumps(answer, indent=2)
        assert list(answer["debugInfo"]) == ["serverSuppliedValues", "errorData", "warnings"]
        assert answer["debugInfo"]["serverSuppliedValues"] == {"api": "admin", "apiVersion": "1.0"}
        assert answer["debugInfo"]["errorData"] == {} and answer["debugInfo"]["warnings"] == []


def test_debug_max_is_pretty_printed_with_the_request_copy(shared: EmulatorServer, client: httpx.Client) -> None:
    request = {"api": "admin", "action": "pingSession", "debug": "MaX", "apiVersion": "1.0", "requestId": [1, {"x": "é"}]}
    response = raw(client, shared.url, request)
    answer = strict_json(response.content)
    assert response.text == json.dumps(answer, indent=2)
    assert response.text.startswith('{\n  "result": {},\n  "requestId": [\n    1,')
    assert list(answer["debugInfo"]) == ["request", "serverSuppliedValues", "errorData", "warnings"]
    assert answer["debugInfo"]["request"] == request
    assert answer["debugInfo"]["serverSuppliedValues"] == {}


def test_debug_max_on_error_only_shows_on_errors(shared: EmulatorServer, client: httpx.Client) -> None:
    for debug in ("maxOnError", "MAXONERROR"):
        response = raw(client, shared.url, {"action": "pingSession", "debug": debug})
        assert response.text == '{"result":{},"errorCode":0,"errorMessage":""}'
        request = {"action": "pingSession", "debug": debug, "authToken": "nope"}
        response = raw(client, shared.url, request)
        answer = strict_json(response.content)
        assert response.text == json.dumps(answer, indent=2)
        assert answer["debugInfo"]["request"] == request and answer["errorCode"] == 12031


def test_debug_default_is_the_servers_and_then_the_sessions(ask: Callable[..., dict[str, Any]]) -> None:
    answer = ok(ask({"action": "pingSession"}))
    assert answer["debugInfo"]["serverSuppliedValues"]["debug"] == "max"  # jsonActionApiDefaults
    token = ok(ask({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN", "defaultDebug": "none"}}))["authToken"]
    try:
        assert "debugInfo" not in ok(ask({"action": "pingSession", "authToken": token}))
        assert "debugInfo" in ok(ask({"action": "pingSession", "authToken": token, "debug": "max"}))
        # errors of a request with a valid token follow the session's default too
        failed = ask({"action": "alterSession", "authToken": token, "params": {"defaultApi": "sql"}})
        assert failed["errorCode"] == 12012 and "debugInfo" not in failed
        assert "debugInfo" in ask({"action": "alterSession", "authToken": token, "debug": "maxOnError",
                                   "params": {"defaultApi": "sql"}})
    finally:
        ok(ask({"action": "deleteSession", "authToken": token}))


@pytest.mark.parametrize("debug", ["verbose", "", 1, True, ["max"]])
def test_an_unknown_debug_value_is_12012(ask: Callable[..., dict[str, Any]], debug: Any) -> None:
    err(ask({"action": "pingSession", "debug": debug}), 12012, "debug", '"maxOnError"')


def test_debug_null_is_none(shared: EmulatorServer, client: httpx.Client) -> None:
    # FairCom: "none" is the same as leaving debug out or setting it to null (sources: fact.debug_modes)
    response = raw(client, shared.url, {"action": "pingSession", "debug": None})
    assert response.text == '{"result":{},"errorCode":0,"errorMessage":""}'


def test_passwords_are_masked_in_the_request_copy(shared: EmulatorServer, client: httpx.Client, admin_token: str) -> None:
    requests = [
        {"action": "createSession", "debug": "max", "params": {"username": "ADMIN", "password": "ADMIN"}},
        {"action": "createSession", "debug": "max", "params": {"username": "ADMIN", "password": "Wr0ngPassw0rd"}},
        {"action": "createAccount", "debug": "max", "authToken": admin_token,
         "params": {"username": "masked", "password": "Sup3rSecret"}},
        {"action": "alterAccount", "debug": "max", "authToken": admin_token,
         "params": {"username": "masked", "password": "N3wSecret", "nested": [{"Password": "Deep1"}]}},
    ]
    for request in requests:
        response = raw(client, shared.url, request)
        answer = strict_json(response.content)
        assert answer["debugInfo"]["request"]["params"]["password"] == "********"
        for secret in ("Wr0ngPassw0rd", "Sup3rSecret", "N3wSecret", "Deep1"):
            assert secret not in response.text
        if answer.get("authToken") and answer["authToken"] != admin_token:
            ok(strict_json(raw(client, shared.url, {"action": "deleteSession", "authToken": answer["authToken"]}).content))
    ok(strict_json(raw(client, shared.url, {"action": "dropAccount", "authToken": admin_token, "params": {"username": "masked"}}).content))


def test_unknown_top_level_properties_are_warnings_when_debug_is_on(ask: Callable[..., dict[str, Any]]) -> None:
    request = {"schema": "jsonCommand.org/v1", "action": "pingSession", "extra": 1}
    for debug in ("min", "max"):
        answer = ok(ask({**request, "debug": debug}))
        messages = [w["message"] for w in warnings_of(answer)]
        assert len(messages) == 2 and '"schema"' in messages[0] and '"extra"' in messages[1]
        assert all(isinstance(w["code"], int) for w in warnings_of(answer))
    assert "debugInfo" not in ok(ask({**request, "debug": "none"}))


def test_repeated_keys_are_warnings(ask: Callable[..., dict[str, Any]]) -> None:
    answer = ok(ask('{"action": "createSession", "action": "pingSession", "debug": "min", "params": {"a": 1, "a": 2}}'))
    messages = " ".join(w["message"] for w in warnings_of(answer))
    assert '"action"' in messages and '"a"' in messages and "last" in messages


@pytest.mark.parametrize("action", ["pingsession", "PINGSESSION", "PingSession", "pingSession"])
def test_action_names_ignore_case(ask: Callable[..., dict[str, Any]], action: str) -> None:
    ok(ask({"action": action}))


def test_api_defaults_to_admin_and_other_apis_are_12013(ask: Callable[..., dict[str, Any]]) -> None:
    answer = ok(ask({"action": "pingSession", "debug": "max"}))
    assert answer["debugInfo"]["serverSuppliedValues"]["api"] == "admin"
    answer = ok(ask({"api": "admin", "action": "pingSession", "debug": "max"}))
    assert "api" not in answer["debugInfo"]["serverSuppliedValues"]
    ok(ask({"api": "ADMIN", "action": "pingSession"}))
    for default in ("", None):  # FairCom's default api is "", which is the admin api here
        answer = ok(ask({"api": default, "action": "pingSession", "debug": "max"}))
        assert answer["debugInfo"]["serverSuppliedValues"]["api"] == "admin"
    for api in ("db", "hub", 5, ["admin"]):
        err(ask({"api": api, "action": "pingSession"}), 12013, '"admin"')


def test_missing_or_unknown_action(ask: Callable[..., dict[str, Any]]) -> None:
    err(ask({"api": "admin"}), 12025, '"action"')
    err(ask({"api": "admin", "params": {}}), 12025, '"action"')
    err(ask({"action": 5}), 12012, "action")
    err(ask({"action": None}), 12012, "action")
    err(ask({"action": "createSesion"}), 12008, '"createSesion"', 'did you mean "createSession"')
    answer = err(ask({"action": "frobnicate"}), 12008, "pingSession")
    assert "did you mean" not in answer["errorMessage"]


@pytest.mark.parametrize("params", ["absent", {}, None])
def test_params_absent_empty_or_null(ask: Callable[..., dict[str, Any]], admin_token: str, params: Any) -> None:
    for action in ("pingSession", "describeSessions", "listSessions", "listServices"):
        request: dict[str, Any] = {"action": action, "authToken": admin_token}
        if params != "absent":
            request["params"] = params
        ok(ask(request))


@pytest.mark.parametrize("params", [[], "x", 1, True])
def test_params_that_are_not_an_object_are_12012(ask: Callable[..., dict[str, Any]], params: Any) -> None:
    err(ask({"action": "pingSession", "params": params}), 12012, "params")


def test_other_envelope_properties_are_type_checked(ask: Callable[..., dict[str, Any]]) -> None:
    ok(ask({"action": "pingSession", "apiVersion": "1.0", "responseOptions": {}}))
    ok(ask({"action": "pingSession", "responseOptions": None}))
    answer = ok(ask({"action": "pingSession", "debug": "max"}))
    assert answer["debugInfo"]["serverSuppliedValues"]["apiVersion"] == "1.0"
    err(ask({"action": "pingSession", "apiVersion": 1}), 12012, "apiVersion")
    err(ask({"action": "pingSession", "responseOptions": []}), 12012, "responseOptions")
    err(ask({"action": "pingSession", "authToken": 5}), 12012, "authToken")


def test_empty_auth_token_counts_as_absent(ask: Callable[..., dict[str, Any]]) -> None:
    answer = ok(ask({"action": "pingSession", "authToken": "", "debug": "none"}))
    assert "authToken" not in answer
    for action in ("describeSessions", "listSessions", "alterSession", "deleteSession", "listAccounts"):
        err(ask({"action": action, "authToken": ""}), 12025, '"authToken"')
    listeners = ok(ask({"action": "listServices", "authToken": ""}))["result"]["listeners"]
    assert all("tls" not in item for item in listeners)


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


def test_the_seeds_create_session_example_names_password_and_warns_about_the_duplicate(ask: Callable[..., dict[str, Any]]) -> None:
    answer = err(ask(SEED_CREATE_SESSION), 12025, '"password"', "repeats")
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


def test_12009_internal_error_details_only_in_the_log(ask: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
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
    err(call({"action": "createAccount", "authToken": admin, "params": {"username": "x" * 32, "password": "x"}})[1], 12034)
    err(call({"action": "createAccount", "authToken": admin, "params": {"password": "x"}})[1], 12025, '"username"')
    err(call({"action": "createAccount", "authToken": admin,
              "params": {"username": "carol", "password": "p" * 257}})[1], 12034, "password", "256")
    # the password is optional (default ""): such an account logs in with an empty password, and a warning says so
    answer = ok(call({"action": "createAccount", "authToken": admin, "debug": "max", "params": {"username": "carol"}})[1])
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
    err(call({"action": "alterAccount", "authToken": admin, "params": {"username": "nobody", "password": "x"}})[1], 12012, "nobody")
    err(call({"action": "alterAccount", "authToken": admin, "params": {"password": "x"}})[1], 12025, '"username"')
    # FairCom's minimal alterAccount names only the account: nothing changes
    ok(call({"action": "alterAccount", "authToken": admin, "params": {"username": "Alice"}})[1])
    login(server, "Alice", "pw-a3")
    ok(call({"action": "alterAccount", "authToken": admin,
             "params": {"username": "Alice", "accountDescription": "renamed"}})[1])
    described = ok(call({"action": "describeAccounts", "authToken": admin, "params": {"usernames": ["alice"]}})[1])
    assert described["result"]["accounts"][0]["accountDescription"] == "renamed"

    # dropAccounts (and dropAccount): ADMIN cannot go; a missing name is FairCom's documented warning
    err(call({"action": "dropAccounts", "authToken": admin, "params": {"usernames": ["carol", "admin"]}})[1], 12012, "ADMIN")
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
        answer = strict_json(other.post(server.url, json={"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}}).content)
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
        ok(post(srv, {"action": "createAccount", "authToken": admin, "params": {"username": "bob", "password": "pw"}})[1])
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
    answer = err(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}})[1],
                 12006, FLAG, "config/services.json", "jsonActionApiDefaults", "restart")
    assert "authToken" not in answer


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
    tokens = [ok(ask({"action": "createSession", "debug": "none", "params": {"username": "ADMIN", "password": "ADMIN"}}))["authToken"]
              for _ in range(8)]
    assert all(TOKEN.fullmatch(t) for t in tokens)
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        ok(ask({"action": "deleteSession", "authToken": token}))


def test_ping_session(ask: Callable[..., dict[str, Any]], admin_token: str) -> None:
    assert ok(ask({"action": "pingSession", "debug": "none"})) == {"result": {}, "errorCode": 0, "errorMessage": ""}
    assert ok(ask({"action": "pingSession", "authToken": admin_token, "debug": "none"}))["authToken"] == admin_token
    err(ask({"action": "pingSession", "authToken": "no-such-token"}), 12031, "createSession")


def test_describe_and_list_sessions_visibility_and_order(call: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
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
    err(call({"action": "describeSessions", "authToken": admin1, "params": {"authTokens": [1]}})[1], 12012, "authTokens")

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
    err(call({"action": "listSessions", "authToken": admin1, "params": {"usernameFilter": "ADMIN"}})[1], 12012, "usernameFilter")


def test_alter_session(call: Post, server: EmulatorServer, login: Callable[..., str], enable_permanent: Callable[..., Any],
                       home: Path) -> None:
    token = login(server)
    answer = ok(call({"action": "alterSession", "authToken": token, "debug": "none",
                      "params": {"description": "changed", "defaultDebug": "none", "idleConnectionTimeoutSeconds": 30,
                                 "defaultResponseOptions": {"numberFormat": "string"}}})[1])
    session = answer["result"]
    assert list(session) == SESSION_KEYS and session["authToken"] == token
    assert (session["description"], session["defaultDebug"], session["idleConnectionTimeoutSeconds"]) == ("changed", "none", 30)
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
    altered = ok(call({"action": "alterSession", "authToken": permanent, "params": {"description": "key"}})[1])["result"]
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


def test_services_json_is_read_only_at_start(call: Post, server: EmulatorServer, home: Path, set_defaults: Callable[..., None],
                                             login: Callable[..., str]) -> None:
    set_defaults(home, enablePermanentJsonApiSessions=True, defaultApi="db")
    permanent = {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}}
    err(call(permanent)[1], 12006, "restart")
    defaults = ok(call({"action": "listServices"})[1])["result"]["jsonActionApiDefaults"]
    assert FLAG not in defaults and defaults["defaultApi"] == "hub"
    assert ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1])["result"]["defaultApi"] == "hub"
    server.restart()
    defaults = ok(call({"action": "listServices"})[1])["result"]["jsonActionApiDefaults"]
    assert defaults[FLAG] is True and defaults["defaultApi"] == "db"
    session = ok(call(permanent)[1])["result"]
    assert session["permanentSession"] is True and session["idleConnectionTimeoutSeconds"] == -1
    assert session["defaultApi"] == "db"


def test_permanent_session_survives_restart_and_flag_off(call: Post, server: EmulatorServer, home: Path,
                                                         enable_permanent: Callable[..., Any], set_defaults: Callable[..., None],
                                                         login: Callable[..., str]) -> None:
    host_uuid = ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1])["result"]["hostUuid"]
    temporary = login(server)
    enable_permanent(home, server)
    err(call({"action": "pingSession", "authToken": temporary})[1], 12031)  # restart ended it
    answer = ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True,
                                                            "idleConnectionTimeoutSeconds": 5}, "debug": "max"})[1])
    key = answer["authToken"]
    assert answer["result"]["permanentSession"] is True and answer["result"]["idleConnectionTimeoutSeconds"] == -1
    assert answer["result"]["hostUuid"] == host_uuid
    assert any("idleConnectionTimeoutSeconds" in w["message"] for w in warnings_of(answer))
    # new defaults in services.json do not change an existing session's settings
    set_defaults(home, enablePermanentJsonApiSessions=False, defaultApi="db", defaultDatabaseName="other")
    server.restart()
    session = ok(call({"action": "describeSessions", "authToken": key, "params": {"authTokens": [key]}})[1])["result"]["sessions"][0]
    assert (session["permanentSession"], session["idleConnectionTimeoutSeconds"], session["hostUuid"]) == (True, -1, host_uuid)
    assert session["sessionStartTimestamp"] == answer["result"]["sessionStartTimestamp"]
    assert {k: v for k, v in session.items() if k != "sessionLastAccessedTimestamp"} == {
        k: v for k, v in answer["result"].items() if k != "sessionLastAccessedTimestamp"}
    err(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}})[1], 12006)
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


# --- services.json at start ------------------------------------------------------------------------


def _data_snapshot(home: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((home / "data").iterdir())}


def test_a_broken_services_json_stops_the_start_and_leaves_the_data(home: Path, enable_permanent: Callable[..., Any],
                                                                    post: Post, login: Callable[..., str]) -> None:
    srv = EmulatorServer(home, port=0).start()
    try:
        enable_permanent(home, srv)
        key = login(srv, permanentSession=True)
    finally:
        srv.stop()
    before = _data_snapshot(home)
    assert "kit.sqlite3" in before
    path = services_path(home)
    text = path.read_text(encoding="utf-8").replace('"jsonActionApiDefaults": {', '"jsonActionApiDefaults"\n  {')
    path.write_text(text, encoding="utf-8")
    name_end = text.index('"jsonActionApiDefaults"') + len('"jsonActionApiDefaults"')
    line = text.count("\n", 0, name_end) + 1
    column = name_end - text.rfind("\n", 0, name_end)
    with pytest.raises(ConfigFileError) as info:
        EmulatorServer(home, port=0).start()
    assert (info.value.line, info.value.column) == (line, column)
    assert text.splitlines()[line - 1][: column - 1].endswith('"jsonActionApiDefaults"')
    assert str(path) in str(info.value) and f"line {line}, column {column}" in str(info.value)
    assert '":"' in str(info.value) or '":" is missing' in str(info.value)
    assert _data_snapshot(home) == before
    # fixed file: the server starts and the API key is still there
    path.write_text(text.replace('"jsonActionApiDefaults"\n  {', '"jsonActionApiDefaults": {'), encoding="utf-8")
    with EmulatorServer(home, port=0) as srv:
        ok(post(srv, {"action": "pingSession", "authToken": key})[1])


def test_an_https_listener_without_its_certificate_file_is_not_served_beside_http(
        home: Path, caplog: pytest.LogCaptureFixture, post: Post) -> None:
    EmulatorServer(home, port=0).start().stop()
    data = json.loads(services_path(home).read_text())
    data["listeners"][1].update(enabled=True, port=0)
    services_path(home).write_text(json.dumps(data, indent=2))
    with caplog.at_level(logging.WARNING), EmulatorServer(home, port=0) as srv:
        assert srv.https_url is None
        listeners = ok(post(srv, {"action": "listServices"})[1])["result"]["listeners"]
        assert [(item["serviceName"], item["enabled"], item["port"]) for item in listeners] == [
            ("http8080", True, str(srv.port)), ("https8443", False, "0")]
    notes = [r.getMessage() for r in caplog.records if "not served" in r.getMessage()]
    assert len(notes) == 1 and "https8443" in notes[0] and "fccert.pem does not exist" in notes[0]


def test_numeric_strings_in_services_json_are_taken_with_a_warning(
        home: Path, set_defaults: Callable[..., None], caplog: pytest.LogCaptureFixture, post: Post) -> None:
    # FairCom's own jsonActionApiDefaults sample has "defaultRetentionPeriod": "4" (sources: fact.json_action_api_defaults)
    EmulatorServer(home, port=0).start().stop()
    set_defaults(home, defaultRetentionPeriod="4", maxJsonApiSessionsPerUsername="50")
    with caplog.at_level(logging.WARNING), EmulatorServer(home, port=0) as srv:
        defaults = ok(post(srv, {"action": "listServices"})[1])["result"]["jsonActionApiDefaults"]
        assert defaults["defaultRetentionPeriod"] == 4 and defaults["maxJsonApiSessionsPerUsername"] == 50
    assert any('"4": taken as the number 4' in r.getMessage() for r in caplog.records)


def test_a_wrong_type_in_services_json_names_the_property(home: Path, set_defaults: Callable[..., None]) -> None:
    EmulatorServer(home, port=0).start().stop()
    set_defaults(home, maxJsonApiSessionsPerUsername="fifty")
    with pytest.raises(ConfigFileError) as info:
        EmulatorServer(home, port=0).start()
    assert info.value.property_path == "jsonActionApiDefaults.maxJsonApiSessionsPerUsername"
    assert "jsonActionApiDefaults.maxJsonApiSessionsPerUsername" in str(info.value) and "integer" in str(info.value)


def test_unknown_properties_in_services_json_are_warnings(home: Path, set_defaults: Callable[..., None],
                                                          caplog: pytest.LogCaptureFixture, post: Post) -> None:
    EmulatorServer(home, port=0).start().stop()
    set_defaults(home, enablePermanentSessions=True)
    with caplog.at_level(logging.WARNING):
        with EmulatorServer(home, port=0) as srv:
            ok(post(srv, {"action": "pingSession"})[1])
    assert "jsonActionApiDefaults.enablePermanentSessions" in caplog.text


def test_a_port_in_use_is_an_os_error_naming_the_port(home: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        with pytest.raises(OSError) as info:
            EmulatorServer(home, port=busy.getsockname()[1]).start()
        assert getattr(info.value, "port", None) == busy.getsockname()[1]
    finally:
        busy.close()


def test_host_uuid_is_stable_across_restarts(call: Post, server: EmulatorServer, login: Callable[..., str]) -> None:
    first = ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1])["result"]["hostUuid"]
    server.restart()
    second = ok(call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1])["result"]["hostUuid"]
    assert first == second and UUID.fullmatch(first)


# --- body size -----------------------------------------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    head, tail = b'{"action": "pingSession", "debug": "none", "requestId": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_bodies_over_one_mebibyte_get_12028(shared: EmulatorServer, client: httpx.Client) -> None:
    response = client.post(shared.url, content=_body_of_size(1024 * 1024))
    assert response.status_code == 200 and strict_json(response.content)["errorCode"] == 0
    response = client.post(shared.url, content=_body_of_size(1024 * 1024 + 1))
    assert response.status_code == 200
    err(strict_json(response.content), 12028, "1048576", "--max-body-bytes")
    # the connection is still usable
    assert strict_json(client.post(shared.url, content=_body_of_size(100)).content)["errorCode"] == 0


def test_chunked_bodies_are_read_whole_and_limited(shared: EmulatorServer, client: httpx.Client) -> None:
    pieces = [b'{"action":', b' "pingSession", ', b'"requestId": "chunked", "debug": "none"}']
    response = client.post(shared.url, content=iter(pieces))
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert strict_json(response.content) == {"result": {}, "requestId": "chunked", "errorCode": 0, "errorMessage": ""}
    big = _body_of_size(3 * 1024 * 1024)
    response = client.post(shared.url, content=iter([big[i:i + 65536] for i in range(0, len(big), 65536)]))
    assert response.status_code == 200
    err(strict_json(response.content), 12028)


def test_expect_100_continue_like_curl(shared: EmulatorServer) -> None:
    body = _body_of_size(5000)
    with socket.create_connection(("127.0.0.1", shared.port), timeout=10) as sock:
        sock.sendall(b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(100).startswith(b"HTTP/1.1 100")
        sock.sendall(body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
                re.search(rb"(?i)content-length: *(\d+)", data).group(1)):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    head, _, answer = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert strict_json(answer) == {"result": {}, "requestId": json.loads(body)["requestId"], "errorCode": 0,
                                  "errorMessage": ""}


def test_a_small_max_body_bytes(home: Path) -> None:
    with EmulatorServer(home, port=0, max_body_bytes=200) as srv, httpx.Client(trust_env=False) as c:
        assert strict_json(c.post(srv.url, content=_body_of_size(200)).content)["errorCode"] == 0
        err(strict_json(c.post(srv.url, content=_body_of_size(201)).content), 12028, "200 bytes")
        err(strict_json(c.post(srv.url, content=_body_of_size(5000)).content), 12028)
        assert strict_json(c.post(srv.url, content=_body_of_size(150)).content)["errorCode"] == 0


# --- https --------------------------------------------------------------------------------------------------


def test_https_listener_with_a_certificate(home: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    EmulatorServer(home, port=0).start().stop()
    (home / "web").mkdir()
    cert.private_key_and_cert_chain_pem.write_to_path(str(home / "web" / "fccert.pem"))
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    data = json.loads(services_path(home).read_text())
    data["listeners"][1].update(enabled=True, port=0)
    services_path(home).write_text(json.dumps(data, indent=2))
    with EmulatorServer(home, port=0) as srv:
        assert srv.https_url is not None and srv.https_url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(ca_file))
        with httpx.Client(verify=context, trust_env=False) as c:
            answer = strict_json(c.post(srv.https_url, json={"action": "createSession", "debug": "none",
                                                             "params": {"username": "ADMIN", "password": "ADMIN"}}).content)
            token = ok(answer)["authToken"]
            # the same session works over plain http too
            plain = strict_json(c.post(srv.url, json={"action": "listServices", "authToken": token}).content)
            assert ok(plain)["result"]["listeners"][1]["enabled"] is True
        with httpx.Client(trust_env=False) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.post(srv.https_url, json={"action": "pingSession"})


def test_a_missing_certificate_stops_the_start_and_releases_the_port(home: Path) -> None:
    EmulatorServer(home, port=0).start().stop()
    data = json.loads(services_path(home).read_text())
    data["listeners"][0].update(enabled=False)  # https is then the only listener: its certificate must be there
    data["listeners"][1].update(enabled=True, port=0)
    services_path(home).write_text(json.dumps(data, indent=2))
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(ConfigFileError) as info:
        EmulatorServer(home, port=port).start()
    assert info.value.property_path == "listeners[1].tls.certificateFilename"
    assert "fccert.pem" in str(info.value) and "private key" in str(info.value)
    again = socket.socket()  # the failed start left nothing bound, even while its error is alive
    try:
        again.bind(("127.0.0.1", port))
    finally:
        again.close()
