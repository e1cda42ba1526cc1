"""The server's rules without a socket: JSON text, services.json, settings, accounts, the login
throttle, the session table, the store, and the envelope dispatcher called directly."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import strict_json
from tutorial_kit import ConfigFileError
from tutorial_kit.server.accounts import AccountBook, LoginThrottle, hash_password, name_key, verify_password
from tutorial_kit.server.backend import Backend
from tutorial_kit.server.config import DEFAULT_SERVICES, SEED_DEFAULTS, load_config
from tutorial_kit.server.envelope import Dispatcher
from tutorial_kit.server.errors import ApiError
from tutorial_kit.server.jsontext import JsonTextError, parse_json
from tutorial_kit.server.sessions import HostInfo, LiveSessions, Session, format_timestamp
from tutorial_kit.server.settings import check_bool, check_settings, check_string
from tutorial_kit.server.store import AccountRow, Store, StoredSession

FLAG = "enablePermanentJsonApiSessions"

#: The seed tutorial's services.json section, exactly as printed (no ':' after the name).
SEED_SNIPPET = """"jsonActionApiDefaults"
{
  "defaultApi": "hub",
  "defaultBinaryFormat": "hex",
  "defaultDatabaseName": "faircom",
  "defaultDebug": "max",
  "defaultOwnerName": "admin",
  "defaultResponseOptions":
  {
    "binaryFormat": "hex",
    "dataFormat": "objects",
    "numberFormat": "number"
  },
  "idleConnectionTimeoutSeconds": 3600,
  "idleCursorTimeoutSeconds": 600,
  "defaultRetentionPolicy": "autoPurge",
  "defaultRetentionUnit": "week",
  "defaultRetentionPeriod": 4,
  "maxJsonApiSessions": 1024,
  "maxJsonApiSessionsPerIpAddress": 50,
  "maxJsonApiSessionsPerUsername": 50,
  "enablePermanentJsonApiSessions": true
}"""


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- jsontext ----------------------------------------------------------------------------------


def test_parse_json_collects_repeated_keys_and_keeps_the_last_value() -> None:
    parsed = parse_json('{"a": 1, "b": {"c": 1, "c": 2}, "a": 3}')
    assert parsed.value == {"a": 3, "b": {"c": 2}}
    assert parsed.duplicate_keys == ["c", "a"]


def test_missing_colon_is_reported_right_after_the_property_name() -> None:
    text = '{\n  "apiRoot": "./api",\n  ' + SEED_SNIPPET.replace("\n", "\n  ") + "\n}\n"
    with pytest.raises(JsonTextError) as info:
        parse_json(text)
    err = info.value
    line_text = text.splitlines()[err.line - 1]
    assert line_text[: err.column - 1].endswith('"jsonActionApiDefaults"')
    assert (err.line, err.column) == (3, 26)
    assert 'a ":" is missing after the property name "jsonActionApiDefaults"' in err.message
    assert "line 3, column 26" in err.message


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ('{"a": 1,\n "b": }', 2, 7, "a value"),
        ('{"a": 1 "b": 2}', 1, 9, "','"),
        ('{"a": 1,}', 1, 9, "property name in double quotes"),
        ('{\n\n   "a": "x', 3, 9, "closing"),
        ('{"a": 1} x', 1, 10, "end of the text"),
    ],
)
def test_decode_errors_give_line_column_and_what_was_expected(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(JsonTextError) as info:
        parse_json(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in info.value.message
    assert f"line {line}, column {column}" in info.value.message


@pytest.mark.parametrize("text", ["", "   \n "])
def test_empty_text_says_it_is_empty(text: str) -> None:
    with pytest.raises(JsonTextError, match="empty"):
        parse_json(text)


@pytest.mark.parametrize(
    "text",
    ["NaN", '{"a": Infinity}', "[-Infinity]", '{"a": 1e400}', "-1e999", "[" * 5000 + "]" * 5000, "9" * 5000],
)
def test_values_that_are_not_usable_json_are_refused(text: str) -> None:
    with pytest.raises(JsonTextError):
        parse_json(text)


def test_lone_surrogate_escape_parses_to_a_string() -> None:
    assert parse_json('{"a": "\\ud800"}').value == {"a": "\ud800"}


# --- services.json -----------------------------------------------------------------------------


def _services(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "config" / "services.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2), encoding="utf-8")
    return path


def _with_defaults(**values: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(DEFAULT_SERVICES))
    data["jsonActionApiDefaults"].update(values)
    return data


def test_first_start_writes_the_seed_defaults_without_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "config" / "services.json"
    config = load_config(path)
    written = json.loads(path.read_text(encoding="utf-8"))
    seed = json.loads("{" + SEED_SNIPPET.replace('"jsonActionApiDefaults"\n', '"jsonActionApiDefaults":\n') + "}")
    expected = dict(seed["jsonActionApiDefaults"])
    del expected[FLAG]
    assert written["jsonActionApiDefaults"] == expected
    assert list(written["jsonActionApiDefaults"]) == list(expected)
    assert FLAG not in written["jsonActionApiDefaults"] and SEED_DEFAULTS == expected
    assert written["apiRoot"] == "./api"
    assert [
        (item["serviceName"], item["port"], item["protocol"], item["enabled"]) for item in written["listeners"]
    ] == [
        ("http8080", 8080, "http", True),
        ("https8443", 8443, "https", False),
    ]
    assert written["listeners"][1]["tls"] == {"certificateFilename": "./web/fccert.pem"}
    assert not config.permanent_sessions_enabled
    assert config.warnings == ()


def test_an_existing_file_is_not_rewritten(tmp_path: Path) -> None:
    path = _services(tmp_path, '{"jsonActionApiDefaults": {"enablePermanentJsonApiSessions": true}}')
    config = load_config(path)
    assert path.read_text(encoding="utf-8") == '{"jsonActionApiDefaults": {"enablePermanentJsonApiSessions": true}}'
    assert config.permanent_sessions_enabled
    assert config.default("defaultApi") == "hub"  # not in the file: the seed's value
    assert config.listener("http").port == 8080


def test_the_seed_snippet_in_a_file_points_at_the_missing_colon(tmp_path: Path) -> None:
    text = '{\n  "apiRoot": "./api",\n  ' + SEED_SNIPPET.replace("\n", "\n  ") + "\n}\n"
    path = _services(tmp_path, text)
    with pytest.raises(ConfigFileError) as info:
        load_config(path)
    err = info.value
    assert (err.line, err.column) == (3, 26)
    assert err.path == str(path)
    assert str(path) in err.message and "jsonActionApiDefaults" in err.message


@pytest.mark.parametrize(
    ("data", "prop", "fragment"),
    [
        (_with_defaults(maxJsonApiSessions="five"), "jsonActionApiDefaults.maxJsonApiSessions", "integer"),
        (_with_defaults(maxJsonApiSessions=0), "jsonActionApiDefaults.maxJsonApiSessions", "from 1"),
        (
            _with_defaults(idleConnectionTimeoutSeconds=True),
            "jsonActionApiDefaults.idleConnectionTimeoutSeconds",
            "integer",
        ),
        (
            _with_defaults(enablePermanentJsonApiSessions="yes"),
            "jsonActionApiDefaults.enablePermanentJsonApiSessions",
            "no quotes",
        ),
        (_with_defaults(defaultApi="sql"), "jsonActionApiDefaults.defaultApi", '"admin"'),
        (_with_defaults(defaultDatabaseName=""), "jsonActionApiDefaults.defaultDatabaseName", "1 to 64"),
        (
            _with_defaults(defaultResponseOptions={"dataFormat": "rows"}),
            "jsonActionApiDefaults.defaultResponseOptions.dataFormat",
            '"objects"',
        ),
        (_with_defaults(defaultResponseOptions=[]), "jsonActionApiDefaults.defaultResponseOptions", "object"),
        ({"jsonActionApiDefaults": []}, "jsonActionApiDefaults", "object"),
        ({"listeners": {}}, "listeners", "array"),
        ({"listeners": [{"port": 1}, {"port": "http"}]}, "listeners[1].port", "0 to 65535"),
        ({"listeners": [{"port": 1}, {"port": 70000}]}, "listeners[1].port", "0 to 65535"),
        ({"listeners": [{"port": 1, "protocol": 5}]}, "listeners[0].protocol", '"http"'),
        ({"listeners": [{"port": 1, "enabled": "yes"}]}, "listeners[0].enabled", "true or false"),
        (
            {"listeners": [{"port": 1, "protocol": "https", "enabled": True}]},
            "listeners[0].tls.certificateFilename",
            "PEM",
        ),
        ({"apiRoot": 5}, "apiRoot", "string"),
        ([], "the top level", "object"),
    ],
)
def test_wrong_values_name_the_property_path(tmp_path: Path, data: Any, prop: str, fragment: str) -> None:
    path = _services(tmp_path, data)
    with pytest.raises(ConfigFileError) as info:
        load_config(path)
    assert info.value.property_path == prop
    assert prop in info.value.message and fragment in info.value.message
    assert str(path) in info.value.message


def test_unknown_properties_and_repeated_keys_are_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = _with_defaults(maxJsonApiSesions=5)
    data["schema"] = "jsonCommand.org/v1"
    text = json.dumps(data, indent=2).replace('"apiRoot": "./api"', '"apiRoot": "./x", "apiRoot": "./api"')
    path = _services(tmp_path, text)
    with caplog.at_level(logging.WARNING):
        config = load_config(path)
    assert config.api_root == "./api"
    joined = "\n".join(config.warnings)
    assert '"schema"' in joined
    assert "jsonActionApiDefaults.maxJsonApiSesions" in joined
    assert '"apiRoot" appears twice' in joined
    assert len(config.warnings) == 3
    assert all(message in caplog.text for message in config.warnings)


def test_unknown_properties_inside_listeners_and_response_options_are_warnings(tmp_path: Path) -> None:
    data = _with_defaults(defaultResponseOptions={"binaryFormat": "hex", "rowFormat": "x"})
    data["listeners"][0]["colour"] = "red"
    data["listeners"][1]["tls"]["keyFile"] = "x.pem"
    config = load_config(_services(tmp_path, data))
    joined = "\n".join(config.warnings)
    assert "jsonActionApiDefaults.defaultResponseOptions.rowFormat" in joined
    assert "listeners[0].colour" in joined and "listeners[1].tls.keyFile" in joined
    assert len(config.warnings) == 3


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config" / "services.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"apiRoot": "\xff"}')
    with pytest.raises(ConfigFileError, match="UTF-8"):
        load_config(path)


# --- settings ----------------------------------------------------------------------------------


def test_string_true_for_a_boolean_says_to_drop_the_quotes() -> None:
    with pytest.raises(ApiError) as info:
        check_bool("permanentSession", "true")
    assert info.value.code == 12012
    assert "permanentSession" in info.value.message and "true without quotes" in info.value.message
    with pytest.raises(ApiError) as info:
        check_bool("permanentSession", 1)
    assert info.value.code == 12012 and "true or false" in info.value.message
    assert check_bool("permanentSession", False) is False


GOOD_SETTINGS: dict[str, Any] = {
    "description": "é" * 10,
    "defaultApi": "db",
    "defaultDebug": "none",
    "defaultDatabaseName": "d" * 64,
    "defaultOwnerName": "o",
    "defaultBinaryFormat": "byteArray",
    "defaultVariantFormat": "variantObject",
    "defaultResponseOptions": {
        "binaryFormat": "base64",
        "dataFormat": "arrays",
        "numberFormat": "string",
        "variantFormat": "json",
    },
    "idleConnectionTimeoutSeconds": 2_147_483_647,
    "idleCursorTimeoutSeconds": 0,
}


def test_good_settings_are_returned_as_given() -> None:
    assert check_settings({**GOOD_SETTINGS, "username": "x"}) == GOOD_SETTINGS


@pytest.mark.parametrize(
    ("prop", "value", "code", "fragment"),
    [
        ("description", 5, 12012, "string"),
        ("description", "x" * 65_501, 12034, "65500"),
        ("defaultApi", "sql", 12012, '"transform"'),
        ("defaultApi", None, 12012, "null"),
        ("defaultDebug", "min", 12012, '"max"'),
        ("defaultDatabaseName", "", 12012, "at least 1"),
        ("defaultDatabaseName", "é" * 33, 12034, "66 bytes"),
        ("defaultOwnerName", ["x"], 12012, "string"),
        ("defaultBinaryFormat", "HEX", 12012, '"hex"'),
        ("defaultVariantFormat", True, 12012, '"json"'),
        ("defaultResponseOptions", "objects", 12012, "object"),
        ("defaultResponseOptions", {"rows": 1}, 12012, "defaultResponseOptions.rows"),
        ("defaultResponseOptions", {"numberFormat": "int"}, 12012, "defaultResponseOptions.numberFormat"),
        ("idleConnectionTimeoutSeconds", -1, 12012, "from 0"),
        ("idleConnectionTimeoutSeconds", 2_147_483_648, 12012, "2147483647"),
        ("idleConnectionTimeoutSeconds", "60", 12012, "without quotes"),
        ("idleConnectionTimeoutSeconds", 1.5, 12012, "whole number"),
        ("idleCursorTimeoutSeconds", False, 12012, "whole number"),
    ],
)
def test_bad_settings_name_the_property_and_what_is_allowed(prop: str, value: Any, code: int, fragment: str) -> None:
    with pytest.raises(ApiError) as info:
        check_settings({prop: value})
    assert info.value.code == code
    assert prop in info.value.message and fragment in info.value.message


def test_lone_surrogates_are_not_text() -> None:
    with pytest.raises(ApiError) as info:
        check_string("username", "ab\ud800", 1, 31)
    assert info.value.code == 12012 and "username" in info.value.message and "\\ud800" in info.value.message
    assert check_string("username", json.loads('"\\ud83d\\ude00"'), 1, 31) == "\U0001f600"  # a pair is fine


def test_string_limits_count_utf8_bytes() -> None:
    assert check_string("x", "é" * 32, 1, 64) == "é" * 32
    with pytest.raises(ApiError) as info:
        check_string("x", "é" * 32 + "a", 1, 64)
    assert info.value.code == 12034


# --- accounts ----------------------------------------------------------------------------------


def test_password_hash_format_and_verify() -> None:
    stored = hash_password("Secret")
    match = re.fullmatch(r"scrypt\$16384\$8\$1\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)", stored)
    assert match, stored
    assert len(base64.b64decode(match.group(1))) == 16 and len(base64.b64decode(match.group(2))) == 32
    assert "Secret" not in stored
    assert verify_password("Secret", stored)
    assert not verify_password("secret", stored)  # passwords are case-sensitive
    assert hash_password("Secret") != stored  # a fresh salt every time
    assert hash_password("Secret", salt=b"0" * 16) == hash_password("Secret", salt=b"0" * 16)
    assert not verify_password("Secret", "not a hash")
    assert not verify_password("Secret", "scrypt$x$8$1$AAAA$AAAA")


def test_account_names_ignore_case(tmp_path: Path) -> None:
    store = Store(tmp_path / "kit.sqlite3")
    try:
        book = AccountBook(store, FakeClock())
        book.ensure_admin()
        book.ensure_admin()  # idempotent
        assert [row.username for row in store.accounts()] == ["ADMIN"]
        assert book.find("admin").username == "ADMIN" and book.find("Admin").is_admin
        assert verify_password("ADMIN", book.stored_hash_for("aDmIn"))
        assert not verify_password("admin", book.stored_hash_for("ADMIN"))
        book.create("Alice", hash_password("pw"), "a learner", {})
        assert book.find("ALICE").username == "Alice" and not book.find("alice").is_admin
        for other in ("alice", "ALICE", "Alice"):
            with pytest.raises(ApiError) as info:
                book.create(other, "x", "", {})
            assert info.value.code == 12020 and other in info.value.message
        # unknown names are checked against a dummy hash, never matched
        assert not verify_password("", book.stored_hash_for("nobody"))
        with pytest.raises(AssertionError):
            book.drop(book.existing("admin"))  # dropAccounts refuses ADMIN before it gets here
        book.drop(book.existing("ALICE"))
        assert book.find("alice") is None
        with pytest.raises(ApiError) as info:
            book.existing("alice")
        assert info.value.code == 12012
    finally:
        store.close()


def test_name_key_is_upper_case() -> None:
    assert name_key("admin") == name_key("ADMIN") == "ADMIN"


def _blocked(throttle: LoginThrottle, key: str = "ADMIN", address: str = "10.0.0.1") -> str | None:
    try:
        throttle.check(key, address)
    except ApiError as err:
        assert err.code == 12033
        return err.message
    return None


def test_throttle_blocks_on_the_fifth_failure_for_sixty_seconds() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock)
    for _ in range(4):
        assert _blocked(throttle) is None
        throttle.failed("ADMIN", "10.0.0.1")
        clock.advance(1)
    assert _blocked(throttle) is None
    throttle.failed("ADMIN", "10.0.0.1")  # the 5th
    message = _blocked(throttle)
    assert message is not None and "60 more second" in message and "try again" in message
    clock.advance(59.5)
    message = _blocked(throttle)
    assert message is not None and "1 more second" in message
    clock.advance(0.5)
    assert _blocked(throttle) is None


def test_throttle_attempts_during_a_block_do_not_extend_it() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock)
    for _ in range(5):
        throttle.failed("ADMIN", "10.0.0.1")
    for _ in range(30):  # every attempt is refused at check() and never reaches failed()
        clock.advance(1)
        assert _blocked(throttle) is not None
    clock.advance(30)
    assert _blocked(throttle) is None
    # a block leaves no failures behind: one more wrong login does not block again
    throttle.failed("ADMIN", "10.0.0.1")
    assert _blocked(throttle) is None


def test_throttle_is_per_username_and_address() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock)
    for _ in range(5):
        throttle.failed("ADMIN", "10.0.0.1")
    assert _blocked(throttle, "ADMIN", "10.0.0.1") is not None
    assert _blocked(throttle, "ADMIN", "10.0.0.2") is None
    assert _blocked(throttle, "ALICE", "10.0.0.1") is None


def test_throttle_forgets_failures_outside_the_window() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock)
    for _ in range(4):
        throttle.failed("ADMIN", "10.0.0.1")
    clock.advance(60)
    throttle.failed("ADMIN", "10.0.0.1")  # the first four are 60 s old: forgotten
    assert _blocked(throttle) is None
    for _ in range(3):
        throttle.failed("ADMIN", "10.0.0.1")
    assert _blocked(throttle) is None
    throttle.failed("ADMIN", "10.0.0.1")  # 5 within the window
    assert _blocked(throttle) is not None


def test_throttle_success_clears_failures() -> None:
    throttle = LoginThrottle(FakeClock())
    for _ in range(4):
        throttle.failed("ADMIN", "10.0.0.1")
    throttle.succeeded("ADMIN", "10.0.0.1")
    for _ in range(4):
        throttle.failed("ADMIN", "10.0.0.1")
    assert _blocked(throttle) is None


# --- session table -----------------------------------------------------------------------------

HOST = HostInfo("host", "00000000-0000-4000-8000-000000000001", ("127.0.0.1",), "autoPurge", "week", 4)


def _session(table: LiveSessions, token: str, *, user: str = "ADMIN", ip: str = "10.0.0.1", idle: int = 60,
             permanent: bool = False, seq: int = 0) -> Session:
    settings = {"description": "", "defaultDatabaseName": "faircom", "defaultOwnerName": "admin",
                "defaultBinaryFormat": "hex", "defaultVariantFormat": "json", "defaultStringFormat": "json",
                "defaultFixedLengthCharFormat": "sql", "defaultResponseOptions": {},
                "idleConnectionTimeoutSeconds": idle, "idleCursorTimeoutSeconds": 600, "defaultApi": "hub",
                "defaultDebug": "max"}
    now = table.clock()
    session = Session(token, seq, user, name_key(user), settings, permanent, now, now, ip, HOST)
    table.add(session)
    return session


def test_table_counts_every_session_by_address_and_account() -> None:
    table = LiveSessions(FakeClock())
    _session(table, "a", user="ADMIN", ip="10.0.0.1")
    _session(table, "b", user="alice", ip="10.0.0.1", permanent=True)
    _session(table, "c", user="Alice", ip="10.0.0.2")
    assert table.counts("10.0.0.1", "ALICE") == (3, 2, 2)
    assert table.counts("10.0.0.2", "ADMIN") == (3, 1, 1)
    assert table.counts("10.9.9.9", "BOB") == (3, 0, 0)
    assert table.remove("b").token == "b"
    assert table.remove("b") is None
    assert table.counts("10.0.0.1", "ALICE") == (2, 1, 1)
    assert [s.token for s in table] == ["a", "c"]
    assert [s.token for s in table.of_account("ALICE")] == ["c"]


def test_idle_sessions_expire_and_touch_restarts_the_clock() -> None:
    clock = FakeClock()
    table = LiveSessions(clock)
    short = _session(table, "short", idle=10)
    _session(table, "never", idle=0)
    _session(table, "perm", idle=1, permanent=True)
    clock.advance(10)
    assert table.get("short") is short  # exactly the timeout: still alive
    table.touch(short)
    clock.advance(10)
    assert table.get("short") is short
    clock.advance(10.5)
    assert table.get("short") is None
    assert table.counts("10.0.0.1", "ADMIN") == (2, 2, 2)
    clock.advance(10**9)
    assert table.get("never") is not None and table.get("perm") is not None


def test_sweep_removes_only_expired_temporary_sessions() -> None:
    clock = FakeClock()
    table = LiveSessions(clock)
    _session(table, "s1", idle=5)
    s2 = _session(table, "s2", idle=5)
    _session(table, "s3", idle=100)
    _session(table, "p", idle=1, permanent=True)
    clock.advance(4)
    table.touch(s2)
    clock.advance(2)
    assert [s.token for s in table.sweep()] == ["s1"]
    assert sorted(s.token for s in table) == ["p", "s2", "s3"]
    clock.advance(4)
    assert [s.token for s in table.sweep()] == ["s2"]
    assert table.sweep() == []
    assert len(table) == 2 and table.counts("10.0.0.1", "ADMIN") == (2, 2, 2)


def test_changed_idle_timeout_is_rescheduled() -> None:
    clock = FakeClock()
    table = LiveSessions(clock)
    session = _session(table, "s", idle=100)
    session.settings["idleConnectionTimeoutSeconds"] = 2
    table.reschedule(session)
    clock.advance(3)
    assert [s.token for s in table.sweep()] == ["s"]
    session2 = _session(table, "t", idle=2)
    session2.settings["idleConnectionTimeoutSeconds"] = 0
    table.reschedule(session2)
    clock.advance(100)
    assert table.sweep() == [] and table.get("t") is session2


def test_session_json_follows_the_last_access_time() -> None:
    clock = FakeClock(1_700_000_000)
    table = LiveSessions(clock)
    session = _session(table, "tok", permanent=True)
    assert session.to_dict()["idleConnectionTimeoutSeconds"] == -1
    assert json.loads(session.to_json()) == session.to_dict()
    clock.advance(75)
    table.touch(session)
    data = json.loads(session.to_json())
    assert data == session.to_dict()
    assert data["sessionStartTimestamp"] == "2023-11-14T22:13:20"
    assert data["sessionLastAccessedTimestamp"] == "2023-11-14T22:14:35"
    assert table.dirty_permanent == {"tok": clock.now}


def test_format_timestamp_is_utc_without_fraction() -> None:
    assert format_timestamp(0.999) == "1970-01-01T00:00:00"
    assert format_timestamp(1_727_000_000) == "2024-09-22T10:13:20"


# --- store -------------------------------------------------------------------------------------


def test_migrations_are_idempotent_and_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "data" / "kit.sqlite3"
    store = Store(path)
    store.insert_account(AccountRow("ALICE", "Alice", "hash", "d", False))
    store.insert_session(StoredSession("tok1", 1, "ALICE", {"description": "x"}, 1.0, 2.0, "10.0.0.1"))
    store.insert_session(StoredSession("tok2", 2, "ALICE", {}, 3.0, 3.0, "10.0.0.1"))
    uuid1 = store.host_uuid()
    store.close()
    store.close()  # idempotent

    store = Store(path)
    try:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid1)
        assert store.host_uuid() == uuid1
        assert store.account("ALICE") == AccountRow("ALICE", "Alice", "hash", "d", False, {}, None)
        assert [(r.token, r.settings, r.started, r.last_access) for r in store.sessions()] == [
            ("tok1", {"description": "x"}, 1.0, 2.0), ("tok2", {}, 3.0, 3.0)]
        assert store.max_session_seq() == 2
        store.touch_sessions({"tok1": 9.0})
        store.update_session_settings("tok2", {"defaultApi": "db"})
        assert store.next_counter("c") == 1 and store.next_counter("c") == 2
    finally:
        store.close()

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT name FROM _migrations").fetchall() == [
            ("0001_initial",),
            ("0002_account_properties",),
        ]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT last_access FROM permanent_sessions WHERE token='tok1'").fetchone()[0] == 9.0
    finally:
        conn.close()

    store = Store(path)
    try:
        assert store.next_counter("c") == 3
        store.delete_account("ALICE")
        assert store.sessions() == [] and store.account("ALICE") is None
    finally:
        store.close()
    assert (path.stat().st_mode & 0o777) == 0o600


def test_atomic_rolls_back_on_error() -> None:
    store = Store(":memory:")
    try:
        with pytest.raises(RuntimeError):
            with store.atomic() as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
                raise RuntimeError("boom")
        assert store.meta("k") is None
    finally:
        store.close()


# --- the dispatcher, called directly ------------------------------------------------------------


class Direct:
    """A Backend on a temporary store with a fake clock, and its Dispatcher."""

    def __init__(self, tmp_path: Path, **defaults: Any) -> None:
        path = tmp_path / "config" / "services.json"
        if defaults:
            _services(tmp_path, _with_defaults(**defaults))
        self.clock = FakeClock()
        self.home = tmp_path
        self.backend = Backend(load_config(path), Store(tmp_path / "data" / "kit.sqlite3"), clock=self.clock)
        self.dispatcher = Dispatcher(self.backend)

    def __call__(self, body: Any, ip: str = "10.0.0.1") -> dict[str, Any]:
        text = body if isinstance(body, (str, bytes)) else json.dumps(body)
        answer = self.dispatcher.handle(text, ip)
        out = answer.ready if answer.ready is not None else asyncio.run(answer.wait())
        return strict_json(out)

    def login(
        self, username: str = "ADMIN", password: str = "ADMIN", ip: str = "10.0.0.1", **params: Any
    ) -> dict[str, Any]:
        return self({"action": "createSession", "debug": "none",
                     "params": {"username": username, "password": password, **params}}, ip)

    def close(self) -> None:
        self.backend.close()


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[Direct]:
    d = Direct(tmp_path)
    try:
        yield d
    finally:
        d.close()


def test_dispatcher_logs_in_and_describes(direct: Direct) -> None:
    answer = direct.login("admin")
    assert answer["errorCode"] == 0 and answer["result"]["username"] == "ADMIN"
    token = answer["authToken"]
    answer = direct({"action": "describeSessions", "authToken": token, "debug": "none"})
    assert [s["authToken"] for s in answer["result"]["sessions"]] == [token]
    assert list(answer) == ["authToken", "result", "errorCode", "errorMessage"]


def test_dispatcher_throttle_with_fake_clock(direct: Direct) -> None:
    for attempt in range(5):
        answer = direct.login(password="wrong")
        assert answer["errorCode"] == 12033 and "wrong" in answer["errorMessage"], attempt
    blocked = direct.login()  # the right password is refused while blocked
    assert blocked["errorCode"] == 12033 and "blocked for 60 more second" in blocked["errorMessage"]
    assert direct.login(ip="10.0.0.2")["errorCode"] == 0  # another address is not affected
    direct.clock.advance(30)
    assert "30 more second" in direct.login()["errorMessage"]
    direct.clock.advance(30)
    assert direct.login()["errorCode"] == 0


def test_dispatcher_idle_expiry_with_fake_clock(direct: Direct) -> None:
    token = direct.login(idleConnectionTimeoutSeconds=10)["authToken"]
    ping = {"action": "pingSession", "authToken": token, "debug": "none"}
    direct.clock.advance(9)
    assert direct(ping)["errorCode"] == 0
    direct.clock.advance(9)
    assert direct(ping)["errorCode"] == 0  # the ping restarted the idle clock
    direct.clock.advance(11)
    answer = direct(ping)
    assert answer["errorCode"] == 12031 and "createSession" in answer["errorMessage"]
    assert len(direct.backend.sessions) == 0


def test_dispatcher_last_access_is_updated_and_flushed_for_permanent_sessions(tmp_path: Path) -> None:
    direct = Direct(tmp_path, enablePermanentJsonApiSessions=True)
    try:
        answer = direct.login(permanentSession=True)
        token = answer["authToken"]
        started = answer["result"]["sessionStartTimestamp"]
        direct.clock.advance(125)
        answer = direct({"action": "describeSessions", "authToken": token, "debug": "none"})
        session = answer["result"]["sessions"][0]
        assert session["sessionStartTimestamp"] == started
        assert session["sessionLastAccessedTimestamp"] == format_timestamp(direct.clock.now)
        assert session["idleConnectionTimeoutSeconds"] == -1
        direct.backend.flush()
        assert [row.last_access for row in direct.backend.store.sessions()] == [direct.clock.now]
    finally:
        direct.close()
    # a new backend on the same home loads the permanent session
    again = Direct(tmp_path)
    try:
        answer = again({"action": "pingSession", "authToken": token, "debug": "none"})
        assert answer["errorCode"] == 0
    finally:
        again.close()


def test_dispatcher_session_limits_are_exact(tmp_path: Path) -> None:
    direct = Direct(tmp_path, maxJsonApiSessions=3, maxJsonApiSessionsPerIpAddress=2, maxJsonApiSessionsPerUsername=100)
    try:
        assert direct.login(ip="10.0.0.1")["errorCode"] == 0
        assert direct.login(ip="10.0.0.1")["errorCode"] == 0
        answer = direct.login(ip="10.0.0.1")
        assert answer["errorCode"] == 12015 and "maxJsonApiSessionsPerIpAddress" in answer["errorMessage"]
        assert direct.login(ip="10.0.0.2")["errorCode"] == 0
        answer = direct.login(ip="10.0.0.3")
        assert answer["errorCode"] == 12015 and "maxJsonApiSessions " in answer["errorMessage"]
        assert len(direct.backend.sessions) == 3
    finally:
        direct.close()


def test_dispatcher_turns_unexpected_errors_into_12009(direct: Direct, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    def boom(*args: Any) -> Any:
        raise RuntimeError("secret detail 4242")

    token = direct.login()["authToken"]
    monkeypatch.setattr(direct.backend.sessions, "sweep", boom)
    sync_answer = direct({"action": "listSessions", "authToken": token, "requestId": 7})  # sync path
    async_answer = direct.login()  # createSession sweeps before its limit check (async path)
    for answer in (sync_answer, async_answer):
        assert answer["errorCode"] == 12009 and "log" in answer["errorMessage"]
        assert "4242" not in json.dumps(answer) and "Traceback" not in json.dumps(answer)
    assert sync_answer["requestId"] == 7
    assert caplog.text.count("secret detail 4242") >= 2 and "Traceback" in caplog.text
