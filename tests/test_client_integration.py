"""KitClient, placeholders, display and %%jsonaction against the real embedded server.

``server`` is the shared fixture of ``conftest.py``: ``EmulatorServer(tmp_path, port=0)``, started.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from seed_examples import SEED_CREATE, SEED_DESCRIBE
from tutorial_kit._exceptions import JsonActionError, ServerNotRunningError
from tutorial_kit.client.kit_client import KitClient
from tutorial_kit.client.placeholders import fill_placeholders
from tutorial_kit.notebook.display import ConfigDiff, SessionList
from tutorial_kit.notebook.magic import load_ipython_extension, set_default_client
from tutorial_kit.server import EmulatorServer


def enable_permanent_sessions(home: Path) -> None:
    """Turn the flag on in services.json the way a learner would (the server needs a restart)."""
    path = home / "config" / "services.json"
    config = json.loads(path.read_text())
    config["jsonActionApiDefaults"]["enablePermanentJsonApiSessions"] = True
    path.write_text(json.dumps(config, indent=2))


@pytest.fixture
def permanent_server(server: EmulatorServer) -> EmulatorServer:
    enable_permanent_sessions(server.home)
    return server.restart()


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[KitClient]:
    with KitClient(server.url, username="ADMIN", password="ADMIN") as kit:
        yield kit


def test_session_methods_against_the_server(client: KitClient) -> None:
    created = client.create_session(description="first")
    token = client.auth_token
    assert token == created.auth_token and len(token) == 64
    assert created.result["username"] == "ADMIN" and created.result["permanentSession"] is False
    assert client.ping_session().ok
    altered = client.alter_session(description="renamed", idle_cursor_timeout_seconds=30)
    assert (altered.result["description"], altered.result["idleCursorTimeoutSeconds"]) == ("renamed", 30)
    described = client.describe_sessions(token)
    assert [s["authToken"] for s in described.result["sessions"]] == [token]
    assert [s["username"] for s in client.list_sessions(username_filter="ADMIN").result["sessions"]] == ["ADMIN"]
    services = client.list_services().result
    assert "enablePermanentJsonApiSessions" not in services["jsonActionApiDefaults"]
    assert client.delete_session().ok and client.auth_token is None
    with pytest.raises(JsonActionError) as caught:
        client.with_token(token).ping_session()
    assert caught.value.error_code == 12031


def test_account_methods_against_the_server(server: EmulatorServer, client: KitClient) -> None:
    client.create_session()
    client.create_account("bob", "bob-pw-1", description="Bob")
    assert ("bob", "Bob") in [
        (a["username"], a["accountDescription"]) for a in client.list_accounts().result["accounts"]
    ]
    assert client.describe_accounts("bob").result["accounts"][0]["roleNames"] == []
    with pytest.raises(JsonActionError) as caught:
        client.create_account("BOB", "x")
    assert caught.value.error_code == 12020
    with KitClient(server.url, username="bob", password="bob-pw-1") as bob:
        bob.create_session()
        bob.alter_account("bob-pw-2")
        assert bob.password == "bob-pw-2"
        assert bob.list_accounts(check=False).error_code == 12030
        bob_token = bob.auth_token
    with KitClient(server.url, username="bob", password="bob-pw-2") as bob_again:
        assert bob_again.create_session().ok
    client.drop_account("bob")
    assert "bob" not in [a["username"] for a in client.list_accounts().result["accounts"]]
    assert client.with_token(bob_token).ping_session(check=False).error_code == 12031


def test_permanent_session_needs_the_flag_and_a_restart(server: EmulatorServer, client: KitClient) -> None:
    with pytest.raises(JsonActionError) as caught:
        client.create_session(permanent=True)
    assert caught.value.error_code == 12006
    assert "enablePermanentJsonApiSessions" in caught.value.error_message
    enable_permanent_sessions(server.home)
    client.create_session()
    running = client.list_services().result["jsonActionApiDefaults"]
    in_file = json.loads((server.home / "config" / "services.json").read_text())["jsonActionApiDefaults"]
    assert ConfigDiff(running, in_file).differences == ["enablePermanentJsonApiSessions"]
    server.restart()
    assert client.create_session(permanent=True).result["idleConnectionTimeoutSeconds"] == -1


def test_api_key_works_without_password_survives_restart_and_is_revoked(permanent_server: EmulatorServer,
                                                                          client: KitClient) -> None:
    temporary = client.create_session().auth_token
    api_key = client.create_session(permanent=True).auth_token
    key_client = client.with_token(api_key)
    session = key_client.describe_sessions(api_key).result["sessions"][0]
    assert (session["permanentSession"], session["idleConnectionTimeoutSeconds"]) == (True, -1)
    permanent_server.restart()
    assert key_client.ping_session().ok
    assert client.with_token(temporary).ping_session(check=False).error_code == 12031
    listed = SessionList.from_response(key_client.describe_sessions())
    assert [s["permanentSession"] for s in listed.sessions] == [True]
    key_client.delete_session()
    assert key_client.auth_token is None
    assert client.with_token(api_key).ping_session(check=False).error_code == 12031


def test_placeholders_filled_from_the_client_work_on_the_server(permanent_server: EmulatorServer,
                                                                client: KitClient) -> None:
    client.create_session(permanent=True)
    request, notes = fill_placeholders(json.loads(SEED_DESCRIBE), client)
    assert len(notes) == 2
    response = client.call(request).raise_for_error()
    assert [s["permanentSession"] for s in response.result["sessions"]] == [True]
    seed_create, create_notes = client.fill_placeholders(json.loads(SEED_CREATE))
    assert create_notes == ['params.username: "CHANGE" -> "ADMIN" (the client\'s username)']
    answer = client.call(seed_create)
    assert answer.error_code == 12025 and "password" in answer.error_message


def test_stopped_server_is_reported_with_how_to_start_it(server: EmulatorServer, client: KitClient) -> None:
    server.stop()
    with pytest.raises(ServerNotRunningError, match="tutorial-kit serve"):
        client.ping_session()


@pytest.fixture
def shell(permanent_server: EmulatorServer) -> Iterator[tuple[InteractiveShell, KitClient]]:
    ip = InteractiveShell.instance()
    load_ipython_extension(ip)
    kit = KitClient(permanent_server.url, username="ADMIN", password="ADMIN")
    set_default_client(kit, ip)
    yield ip, kit
    set_default_client(None, ip)
    kit.close()


def run(ip: InteractiveShell, line: str, cell: str) -> tuple[object, list[str]]:
    with capture_output() as captured:
        response = ip.run_cell_magic("jsonaction", line, cell)
    return response, [output.data["text/plain"] for output in captured.outputs]


def test_magic_end_to_end(shell: tuple[InteractiveShell, KitClient]) -> None:
    ip, kit = shell
    seed, shown = run(ip, "", SEED_CREATE)
    assert seed.error_code == 12025
    assert any("appears more than once" in w["message"] for w in seed.warnings)  # the server saw the repeat
    assert "appears twice" in shown[0]
    created, _ = run(ip, "--save created", '{"action": "createSession", "params": {"username": "ADMIN", '
                                           '"password": "ADMIN", "permanentSession": true}}')
    assert created.ok and ip.user_ns["created"] is created and kit.auth_token == created.auth_token
    described, notes = run(ip, "--fill", SEED_DESCRIBE)
    assert described.ok and described.result["sessions"][0]["permanentSession"] is True
    assert notes[0].startswith("Filled in before sending:")
    ip.user_ns["api_key"] = created.auth_token
    kit.auth_token = None
    pinged, _ = run(ip, "--token api_key", '{"action": "pingSession"}')
    assert pinged.ok and pinged.auth_token == created.auth_token
    assert "idleConnectionTimeoutSeconds -1 (never expires)" in repr(described)
    del ip.user_ns["created"], ip.user_ns["api_key"]


def _transcript(home: Path) -> list[str]:
    with EmulatorServer(home, port=0, env={"TUTORIAL_KIT_REPRODUCIBLE": "1"}) as srv:
        enable_permanent_sessions(home)
        srv.restart()
        with KitClient(srv.url, username="ADMIN", password="ADMIN") as kit:
            outputs = [kit.create_session(permanent=True), kit.describe_sessions(), kit.list_services()]
            return [repr(r) + r._repr_html_() for r in outputs]


def test_reproducible_outputs_are_identical_across_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTORIAL_KIT_REPRODUCIBLE", "1")
    first, second = _transcript(tmp_path / "one"), _transcript(tmp_path / "two")
    assert first == second
    assert "kit-host" in first[0] and "2026-01-01T09:00:00" in first[0]


def test_logs_in_before_an_action_that_needs_a_session(server: EmulatorServer) -> None:
    with KitClient(server.url, username="admin", password="ADMIN", debug="none") as fresh:
        assert fresh.auth_token is None
        answer = fresh.describe_sessions()
        assert fresh.auth_token is not None and answer.ok
        assert [s["username"] for s in answer.result["sessions"]] == ["ADMIN"]
        assert "debugInfo" not in answer.envelope, "debug='none' is sent with every action"
        fresh.delete_session()
        assert fresh.auth_token is None
        assert fresh.ping_session().ok and fresh.auth_token is None, "pingSession needs no session"
    with KitClient(server.url) as anonymous:  # no credentials: the server's own error comes back
        with pytest.raises(JsonActionError) as err:
            anonymous.describe_sessions()
        assert err.value.error_code == 12025
