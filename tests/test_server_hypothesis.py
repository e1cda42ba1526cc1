"""Malformed requests thrown at an in-process server: every answer is a jsonAction envelope.

Whatever arrives (random bytes, random JSON, wrong types for every envelope property and every
param of every action, deep nesting, huge numbers, lone surrogate escapes, NaN), the answer is
HTTP 200 (405 for other methods) with a JSON object whose keys follow the contract's order, an
integer ``errorCode`` that is never the internal-error code, a string ``errorMessage``, and no
traceback. The server still answers afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import strict_json
from tutorial_kit.server import EmulatorServer, services_path

ORDER = ["authToken", "result", "requestId", "debugInfo", "errorCode", "errorMessage"]
ENVELOPE_KEYS = ["api", "action", "params", "authToken", "requestId", "apiVersion", "debug", "responseOptions"]
#: the session settings createSession and alterSession both take (the contract's section 4)
SESSION_SETTING_PARAMS = ["description", "defaultApi", "defaultDebug", "defaultDatabaseName", "defaultOwnerName",
                          "defaultBinaryFormat", "defaultVariantFormat", "defaultResponseOptions",
                          "idleConnectionTimeoutSeconds", "idleCursorTimeoutSeconds"]
ACTION_PARAMS: dict[str, list[str]] = {
    "createSession": ["username", "password", "permanentSession", *SESSION_SETTING_PARAMS],
    "describeSessions": ["authTokens"],
    "listSessions": ["usernameFilter"],
    "pingSession": [],
    "alterSession": [*SESSION_SETTING_PARAMS, "username", "password", "permanentSession"],
    "deleteSession": [],
    "listServices": [],
    "createAccount": ["username", "password", "description"],
    "alterAccount": ["username", "password"],
    "dropAccount": ["username"],
    "listAccounts": [],
}
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies ----------------------------------------------------------------------------------

lone_surrogates = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
texts = st.text(alphabet=st.one_of(st.characters(), lone_surrogates), max_size=24)
plausible = st.sampled_from(["ADMIN", "admin", "\ud800", "a\udfffb", "true", "false", "none", "max", "min",
                             "maxOnError", "hub", "db", "objects", "hex", "1.0", "", " ", "NaN", "Infinity", "null",
                             "x" * 70, "é" * 40])
json_scalars = st.one_of(
    st.none(), st.booleans(), plausible, texts,
    st.integers(min_value=-(2**64), max_value=2**64), st.integers(min_value=-(10**300), max_value=10**300),
    st.sampled_from([0, -1, 1, 2_147_483_647, 2_147_483_648, -2_147_483_648]),
    st.floats(allow_nan=False, allow_infinity=False),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(plausible, texts), inner, max_size=4)
    ),
    max_leaves=12,
)
#: JSON text fragments that a strict parser must handle or refuse cleanly
NASTY = [
    "NaN", "-NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "1E+999999", "9" * 4301, "-" + "9" * 5000,
    "123456789012345678901234567890.123456789", "0.1e-999999", '"\\ud800"', '"\\udfff\\ud800"', '"a\\udc00b"',
    '"\\u0000"', '"\\uD83D\\uDE00"', "[" * 70 + "]" * 70, "[" * 3000 + "]" * 3000, '{"a":' * 80 + "1" + "}" * 80,
    '{"a":' * 2000 + "1" + "}" * 2000, '"\\x"', "tru", "nul", "01", "1.", ".5", "+1", "--1", '"\t"', "'single'",
    '"' + "é" * 10 + '"', "{}", "[]", '""', "null", "true", '{"password": "p", "password": "q"}', "/* c */ 1",
]
nasty = st.sampled_from(NASTY)


def json_text(value: Any) -> str:
    return json.dumps(value)  # ensure_ascii: lone surrogates become \\udXXX escapes


# --- the server ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, httpx.Client, str]]:
    home = tmp_path_factory.mktemp("fuzz-home")
    EmulatorServer(home, port=0).start().stop()
    data = json.loads(services_path(home).read_text())
    data["jsonActionApiDefaults"]["enablePermanentJsonApiSessions"] = True
    services_path(home).write_text(json.dumps(data))
    srv = EmulatorServer(home, port=0).start()
    client = httpx.Client(timeout=60, trust_env=False)
    try:
        answer = strict_json(client.post(srv.url, json={"action": "createSession", "params": {
            "username": "ADMIN", "password": "ADMIN", "permanentSession": True}}).content)
        # a permanent session: nothing a fuzzed request may do (alterSession, a short idle
        # timeout) ends it; deleteSession is never sent with it
        yield srv, client, answer["authToken"]
    finally:
        client.close()
        srv.stop()


def check(response: httpx.Response, sent: Any = None) -> dict[str, Any]:
    """Assert that ``response`` is a well-formed jsonAction envelope; return it parsed."""
    assert response.status_code in (200, 405), response.status_code
    assert response.headers["content-type"].startswith("application/json")
    text = response.text
    assert "Traceback" not in text and 'File "' not in text
    data = strict_json(response.content)
    assert isinstance(data, dict), data
    assert list(data) == [key for key in ORDER if key in data], list(data)
    assert type(data["errorCode"]) is int and isinstance(data["errorMessage"], str)
    assert data["errorCode"] != 12009, data  # malformed input is the sender's error, not the server's
    if data["errorCode"] == 0:
        assert data["errorMessage"] == "" and "result" in data and response.status_code == 200
    else:
        assert data["errorMessage"] and "result" not in data
    if isinstance(sent, dict) and "requestId" in data:
        assert data["requestId"] == sent["requestId"]
    return data


def send(fuzz: tuple[EmulatorServer, httpx.Client, str], body: str | bytes, sent: Any = None, path: str = "/api",
         method: str = "POST") -> dict[str, Any]:
    srv, client, _ = fuzz
    content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return check(client.request(method, srv.url.replace("/api", path), content=content), sent)


# --- the tests -----------------------------------------------------------------------------------


@SETTINGS
@given(body=st.binary(max_size=400))
def test_random_bytes(fuzz: Any, body: bytes) -> None:
    send(fuzz, body)


@SETTINGS
@given(value=json_values)
def test_random_json_values(fuzz: Any, value: Any) -> None:
    answer = send(fuzz, json_text(value), value)
    if not isinstance(value, dict):
        assert answer["errorCode"] == 12012


@SETTINGS
@given(envelope=st.fixed_dictionaries({}, optional={key: json_values for key in [*ENVELOPE_KEYS, "schema"]}),
       action=st.one_of(st.none(), st.sampled_from(sorted(ACTION_PARAMS))))
def test_wrong_types_for_every_envelope_property(fuzz: Any, envelope: dict[str, Any], action: str | None) -> None:
    if action is not None and action != "deleteSession":
        envelope.setdefault("action", action)
    send(fuzz, json_text(envelope), envelope)


@st.composite
def action_requests(draw: st.DrawFn, token: str) -> dict[str, Any]:
    action = draw(st.sampled_from(sorted(ACTION_PARAMS)))
    # each of the action's params present or not, with any value; sometimes unknown ones too
    params: Any = draw(st.fixed_dictionaries({}, optional={name: json_values for name in ACTION_PARAMS[action]}))
    params.update(draw(st.dictionaries(st.one_of(plausible, texts), json_values, max_size=2)))
    if draw(st.integers(0, 9)) == 0:
        params = draw(json_values)  # params itself of any type
    request: dict[str, Any] = {
        "action": draw(st.sampled_from([action, action.lower(), action.upper()])),
        "params": params,
    }
    if action == "deleteSession":
        tokens = ["", "x" * 64, "\ud800"]
    else:
        tokens = [token, token, token, "", "x" * 64, "\ud800"]
    if draw(st.integers(0, 3)):
        request["authToken"] = draw(st.sampled_from(tokens))
    if draw(st.booleans()):
        request["debug"] = draw(st.sampled_from(["none", "min", "max", "maxOnError", "MAX"]))
    if draw(st.booleans()):
        request["requestId"] = draw(json_values)
    return request


@SETTINGS
@given(data=st.data())
def test_wrong_types_for_every_param_of_every_action(fuzz: Any, data: st.DataObject) -> None:
    request = data.draw(action_requests(fuzz[2]))
    send(fuzz, json_text(request), request)


#: (action, the string param to fuzz, params that make the rest of the request valid)
STRING_PARAMS: list[tuple[str, str, dict[str, Any]]] = [
    *[("createSession", name, {"username": "nobody", "password": "x"})
      for name in ("username", "password", "description", "defaultApi", "defaultDebug", "defaultDatabaseName",
                   "defaultOwnerName", "defaultBinaryFormat", "defaultVariantFormat")],
    *[("alterSession", name, {}) for name in ("description", "defaultApi", "defaultDatabaseName", "defaultOwnerName")],
    ("createAccount", "username", {"password": "p"}),
    ("createAccount", "password", {"username": "ADMIN"}),
    ("createAccount", "description", {"username": "ADMIN", "password": "p"}),
    ("alterAccount", "username", {"password": "p"}),
    ("alterAccount", "password", {"username": "nobody-here"}),
    ("dropAccount", "username", {}),
    ("describeSessions", "authTokens", {}),
    ("listSessions", "usernameFilter", {}),
]


@SETTINGS
@given(case=st.sampled_from(STRING_PARAMS), value=st.one_of(texts, plausible), debug=st.sampled_from(["none", "max"]))
def test_any_text_in_every_string_param(
    fuzz: Any, case: tuple[str, str, dict[str, Any]], value: str, debug: str
) -> None:
    action, name, params = case
    params = {**params, name: [value] if name in ("authTokens", "usernameFilter") else value}
    request = {"action": action, "authToken": fuzz[2], "params": params, "debug": debug}
    send(fuzz, json_text(request), request)


@SETTINGS
@given(
    pieces=st.lists(nasty, min_size=1, max_size=3), slot=st.integers(0, 3), path=st.sampled_from(["/api", "/api/admin"])
)
def test_nasty_json_text_in_every_position(fuzz: Any, pieces: list[str], slot: int, path: str) -> None:
    filler = list(pieces) + ['"x"'] * 3
    templates = [
        '{"action": "pingSession", "requestId": %s, "params": %s, "debug": %s, "api": %s}',
        '{"action": "createSession", "params": {"username": %s, "password": %s, "description": %s}, "requestId": %s}',
        '{"action": "describeSessions", "authToken": %s, "params": {"authTokens": [%s, %s]}, "requestId": %s}',
        '{%s: %s, "action": "listServices", "debug": %s, "x": %s}',
    ]
    send(fuzz, templates[slot] % tuple(filler[:4]), path=path)


@SETTINGS
@given(text=st.text(max_size=60), position=st.integers(0, 200), piece=st.one_of(nasty, st.text(max_size=3)))
def test_mutated_valid_requests(fuzz: Any, text: str, position: int, piece: str) -> None:
    base = json_text({"action": "createSession", "params": {"username": "nobody", "password": text}, "debug": "max"})
    position %= len(base) + 1
    send(fuzz, base[:position] + piece + base[position + 1:])


@SETTINGS
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]), body=st.binary(max_size=100))
def test_other_methods_are_405_envelopes(fuzz: Any, method: str, body: bytes) -> None:
    answer = send(fuzz, body, method=method)
    assert answer["errorCode"] == 12006


def test_the_server_still_answers(fuzz: Any) -> None:
    srv, client, token = fuzz
    assert check(client.post(srv.url, json={"action": "pingSession", "debug": "none"}))["errorCode"] == 0
    answer = check(client.post(srv.url, json={"action": "pingSession", "authToken": token, "debug": "none"}))
    assert answer["errorCode"] == 0 and answer["authToken"] == token
