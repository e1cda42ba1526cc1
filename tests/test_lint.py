"""The request linter: what it finds, on which line, in words a learner understands."""

from __future__ import annotations

import copy
import json

import pytest

from seed_examples import SEED_CREATE, SEED_DESCRIBE
from tutorial_kit._exceptions import KitUsageError
from tutorial_kit.client.lint import ADMIN_ACTIONS, LintWarning, lint_request, parse_request
from tutorial_kit.server.jsontext import scan_json


def codes(warnings: list[LintWarning]) -> list[str]:
    return [w.code for w in warnings]


def by_code(warnings: list[LintWarning], code: str) -> LintWarning:
    found = [w for w in warnings if w.code == code]
    assert len(found) == 1, warnings
    return found[0]


def test_seed_create_session_duplicate_key_and_missing_password() -> None:
    warnings = lint_request(SEED_CREATE)
    duplicate = by_code(warnings, "duplicate-key")
    assert duplicate.line == 6
    assert str(duplicate) == ('line 6: "username" appears twice in "params" (first on line 5); JSON keeps only '
                              "the last one, so the first is lost.")
    missing = by_code(warnings, "missing-password")
    assert "errorCode 12025" in missing.message
    assert 'the second one was probably meant to be "password"' in missing.message
    placeholder = by_code(warnings, "placeholder")
    assert placeholder.line == 6 and '"params.username" is still "CHANGE"' in placeholder.message
    assert [w.line for w in warnings] == sorted(w.line for w in warnings)


def test_seed_describe_sessions_placeholders_are_found_on_their_lines() -> None:
    warnings = lint_request(SEED_DESCRIBE)
    assert codes(warnings) == ["placeholder", "placeholder"]
    assert [w.line for w in warnings] == [5, 9]
    assert "replaceWithTheAuthTokensYouWantToCheck" in warnings[0].message
    assert "%%jsonaction --fill" in warnings[1].message


def test_a_clean_request_has_no_warnings() -> None:
    text = json.dumps({"api": "admin", "action": "describeSessions", "authToken": "x" * 64,
                       "params": {"authTokens": ["y" * 64]}, "requestId": 3, "debug": "max"}, indent=2)
    assert lint_request(text) == []
    assert lint_request({"action": "pingSession"}) == []
    assert lint_request({"action": "createsession", "params": {"username": "a", "password": "b"}}) == []


@pytest.mark.parametrize("value", ['"true"', '"false"', '"TRUE"'])
def test_string_booleans_are_flagged_with_the_fix(value: str) -> None:
    text = ('{"action": "createSession",\n "params": {"username": "a", "password": "b",\n "permanentSession": '
            + value + "}}")
    warning = by_code(lint_request(text), "string-boolean")
    assert warning.line == 3
    literal = value.strip('"').lower()
    assert f"write the JSON boolean {literal} without quotes" in warning.message


def test_non_boolean_and_string_number_values() -> None:
    warnings = lint_request({"action": "alterSession", "authToken": "t" * 20,
                             "params": {"idleConnectionTimeoutSeconds": "3600", "permanentSession": 1}})
    assert 'write the number 3600 without quotes' in by_code(warnings, "string-number").message
    assert "must be true or false, not 1" in by_code(warnings, "not-boolean").message
    assert all(w.line is None for w in warnings)


def test_unknown_action_suggests_the_closest() -> None:
    warning = by_code(lint_request('{"action": "describeSesions", "authToken": "abc"}'), "unknown-action")
    assert warning.message == '"describeSesions" is not an action of the admin API. Did you mean "describeSessions"?'
    far = by_code(lint_request({"action": "launchRocket"}), "unknown-action")
    assert all(action in far.message for action in ADMIN_ACTIONS)


def test_unknown_api_and_missing_action() -> None:
    assert "knows only \"admin\"" in by_code(lint_request({"api": "hub", "action": "x"}), "unknown-api").message
    assert codes(lint_request({"api": "admin"})) == ["missing-action"]


@pytest.mark.parametrize("action", ["describeSessions", "listSessions", "alterSession", "deleteSession",
                                    "createAccount", "alterAccount", "dropAccount", "dropAccounts", "listAccounts",
                                    "describeAccounts"])
def test_actions_that_need_a_token(action: str) -> None:
    params = {"username": "ADMIN"} if action == "alterAccount" else {}
    warning = by_code(lint_request({"action": action, "params": params}), "missing-auth-token")
    assert f'{action} needs an "authToken"' in warning.message
    assert codes(lint_request({"action": action, "authToken": "", "params": params})) == ["missing-auth-token"]


def test_faircoms_account_shapes() -> None:
    token = "t" * 20
    warning = by_code(lint_request({"action": "alterAccount", "authToken": token, "params": {"password": "x"}}),
                      "missing-username")
    assert "12025" in warning.message and "the account to change" in warning.message
    renamed = lint_request({"action": "createAccount", "authToken": token,
                            "params": {"username": "a", "description": "d"}})
    assert '"accountDescription"' in by_code(renamed, "account-property").message
    assert '"usernames"' in by_code(lint_request({"action": "dropAccounts", "authToken": token,
                                                  "params": {"username": "a"}}), "account-property").message
    assert (
        lint_request(
            {
                "api": "",
                "action": "createAccount",
                "authToken": token,
                "params": {"username": "a", "accountDescription": "d", "lockoutAfterNFailedAttempts": 3},
            }
        )
        == []
    )
    numbers = lint_request({"action": "createAccount", "authToken": token,
                            "params": {"username": "a", "lockoutAfterNFailedAttempts": "3"}})
    assert "takes the string with a warning" in by_code(numbers, "string-number").message


def test_documented_actions_the_kit_does_not_emulate() -> None:
    warning = by_code(lint_request({"action": "cloneAccount", "authToken": "t" * 20}), "not-emulated")
    assert "FairCom documents" in warning.message and "12008" in warning.message
    assert "unknown-action" not in codes(lint_request({"action": "manageService"}))


@pytest.mark.parametrize("action", ["createSession", "pingSession", "listServices"])
def test_actions_that_need_no_token(action: str) -> None:
    request = {"action": action, "params": {"username": "u", "password": "p"}}
    assert "missing-auth-token" not in codes(lint_request(request))


def test_token_inside_params_is_pointed_out() -> None:
    text = '{"action": "listSessions",\n "params": {\n  "authToken": "abc"}}'
    warning = by_code(lint_request(text), "auth-token-in-params")
    assert warning.line == 3 and "at the top level" in warning.message


def test_misspelled_top_level_property() -> None:
    warning = by_code(lint_request('{"action": "pingSession", "authtoken": "abc"}'), "unknown-property")
    assert 'Did you mean "authToken"? Property names are case-sensitive.' in warning.message
    assert lint_request({"action": "pingSession", "schema": "jsonCommand.org/v1"}) == []


def test_missing_username_and_params_not_an_object() -> None:
    assert codes(lint_request({"action": "createSession", "params": {"password": "p"}})) == ["missing-username"]
    warnings = lint_request({"action": "createSession", "params": [1]})
    assert "params-not-object" in codes(warnings)


def test_bad_debug_value() -> None:
    warning = by_code(lint_request({"action": "pingSession", "debug": "full"}), "unknown-debug")
    assert '"none", "min", "max", "maxOnError"' in warning.message
    assert lint_request({"action": "pingSession", "debug": "MAXONERROR"}) == []


def test_response_example_placeholder_is_explained() -> None:
    request = {"action": "describeSessions", "authToken": "authTokenThatWasChecked"}
    assert "response example" in by_code(lint_request(request), "placeholder").message


def test_invalid_json_gives_one_warning_with_line_and_column() -> None:
    warnings = lint_request('{"action": "pingSession",\n "params": {"a": 1 "b": 2}}')
    assert codes(warnings) == ["invalid-json"]
    assert warnings[0].line == 2
    assert str(warnings[0]).startswith("line 2: The request is not valid JSON (column 20):")
    assert codes(lint_request("[1, 2]")) == ["not-an-object"]


def test_effective_request_is_checked_with_the_source_lines() -> None:
    filled = json.loads(SEED_DESCRIBE)
    filled["authToken"] = "A" * 64
    filled["params"]["authTokens"] = ["A" * 64]
    assert lint_request(SEED_DESCRIBE, effective=filled) == []
    filled["params"]["permanentSession"] = "true"
    assert by_code(lint_request(SEED_DESCRIBE, effective=filled), "string-boolean").line == 4


def test_duplicates_inside_nested_arrays_and_top_level() -> None:
    text = '{"action": "pingSession",\n "action": "pingSession",\n "x": [{"k": 1,\n "k": 2}]}'
    warnings = [w for w in lint_request(text) if w.code == "duplicate-key"]
    assert [(w.line, w.message.split(" (")[0]) for w in warnings] == [
        (2, '"action" appears twice in the request'),
        (4, '"k" appears twice in "x[0]"'),
    ]


def test_strings_that_look_like_keys_are_not_keys() -> None:
    text = '{"action": "pingSession", "requestId": ["a", "a", {"b": "c:", "d": "b"}]}'
    assert lint_request(text) == []


def test_lint_never_changes_the_request() -> None:
    request = {"action": "createSession", "params": {"username": "CHANGE", "permanentSession": "true"}}
    before = copy.deepcopy(request)
    lint_request(request)
    assert request == before


def test_parse_request_reports_line_and_column() -> None:
    with pytest.raises(KitUsageError) as caught:
        parse_request('{\n  "action": "pingSession"\n  "api": "admin"\n}')
    assert str(caught.value) == "The request is not valid JSON: line 3, column 3: expected a ',' between two items"
    with pytest.raises(KitUsageError, match="one JSON object"):
        parse_request('"pingSession"')
    assert parse_request(SEED_CREATE)["params"] == {"username": "CHANGE", "permanentSession": True}


def test_the_json_scanner_finds_each_key_value_and_item_where_it_stands() -> None:
    text = ' {"a\\"b": [1, {"c": "x,}:"}], "a\\"b": null,\n "d": {}} '
    top = scan_json(text)
    assert (top.kind, text[top.start:top.end]) == ("{", text.strip())
    assert [(m.key, text[m.key_start:m.key_end], text[m.value_start:m.value_end]) for m in top.members] == [
        ('a"b', '"a\\"b"', '[1, {"c": "x,}:"}]'), ('a"b', '"a\\"b"', "null"), ("d", '"d"', "{}")]
    assert [text[item.start:item.end] for item in top.members[0].value.items] == ["1", '{"c": "x,}:"}']
    assert [m.key for m in top.members[0].value.items[1].members] == ["c"]


def test_repeated_keys_nested_and_on_one_line_are_reported_in_text_order() -> None:
    text = '{"action": "pingSession", "params": {"a": 1, "a": 2}, "params": {},\n"debug": "max", "debug": "max"}'
    repeats = [(w.message.split(" appears")[0], w.line) for w in lint_request(text) if w.code == "duplicate-key"]
    assert repeats == [('"a"', 1), ('"params"', 1), ('"debug"', 2)]
