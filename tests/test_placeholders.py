"""Filling FairCom's documentation placeholders: explicit, noted, never touching the input."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest

from jsonaction_fake import PASSWORD, URL, FakeServer
from tutorial_kit.client.kit_client import KitClient
from tutorial_kit.client.placeholders import ALL_PLACEHOLDERS, TOKEN_PLACEHOLDERS, fill_placeholders, find_placeholders

SEED_DESCRIBE = {
    "api": "admin",
    "action": "describeSessions",
    "params": {"authTokens": ["replaceWithTheAuthTokensYouWantToCheck"]},
    "authToken": "replaceWithAuthTokenFromCreateSession",
}
CREATE = {"api": "admin", "action": "createSession",
          "params": {"username": "CHANGE", "password": "CHANGE", "permanentSession": True}}


@pytest.fixture
def client() -> Iterator[KitClient]:
    fake = FakeServer()
    with KitClient(URL, **fake.client_kwargs()) as kit:
        kit.create_session(permanent=True)
        yield kit


def test_the_documented_placeholder_names_are_known() -> None:
    assert {"replaceWithAuthTokenFromCreateSession", "replaceWithTheAuthTokensYouWantToCheck",
            "authTokenThatWasChecked", "replaceWithValidAuthtoken", "anAuthorizationTokenFromTheServer"} <= set(
        TOKEN_PLACEHOLDERS)
    assert "CHANGE" in ALL_PLACEHOLDERS


def test_seed_describe_sessions_filled_from_the_client(client: KitClient) -> None:
    token = client.auth_token
    request, notes = fill_placeholders(SEED_DESCRIBE, client)
    assert request == {"api": "admin", "action": "describeSessions", "params": {"authTokens": [token]},
                       "authToken": token}
    assert list(request) == list(SEED_DESCRIBE)
    assert notes == [
        'authToken: "replaceWithAuthTokenFromCreateSession" -> "T001…" (the token this client received last)',
        'params.authTokens: the placeholder -> ["T001…"] (the token this client received last)',
    ]
    assert token not in " ".join(notes)


def test_input_is_not_changed(client: KitClient) -> None:
    before = copy.deepcopy(SEED_DESCRIBE)
    fill_placeholders(SEED_DESCRIBE, client)
    assert SEED_DESCRIBE == before


def test_explicit_values_win_over_the_client(client: KitClient) -> None:
    request, notes = fill_placeholders(SEED_DESCRIBE, client, auth_token="KEY1" + "k" * 60,
                                       check_tokens=["CHK1" + "c" * 60, "CHK2" + "c" * 60])
    assert request["authToken"] == "KEY1" + "k" * 60
    assert request["params"]["authTokens"] == ["CHK1" + "c" * 60, "CHK2" + "c" * 60]
    assert notes[1] == 'params.authTokens: the placeholder -> ["CHK1…", "CHK2…"] (given)'


def test_several_placeholders_in_auth_tokens_become_one_list(client: KitClient) -> None:
    request = {"action": "describeSessions", "authToken": "replaceWithAuthTokenFromCreateSession",
               "params": {"authTokens": ["replaceWithAuthTokenFromCreateSession", "real-token-xyz",
                                         "replaceWithAuthTokenFromCreateSession"]}}
    filled, notes = fill_placeholders(request, client)
    assert filled["params"]["authTokens"] == [client.auth_token, "real-token-xyz"]
    assert "2 placeholders" in notes[1]


def test_create_session_credentials_from_the_client_password_masked(client: KitClient) -> None:
    request, notes = fill_placeholders(CREATE, client)
    assert request["params"] == {"username": "ADMIN", "password": PASSWORD, "permanentSession": True}
    assert notes == ['params.username: "CHANGE" -> "ADMIN" (the client\'s username)',
                     "params.password: \"CHANGE\" -> ******** (the client's password)"]
    assert PASSWORD not in " ".join(notes)


def test_change_elsewhere_is_left_with_a_note(client: KitClient) -> None:
    request = {"action": "createAccount", "authToken": "t" * 64,
               "params": {"username": "CHANGE", "password": "CHANGE"}}
    filled, notes = fill_placeholders(request, client)
    assert filled == request
    assert notes == ['params.username: left "CHANGE" as is: put the value you mean there yourself',
                     'params.password: left "CHANGE" as is: put the value you mean there yourself']


def test_without_a_token_the_placeholders_stay_and_say_why() -> None:
    with KitClient(URL, transport=FakeServer().transport) as kit:
        request, notes = fill_placeholders(SEED_DESCRIBE, kit)
    assert request == SEED_DESCRIBE
    assert notes[0].startswith('authToken: left "replaceWithAuthTokenFromCreateSession" as is: there is no token yet')
    assert notes[1].startswith("params.authTokens: left the placeholders as they are")
    assert len(notes) == 2


def test_without_a_client_explicit_values_are_used() -> None:
    request, notes = fill_placeholders(CREATE, username="bob", password="pw")
    assert request["params"]["username"] == "bob" and request["params"]["password"] == "pw"
    missing, missing_notes = fill_placeholders(CREATE)
    assert missing == CREATE
    assert missing_notes[0] == 'params.username: left "CHANGE" as is: the client has no username; pass username=...'


def test_the_given_auth_token_is_also_the_token_to_check() -> None:
    request, _ = fill_placeholders(SEED_DESCRIBE, auth_token="KEY9" + "k" * 60)
    assert request["params"]["authTokens"] == ["KEY9" + "k" * 60]


def test_nothing_to_fill_gives_no_notes(client: KitClient) -> None:
    request = {"action": "pingSession"}
    assert fill_placeholders(request, client) == (request, [])


def test_find_placeholders_paths() -> None:
    found = find_placeholders(json.loads(json.dumps(SEED_DESCRIBE)))
    assert found == [("params.authTokens[0]", "replaceWithTheAuthTokensYouWantToCheck"),
                     ("authToken", "replaceWithAuthTokenFromCreateSession")]


def test_client_method_delegates(client: KitClient) -> None:
    request, notes = client.fill_placeholders(SEED_DESCRIBE, check_tokens="ZZZZ" + "z" * 60)
    assert request["authToken"] == client.auth_token
    assert request["params"]["authTokens"] == ["ZZZZ" + "z" * 60]


def test_non_dict_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="needs a request dict"):
        fill_placeholders('{"action": "pingSession"}')  # type: ignore[arg-type]


def test_the_text_of_a_broken_example_keeps_its_mistakes() -> None:
    from seed_examples import SEED_CREATE
    from tutorial_kit.client.placeholders import fill_placeholders_text

    text, notes = fill_placeholders_text(SEED_CREATE, username="ADMIN", password="pw")
    assert text == SEED_CREATE.replace('"CHANGE"', '"ADMIN"')  # both usernames filled, nothing else
    assert len(notes) == 2
    printed = '{"api": "admin"\n "action": "describeSessions", "params": {"authTokens": ["replaceWithValidAuthtoken",' \
              ' "replaceWithAnotherValidAuthtoken"]}, "authToken": "replaceWithValidAuthtoken"}'
    filled, notes = fill_placeholders_text(printed, auth_token="A" * 64, check_tokens=["B" * 64, "C" * 64])
    assert filled == printed.replace('["replaceWithValidAuthtoken"', '["' + "B" * 64 + '"').replace(
        "replaceWithAnotherValidAuthtoken", "C" * 64).replace('"authToken": "replaceWithValidAuthtoken"',
                                                             '"authToken": "' + "A" * 64 + '"')
    assert fill_placeholders_text('{"action": "pingSession"}').text == '{"action": "pingSession"}'
