"""Bad input that is still HTTP and JSON: every param of every action with every wrong JSON type
(a table, not random draws, so that each case asserts the exact code and that the message names
the property), missing and over-long values, Unicode round trips (emoji, right-to-left text, NUL),
huge and negative numbers for the integer settings, and repeated keys at every level.

``test_server_hypothesis.py`` checks that random input always gets a well-formed envelope; these
tables check *which* answer each case gets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from _hardening import write_services
from conftest import admin_session, err, strict_json
from tutorial_kit import ConfigFileError
from tutorial_kit.server import EmulatorServer
from tutorial_kit.server.config import load_config

Ask = Callable[..., dict[str, Any]]

#: one value of every JSON type (and the confusable ones: "7" for a number, "true" for a boolean)
VALUES: dict[str, Any] = {
    "null": None, "true": True, "false": False, "zero": 0, "int": 7, "negative": -1, "float": 1.5,
    "string": "x", "digit-string": "7", "true-string": "true", "array": [], "string-array": ["x"],
    "object": {}, "full-object": {"a": 1},
}
STRING_TYPES = {"string", "digit-string", "true-string"}
#: the kinds of param, and which of VALUES have the right type for each
RIGHT_TYPE: dict[str, set[str]] = {
    "string": STRING_TYPES,
    # -1 has the right type (its range is tested below); "7" and "true" are taken, with a warning, as
    # FairCom's own examples send them (sources: action.createSession, fact.json_action_api_defaults)
    "int": {"zero", "int", "negative", "digit-string"},
    "bool": {"true", "false", "true-string"},
    "date": set(),  # an account's enableDatetime/disableDatetime: a date string, which none of VALUES is
    "object": {"object", "full-object"},
    "string-list": {"array", "string-array"},
    "fixed": set(),  # alterSession's username/password/permanentSession: no value is accepted
}
SETTINGS_PARAMS = {
    "description": "string",
    "defaultApi": "string",
    "defaultDebug": "string",
    "defaultDatabaseName": "string",
    "defaultOwnerName": "string",
    "defaultBinaryFormat": "string",
    "defaultVariantFormat": "string",
    "defaultStringFormat": "string",
    "defaultFixedLengthCharFormat": "string",
    "defaultResponseOptions": "object",
    "idleConnectionTimeoutSeconds": "int",
    "idleCursorTimeoutSeconds": "int",
}
#: action -> (valid params to start from, {param: kind}, params where null means "not given")
ACTION_TABLE: dict[str, tuple[dict[str, Any], dict[str, str], set[str]]] = {
    "createSession": (
        {"username": "ADMIN", "password": "ADMIN"},
        {"username": "string", "password": "string", "permanentSession": "bool", **SETTINGS_PARAMS},
        set(),
    ),
    "alterSession": (
        {},
        {**SETTINGS_PARAMS, "username": "fixed", "password": "fixed", "permanentSession": "fixed"},
        set(),
    ),
    "createAccount": (
        {"username": "typo-check", "password": "pw"},
        {
            "username": "string",
            "password": "string",
            "accountDescription": "string",
            "enableDatetime": "date",
            "disableDatetime": "date",
            "lockoutAfterNFailedAttempts": "int",
            "memoryRule": "string",
        },
        {
            "username",
            "password",
            "accountDescription",
            "enableDatetime",
            "disableDatetime",
            "lockoutAfterNFailedAttempts",
            "memoryRule",
        },
    ),  # FairCom: omitted or null is the default
    "alterAccount": (
        {"username": "ADMIN"},
        {
            "password": "string",
            "username": "string",
            "accountDescription": "string",
            "disableDatetime": "date",
            "maxDaysBeforePasswordMustChange": "int",
        },
        {"username", "password", "accountDescription", "disableDatetime", "maxDaysBeforePasswordMustChange"},
    ),
    "dropAccount": ({"username": "nobody"}, {"username": "string"}, {"username"}),
    "dropAccounts": ({}, {"usernames": "string-list"}, {"usernames"}),
    "listAccounts": ({}, {"partialNames": "string-list"}, {"partialNames"}),
    "describeAccounts": ({}, {"usernames": "string-list"}, {"usernames"}),
    "describeSessions": ({}, {"authTokens": "string-list"}, {"authTokens"}),
    "listSessions": ({}, {"usernameFilter": "string-list"}, {"usernameFilter"}),
}


def wrong_type_cases() -> list[Any]:
    """One case per (action, param): the valid params to start from, and every wrong value to try."""
    cases = []
    for action, (base, params, null_is_absent) in ACTION_TABLE.items():
        for param, kind in params.items():
            wrong = {name: value for name, value in VALUES.items()
                     if name not in RIGHT_TYPE[kind] and not (name == "null" and param in null_is_absent)}
            if kind == "string-list":  # the right container with the wrong items
                wrong.update({"number-item": [1], "null-item": [None], "list-item": [["x"]],
                              "object-item": [{}], "mixed": ["x", 2]})
            cases.append(pytest.param(action, base, param, {n: (param, v) for n, v in wrong.items()},
                                      id=f"{action}.{param}"))
    for action in ("createSession", "alterSession"):
        for option in ("binaryFormat", "dataFormat", "numberFormat", "variantFormat", "stringFormat",
                       "fixedLengthCharFormat"):
            wrong = {name: ("defaultResponseOptions", {option: value})
                     for name, value in VALUES.items() if name not in STRING_TYPES}
            cases.append(pytest.param(action, ACTION_TABLE[action][0], f"defaultResponseOptions.{option}", wrong,
                                      id=f"{action}.defaultResponseOptions.{option}"))
    return cases


# --- one server for the module ------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_home(module_home: Path) -> Path:
    """The module's server (``module_server``, ``ask``: see conftest.py) allows permanent sessions."""
    write_services(module_home, enablePermanentJsonApiSessions=True)
    return module_home


def _login(ask: Ask, username: str = "ADMIN", password: str = "ADMIN", **params: Any) -> dict[str, Any]:
    answer = ask({"action": "createSession", "debug": "none",
                  "params": {"username": username, "password": password, **params}}, raw_utf8=True)
    assert answer["errorCode"] == 0, answer
    return answer


@pytest.fixture(scope="module")
def admin(admin_token: str) -> str:
    """A session of ADMIN for the actions that need a token (alterSession does not use this one)."""
    return admin_token


@pytest.fixture(scope="module")
def altered(module_server: EmulatorServer, http_client: httpx.Client) -> str:
    """A session that only the wrong-type alterSession cases use."""
    return admin_session(module_server, http_client)


# --- wrong types, missing values, too long ------------------------------------------------------


@pytest.mark.parametrize(("action", "base", "named", "wrong"), wrong_type_cases())
def test_every_param_of_every_action_with_each_wrong_type(ask: Ask, admin: str, altered: str, action: str,
                                                          base: dict[str, Any], named: str,
                                                          wrong: dict[str, tuple[str, Any]]) -> None:
    """12012 whose message names the property (quoted), for each wrong JSON type in turn."""
    token = altered if action == "alterSession" else admin
    mismatches = []
    for name, (param, value) in wrong.items():
        answer = ask({"action": action, "authToken": token, "debug": "none", "params": {**base, param: value}})
        if answer["errorCode"] != 12012 or f'"{named}"' not in answer["errorMessage"] or "result" in answer:
            mismatches.append((name, answer))
    assert not mismatches, mismatches
    assert len(wrong) >= 5


def test_the_sessions_used_by_the_wrong_type_table_are_unchanged(ask: Ask, altered: str) -> None:
    """No wrong-typed alterSession changed anything, and no wrong-typed createAccount made an account."""
    session = ask({"action": "describeSessions", "authToken": altered, "debug": "none",
                   "params": {"authTokens": [altered]}})["result"]["sessions"][0]
    assert session["description"] == "" and session["idleConnectionTimeoutSeconds"] == 3600
    assert session["defaultResponseOptions"] == {
        "binaryFormat": "hex",
        "variantFormat": "json",
        "dataFormat": "objects",
        "numberFormat": "number",
        "stringFormat": "json",
        "fixedLengthCharFormat": "sql",
        "includeBookmarks": False,
    }
    accounts = ask({"action": "listAccounts", "authToken": altered, "debug": "none"})["result"]["accounts"]
    assert [a["username"] for a in accounts] == ["ADMIN"]


ENVELOPE_TABLE: dict[str, tuple[str, set[str]]] = {
    # property -> (right kind, value names that are accepted: the right type, or null meaning "not given")
    "action": ("string", STRING_TYPES),
    "authToken": ("string", STRING_TYPES | {"null"}),
    "params": ("object", {"object", "full-object", "null"}),
    "apiVersion": ("string", STRING_TYPES),
    "debug": ("string", STRING_TYPES | {"null"}),  # FairCom: null is the same as "none"
    "responseOptions": ("object", {"object", "full-object", "null"}),
    "api": ("string", STRING_TYPES | {"null"}),
}


@pytest.mark.parametrize("prop", list(ENVELOPE_TABLE))
def test_every_envelope_property_with_each_wrong_type(ask: Ask, prop: str) -> None:
    code, named = (12013, '"admin"') if prop == "api" else (12012, f'"{prop}"')  # a wrong api names the right one
    mismatches = []
    for name, value in VALUES.items():
        if name in ENVELOPE_TABLE[prop][1]:
            continue
        answer = ask({"action": "pingSession", "debug": "none", **{prop: value}})
        if answer["errorCode"] != code or named not in answer["errorMessage"]:
            mismatches.append((name, answer))
    assert not mismatches, mismatches


@pytest.mark.parametrize(
    ("action", "params", "missing"),
    [
        ("createSession", {"password": "ADMIN"}, "username"),
        ("createSession", {"username": "ADMIN"}, "password"),
        ("createAccount", {"password": "pw"}, "username"),
        ("alterAccount", {"password": "pw"}, "username"),  # FairCom's alterAccount names the account it changes
        ("alterAccount", {"username": None}, "username"),  # null is "not given"
        ("createAccount", {"username": None, "password": "pw"}, "username"),
    ],
)
def test_every_required_param_missing_is_12025(ask: Ask, admin: str, action: str, params: dict[str, Any],
                                                missing: str) -> None:
    for sent in (params, {**params, "unrelated": 1}):
        err(ask({"action": action, "authToken": admin, "params": sent}), 12025, f'"{missing}"')


@pytest.mark.parametrize("action", ["describeSessions", "listSessions", "alterSession", "deleteSession",
                                    "createAccount", "alterAccount", "dropAccount", "dropAccounts", "listAccounts",
                                    "describeAccounts"])
def test_every_action_that_needs_a_token_without_one_is_12025(ask: Ask, action: str) -> None:
    err(ask({"action": action, "params": {}}), 12025, '"authToken"', "createSession")


@pytest.mark.parametrize(
    ("action", "params", "prop", "limit"),
    [
        (
            "createSession",
            {"username": "ADMIN", "password": "ADMIN", "description": "é" * 32_751},
            "description",
            65_500,
        ),
        ("createSession", {"username": "u" * 65_501, "password": "x"}, "username", 65_500),
        (
            "createSession",
            {"username": "ADMIN", "password": "ADMIN", "defaultDatabaseName": "d" * 65},
            "defaultDatabaseName",
            64,
        ),
        (
            "createSession",
            {"username": "ADMIN", "password": "ADMIN", "defaultOwnerName": "🔑" * 17},
            "defaultOwnerName",
            64,
        ),
        ("alterSession", {"description": "x" * 65_501}, "description", 65_500),
        ("alterSession", {"defaultDatabaseName": "d" * 65}, "defaultDatabaseName", 64),
        ("alterSession", {"defaultOwnerName": "o" * 65}, "defaultOwnerName", 64),
        ("createAccount", {"username": "u" * 32, "password": "pw"}, "username", 31),
        ("createAccount", {"username": "🔑" * 8, "password": "pw"}, "username", 31),  # 8 characters, 32 bytes
        ("createAccount", {"username": "someone", "password": "p" * 257}, "password", 256),
        ("createAccount", {"username": "someone", "accountDescription": "x" * 65_501}, "accountDescription", 65_500),
        ("alterAccount", {"username": "ADMIN", "password": "p" * 257}, "password", 256),
        ("alterAccount", {"username": "u" * 65, "password": "pw"}, "username", 64),
        ("dropAccount", {"username": "u" * 65}, "username", 64),
        ("dropAccounts", {"usernames": ["u" * 65]}, "usernames[0]", 64),
    ],
)
def test_every_limited_string_over_its_limit_is_12034(ask: Ask, altered: str, action: str, params: dict[str, Any],
                                                      prop: str, limit: int) -> None:
    err(ask({"action": action, "authToken": altered, "params": params}), 12034, f'"{prop}"', str(limit))


@pytest.mark.parametrize(
    ("action", "params", "prop"),
    [
        ("createSession", {"username": "", "password": "x"}, "username"),
        ("createSession", {"username": "ADMIN", "password": "ADMIN", "defaultDatabaseName": ""}, "defaultDatabaseName"),
        ("alterSession", {"defaultOwnerName": ""}, "defaultOwnerName"),
        ("createAccount", {"username": "", "password": "pw"}, "username"),
        ("alterAccount", {"username": ""}, "username"),
        ("dropAccounts", {"usernames": [""]}, "usernames[0]"),
    ],
)
def test_empty_strings_where_one_character_is_needed_are_12012(ask: Ask, altered: str, action: str,
                                                               params: dict[str, Any], prop: str) -> None:
    err(ask({"action": action, "authToken": altered, "params": params}), 12012, f'"{prop}"', "at least 1")


def test_null_means_not_given_for_the_optional_lists_and_alter_accounts_username(ask: Ask, admin: str) -> None:
    """The documented leniency, pinned: these nulls are the same as leaving the property out."""
    described = ask({"action": "describeSessions", "authToken": admin, "debug": "none", "params": {"authTokens": None}})
    assert described["errorCode"] == 0 and len(described["result"]["sessions"]) >= 1
    listed = ask({"action": "listSessions", "authToken": admin, "debug": "none", "params": {"usernameFilter": None}})
    assert listed["errorCode"] == 0 and len(listed["result"]["sessions"]) >= 1
    for prop in ("partialNames", "usernames"):
        action = "listAccounts" if prop == "partialNames" else "describeAccounts"
        answer = ask({"action": action, "authToken": admin, "debug": "none", "params": {prop: None}})
        assert answer["errorCode"] == 0 and answer["result"]["accounts"], answer
    # alterAccount's username names the account to change (FairCom): null is "missing", not "my own"
    own = ask({"action": "alterAccount", "authToken": admin, "debug": "none", "params": {"username": None}})
    assert own["errorCode"] == 12025 and '"username"' in own["errorMessage"]


# --- huge numbers -------------------------------------------------------------------------------

HUGE = {"10**30": 10**30, "-1": -1, "2**31": 2**31, "-(2**31)": -(2**31), "2**63": 2**63, "-(10**30)": -(10**30),
        "10**300": 10**300}


@pytest.mark.parametrize("value", list(HUGE.values()), ids=list(HUGE))
@pytest.mark.parametrize("prop", ["idleConnectionTimeoutSeconds", "idleCursorTimeoutSeconds"])
@pytest.mark.parametrize("action", ["createSession", "alterSession"])
def test_integer_settings_out_of_range_are_12012_naming_the_range(ask: Ask, altered: str, action: str, prop: str,
                                                                  value: int) -> None:
    params = {prop: value}
    if action == "createSession":
        params.update(username="ADMIN", password="ADMIN")
    err(ask({"action": action, "authToken": altered, "params": params}), 12012, f'"{prop}"', "2147483647")


@pytest.mark.parametrize("prop", ["idleConnectionTimeoutSeconds", "idleCursorTimeoutSeconds"])
def test_integer_settings_at_the_edges_of_their_range_are_kept_exactly(ask: Ask, prop: str) -> None:
    for value in (0, 1, 2**31 - 1):
        answer = _login(ask, **{prop: value})
        assert answer["result"][prop] == value
        assert ask({"action": "deleteSession", "authToken": answer["authToken"]})["errorCode"] == 0


@pytest.mark.parametrize("text", ["3600.0", "1e3", "-0.0", "36e2", "true"])
def test_numbers_written_as_floats_or_booleans_are_not_integers(ask: Ask, altered: str, text: str) -> None:
    body = '{"action": "alterSession", "authToken": "%s", "params": {"idleCursorTimeoutSeconds": %s}}' % (altered, text)
    err(ask(body), 12012, '"idleCursorTimeoutSeconds"', "whole number")


def test_minus_zero_is_the_integer_zero(ask: Ask) -> None:
    body = ('{"action": "createSession", "debug": "none", '
            '"params": {"username": "ADMIN", "password": "ADMIN", "idleCursorTimeoutSeconds": -0}}')
    answer = ask(body)
    assert answer["errorCode"] == 0 and answer["result"]["idleCursorTimeoutSeconds"] == 0
    ask({"action": "deleteSession", "authToken": answer["authToken"]})


@pytest.mark.parametrize(
    ("prop", "value"),
    [(prop, value)
     for prop in ("maxJsonApiSessions", "maxJsonApiSessionsPerIpAddress", "maxJsonApiSessionsPerUsername",
                  "idleConnectionTimeoutSeconds", "defaultRetentionPeriod")
     for value in (10**30, -1, 2**31, 0)
     if (prop, value) != ("idleConnectionTimeoutSeconds", 0)],  # 0 is allowed there: never expires
)
def test_huge_numbers_in_services_json_stop_the_start_naming_the_property(
    tmp_path: Path, prop: str, value: int
) -> None:
    path = write_services(tmp_path, **{prop: value})
    with pytest.raises(ConfigFileError) as info:
        load_config(path)
    assert f"jsonActionApiDefaults.{prop}" in str(info.value) and "2147483647" in str(info.value)


def test_huge_request_ids_come_back_digit_for_digit(ask: Ask) -> None:
    for request_id in (10**30, -(2**63) - 1, 2**64, [10**40, {"n": -(10**25)}]):
        answer = ask({"action": "pingSession", "debug": "none", "requestId": request_id})
        assert answer["requestId"] == request_id


# --- Unicode ------------------------------------------------------------------------------------

UNICODE_TEXTS = {
    "emoji": "API key 🔑 for the 🧪 lab 👩🏽‍💻",
    "rtl": "مفتاح الواجهة \u200f(rtl)\u200e and \u202eevil\u202c",
    "nul": "before\u0000after\u0000",
    "combining": "e\u0301 vs \u00e9, ﬁ ligature, \ufeff bom inside",
    "astral": "\U0001f600\U0010fffd\U00020000",
    "controls": "tab\tnewline\ncr\r\u0007bell \u2028 \u2029",
}


@pytest.mark.parametrize("raw_utf8", [False, True], ids=["escaped", "raw-utf8"])
@pytest.mark.parametrize("text", list(UNICODE_TEXTS.values()), ids=list(UNICODE_TEXTS))
def test_unicode_descriptions_round_trip_exactly(ask: Ask, text: str, raw_utf8: bool) -> None:
    created = ask({"action": "createSession", "debug": "none",
                   "params": {"username": "ADMIN", "password": "ADMIN", "description": text}}, raw_utf8=raw_utf8)
    token = created["authToken"]
    try:
        assert created["result"]["description"] == text
        described = ask({"action": "describeSessions", "authToken": token, "debug": "none",
                         "params": {"authTokens": [token]}})
        assert described["result"]["sessions"][0]["description"] == text
        altered = ask({"action": "alterSession", "authToken": token, "debug": "none",
                       "params": {"description": text[::-1]}}, raw_utf8=raw_utf8)
        assert altered["result"]["description"] == text[::-1]
        listed = ask({"action": "listSessions", "authToken": token, "debug": "max"})
        assert {"username": "ADMIN", "description": text[::-1], "authToken": token} in listed["result"]["sessions"]
        assert listed["debugInfo"]["request"]["authToken"] == token
    finally:
        ask({"action": "deleteSession", "authToken": token})


USERNAMES = ["🔑user", "مستخدم", "Zoë-Ŋ", "a\u0000b", "\u202eRTL", "ａｂｃ"]  # each at most 31 UTF-8 bytes


@pytest.mark.parametrize("username", USERNAMES)
def test_unicode_usernames_and_passwords_round_trip(ask: Ask, admin: str, username: str) -> None:
    password = f"pw-\u0000-{username}-🔒"
    created = ask({"action": "createAccount", "authToken": admin, "debug": "none",
                   "params": {"username": username, "password": password, "accountDescription": UNICODE_TEXTS["rtl"]}},
                  raw_utf8=True)
    assert created["errorCode"] == 0 and created["result"] == {}
    try:
        for typed in {username, username.upper(), username.lower()}:  # names ignore case, in every script
            session = _login(ask, typed, password)
            assert session["result"]["username"] == username  # the canonical name, as created
            ask({"action": "deleteSession", "authToken": session["authToken"]})
        wrong = ask(
            {"action": "createSession", "params": {"username": username, "password": password.replace("\u0000", "")}}
        )
        assert wrong["errorCode"] == 12033  # the NUL inside the password counts
        accounts = ask({"action": "listAccounts", "authToken": admin, "debug": "none"})["result"]["accounts"]
        assert (username, UNICODE_TEXTS["rtl"]) in [(a["username"], a["accountDescription"]) for a in accounts]
    finally:
        dropped = ask({"action": "dropAccount", "authToken": admin, "params": {"username": username}})
        assert dropped["errorCode"] == 0, dropped


def test_unicode_in_a_permanent_session_survives_a_restart(tmp_path: Path, http_client: httpx.Client) -> None:
    write_services(tmp_path, enablePermanentJsonApiSessions=True)
    text = "".join(UNICODE_TEXTS.values())
    with EmulatorServer(tmp_path, port=0) as own:
        def own_ask(body: dict[str, Any]) -> dict[str, Any]:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            return strict_json(http_client.post(own.url, content=content).content)

        key = own_ask({"action": "createSession", "debug": "none", "params": {
            "username": "ADMIN", "password": "ADMIN", "permanentSession": True, "description": text,
            "defaultOwnerName": "ówner🔑"}})["authToken"]
        own.restart()
        described = own_ask({"action": "describeSessions", "authToken": key, "debug": "none",
                             "params": {"authTokens": [key]}})
    session = described["result"]["sessions"][0]
    assert (session["description"], session["defaultOwnerName"], session["permanentSession"]) == (text, "ówner🔑", True)


def test_a_byte_order_mark_before_the_body_says_what_to_do(ask: Ask) -> None:
    """Windows Notepad saves UTF-8 with a BOM; ``curl -d @request.json`` then sends it."""
    answer = err(ask(b'\xef\xbb\xbf{"action": "pingSession"}'), 12012, "byte order mark", "without")
    assert "utf-8-sig" not in answer["errorMessage"]  # no Python jargon for the learner


def test_a_services_json_saved_with_a_byte_order_mark_is_read(tmp_path: Path, http_client: httpx.Client) -> None:
    """The kit's own services.json editor keeps a BOM; the server must then still start on the file."""
    from tutorial_kit.control.servicesfile import set_default

    path = write_services(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))  # as Windows Notepad saves it
    with EmulatorServer(tmp_path, port=0) as own:
        set_default(path, "enablePermanentJsonApiSessions", True)  # lesson 2's edit
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
        own.restart()
        answer = strict_json(http_client.post(own.url, json={"action": "createSession", "debug": "none", "params": {
            "username": "ADMIN", "password": "ADMIN", "permanentSession": True}}).content)
    assert answer["errorCode"] == 0 and answer["result"]["permanentSession"] is True
    text = path.read_text(encoding="utf-8")
    bad = text.replace('"jsonActionApiDefaults": {', '"jsonActionApiDefaults" {')
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigFileError) as info:  # positions are still those an editor shows
        load_config(path)
    name_end = bad.index('"jsonActionApiDefaults"') + len('"jsonActionApiDefaults"')
    line = bad.count("\n", 0, name_end) + 1
    assert f"line {line}, column" in str(info.value)


# --- repeated keys --------------------------------------------------------------------------------


def _duplicate_warnings(answer: dict[str, Any]) -> list[str]:
    return [w["message"] for w in answer["debugInfo"]["warnings"] if "more than once" in w["message"]]


def test_repeated_keys_at_every_level_keep_the_last_value_and_warn(ask: Ask, admin: str) -> None:
    body = (
        '{"action": "dropAccount", "api": "admin", "action": "describeSessions",'           # top level
        ' "authToken": "not-a-token", "authToken": "%s", "debug": "none", "debug": "max",'
        ' "requestId": {"id": 1, "nested": {"k": "first", "k": "last"}, "id": 2},'          # inside requestId, 2 levels
        ' "params": {"authTokens": ["x"], "authTokens": ["%s"]},'                           # inside params
        ' "params": {"authTokens": ["%s"], "authTokens": ["%s"]}}'                          # params itself repeated
    ) % (admin, admin, admin, admin)
    answer = ask(body)
    assert answer["errorCode"] == 0, answer
    assert answer["requestId"] == {"id": 2, "nested": {"k": "last"}}
    assert [s["authToken"] for s in answer["result"]["sessions"]] == [admin]
    warned = _duplicate_warnings(answer)
    for key in ("action", "authToken", "debug", "id", "k", "authTokens", "params"):
        assert any(f'"{key}"' in message for message in warned), (key, warned)
    # the request copy in debugInfo shows what was used: the last values
    assert answer["debugInfo"]["request"]["action"] == "describeSessions"


def test_repeated_keys_inside_settings_objects(ask: Ask) -> None:
    body = ('{"action": "createSession", "debug": "max", "params": {"username": "ADMIN", "password": "ADMIN",'
            ' "defaultResponseOptions": {"dataFormat": "arrays", "numberFormat": "string", "dataFormat": "objects"},'
            ' "description": "first", "description": "last"}}')
    answer = ask(body)
    assert answer["errorCode"] == 0, answer
    result = answer["result"]
    assert result["description"] == "last"
    assert {k: result["defaultResponseOptions"][k] for k in ("binaryFormat", "dataFormat", "numberFormat")} == {
        "binaryFormat": "hex", "dataFormat": "objects", "numberFormat": "string"}
    warned = _duplicate_warnings(answer)
    assert any('"dataFormat"' in m for m in warned) and any('"description"' in m for m in warned)
    ask({"action": "deleteSession", "authToken": answer["authToken"]})


def test_a_repeated_password_uses_the_last_and_echoes_neither(ask: Ask) -> None:
    body = ('{"action": "createSession", "debug": "max", '
            '"params": {"username": "ADMIN", "password": "Wrong-1st-9q", "password": "ADMIN"}}')
    answer = ask(body)
    assert answer["errorCode"] == 0, answer
    assert "Wrong-1st-9q" not in json.dumps(answer)
    assert answer["debugInfo"]["request"]["params"]["password"] == "********"
    assert any('"password"' in m for m in _duplicate_warnings(answer))
    ask({"action": "deleteSession", "authToken": answer["authToken"]})
    # and the other way round: the right password first, a wrong one last, is a wrong login
    body = ('{"action": "createSession", "debug": "none", '
            '"params": {"username": "ADMIN", "password": "ADMIN", "password": "nope"}}')
    assert ask(body)["errorCode"] == 12033


def test_repeated_keys_without_debug_are_silent_but_still_last_wins(ask: Ask, admin: str) -> None:
    body = '{"action": "listServices", "action": "pingSession", "debug": "none", "requestId": 1, "requestId": 2}'
    answer = ask(body)
    assert answer == {"result": {}, "requestId": 2, "errorCode": 0, "errorMessage": ""}
