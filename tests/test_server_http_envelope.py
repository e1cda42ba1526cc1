"""The embedded server over real HTTP, the way in: routing on any /api path, methods, bodies that are
not a JSON object, body size limits, and the envelope rules of the contract's section 2 (requestId,
key order, debug modes, the request copy, params, api and action)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import err, ok, strict_json, warnings_of
from tutorial_kit.server import EmulatorServer


def raw(http_client: httpx.Client, url: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return http_client.post(url, content=content)

# --- transport -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/admin", "/api/db", "/api/hub", "/api/v1/action", "/api?x=1"])
def test_post_on_every_api_path_routes_on_the_body(ask: Callable[..., dict[str, Any]], path: str) -> None:
    answer = ok(ask({"api": "admin", "action": "pingSession", "requestId": path, "debug": "none"}, path))
    assert answer == {"result": {}, "requestId": path, "errorCode": 0, "errorMessage": ""}


def test_a_path_outside_api_is_not_served(module_server: EmulatorServer, http_client: httpx.Client) -> None:
    for path in ("/apix", "/", "/other/api"):
        response = http_client.post(module_server.url.replace("/api", path), content=b'{"action": "pingSession"}')
        assert response.status_code == 404, path


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/xml"])
def test_content_type_is_ignored(ask: Callable[..., dict[str, Any]], content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    ok(ask('{"action": "pingSession", "params": {"a": "b=c&d"}}', **headers))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_405_with_an_envelope(
    module_server: EmulatorServer, http_client: httpx.Client, method: str
) -> None:
    for path in ("/api", "/api/admin"):
        response = http_client.request(method, module_server.url.replace("/api", path))
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        answer = strict_json(response.content)
        err(answer, 12006, "POST", "JSON")
        assert list(answer)[-2:] == ["errorCode", "errorMessage"]


def test_head_gets_405(module_server: EmulatorServer, http_client: httpx.Client) -> None:
    assert http_client.head(module_server.url).status_code == 405


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


def test_debug_none_is_compact_and_has_no_debug_info(module_server: EmulatorServer, http_client: httpx.Client) -> None:
    response = raw(http_client, module_server.url, {"action": "pingSession", "debug": "none"})
    assert response.text == '{"result":{},"errorCode":0,"errorMessage":""}'


def test_debug_min_is_pretty_without_the_request_copy(module_server: EmulatorServer, http_client: httpx.Client) -> None:
    # FairCom: the answer is pretty-printed unless debug is "none" (sources: fact.debug_modes)
    for debug in ("min", "MIN", "Min"):
        response = raw(http_client, module_server.url, {"action": "pingSession", "debug": debug})
        answer = strict_json(response.content)
        assert response.text == json.dumps(answer, indent=2)
        assert list(answer["debugInfo"]) == ["serverSuppliedValues", "errorData", "warnings"]
        assert answer["debugInfo"]["serverSuppliedValues"] == {"api": "admin", "apiVersion": "1.0"}
        assert answer["debugInfo"]["errorData"] == {} and answer["debugInfo"]["warnings"] == []


def test_debug_max_is_pretty_printed_with_the_request_copy(
    module_server: EmulatorServer, http_client: httpx.Client
) -> None:
    request = {
        "api": "admin",
        "action": "pingSession",
        "debug": "MaX",
        "apiVersion": "1.0",
        "requestId": [1, {"x": "é"}],
    }
    response = raw(http_client, module_server.url, request)
    answer = strict_json(response.content)
    assert response.text == json.dumps(answer, indent=2)
    assert response.text.startswith('{\n  "result": {},\n  "requestId": [\n    1,')
    assert list(answer["debugInfo"]) == ["request", "serverSuppliedValues", "errorData", "warnings"]
    assert answer["debugInfo"]["request"] == request
    assert answer["debugInfo"]["serverSuppliedValues"] == {}


def test_debug_max_on_error_only_shows_on_errors(module_server: EmulatorServer, http_client: httpx.Client) -> None:
    for debug in ("maxOnError", "MAXONERROR"):
        response = raw(http_client, module_server.url, {"action": "pingSession", "debug": debug})
        assert response.text == '{"result":{},"errorCode":0,"errorMessage":""}'
        request = {"action": "pingSession", "debug": debug, "authToken": "nope"}
        response = raw(http_client, module_server.url, request)
        answer = strict_json(response.content)
        assert response.text == json.dumps(answer, indent=2)
        assert answer["debugInfo"]["request"] == request and answer["errorCode"] == 12031


def test_debug_default_is_the_servers_and_then_the_sessions(ask: Callable[..., dict[str, Any]]) -> None:
    answer = ok(ask({"action": "pingSession"}))
    assert answer["debugInfo"]["serverSuppliedValues"]["debug"] == "max"  # jsonActionApiDefaults
    token = ok(
        ask({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN", "defaultDebug": "none"}})
    )["authToken"]
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


def test_debug_null_is_none(module_server: EmulatorServer, http_client: httpx.Client) -> None:
    # FairCom: "none" is the same as leaving debug out or setting it to null (sources: fact.debug_modes)
    response = raw(http_client, module_server.url, {"action": "pingSession", "debug": None})
    assert response.text == '{"result":{},"errorCode":0,"errorMessage":""}'


def test_passwords_are_masked_in_the_request_copy(
    module_server: EmulatorServer, http_client: httpx.Client, admin_token: str
) -> None:
    requests = [
        {"action": "createSession", "debug": "max", "params": {"username": "ADMIN", "password": "ADMIN"}},
        {"action": "createSession", "debug": "max", "params": {"username": "ADMIN", "password": "Wr0ngPassw0rd"}},
        {"action": "createAccount", "debug": "max", "authToken": admin_token,
         "params": {"username": "masked", "password": "Sup3rSecret"}},
        {"action": "alterAccount", "debug": "max", "authToken": admin_token,
         "params": {"username": "masked", "password": "N3wSecret", "nested": [{"Password": "Deep1"}]}},
    ]
    for request in requests:
        response = raw(http_client, module_server.url, request)
        answer = strict_json(response.content)
        assert answer["debugInfo"]["request"]["params"]["password"] == "********"
        for secret in ("Wr0ngPassw0rd", "Sup3rSecret", "N3wSecret", "Deep1"):
            assert secret not in response.text
        if answer.get("authToken") and answer["authToken"] != admin_token:
            ended = raw(http_client, module_server.url, {"action": "deleteSession", "authToken": answer["authToken"]})
            ok(strict_json(ended.content))
    dropped = raw(http_client, module_server.url,
                  {"action": "dropAccount", "authToken": admin_token, "params": {"username": "masked"}})
    ok(strict_json(dropped.content))


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


# --- body size -----------------------------------------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    head, tail = b'{"action": "pingSession", "debug": "none", "requestId": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_bodies_over_one_mebibyte_get_12028(module_server: EmulatorServer, http_client: httpx.Client) -> None:
    response = http_client.post(module_server.url, content=_body_of_size(1024 * 1024))
    assert response.status_code == 200 and strict_json(response.content)["errorCode"] == 0
    response = http_client.post(module_server.url, content=_body_of_size(1024 * 1024 + 1))
    assert response.status_code == 200
    err(strict_json(response.content), 12028, "1048576", "--max-body-bytes")
    # the connection is still usable
    assert strict_json(http_client.post(module_server.url, content=_body_of_size(100)).content)["errorCode"] == 0


def test_chunked_bodies_are_read_whole_and_limited(module_server: EmulatorServer, http_client: httpx.Client) -> None:
    pieces = [b'{"action":', b' "pingSession", ', b'"requestId": "chunked", "debug": "none"}']
    response = http_client.post(module_server.url, content=iter(pieces))
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert strict_json(response.content) == {"result": {}, "requestId": "chunked", "errorCode": 0, "errorMessage": ""}
    big = _body_of_size(3 * 1024 * 1024)
    response = http_client.post(module_server.url, content=iter([big[i:i + 65536] for i in range(0, len(big), 65536)]))
    assert response.status_code == 200
    err(strict_json(response.content), 12028)


def test_expect_100_continue_like_curl(module_server: EmulatorServer) -> None:
    body = _body_of_size(5000)
    with socket.create_connection(("127.0.0.1", module_server.port), timeout=10) as sock:
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
