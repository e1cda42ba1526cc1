"""%%jsonaction through IPython's own shell, with a MockTransport-backed client."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from jsonaction_fake import PASSWORD, URL, FakeServer
from seed_examples import SEED_CREATE, SEED_DESCRIBE
from tutorial_kit.client.kit_client import KitClient, Response
from tutorial_kit.notebook.magic import (
    ClientRegistry,
    JsonActionMagics,
    get_magics,
    load_ipython_extension,
    set_default_client,
)

CREATE = '{"api": "admin", "action": "createSession", "params": {"username": "ADMIN", "password": "%s"}}' % PASSWORD


@pytest.fixture
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    load_ipython_extension(shell)
    names = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - names:
        del shell.user_ns[name]
    get_magics(shell).lint = True
    get_magics(shell).client_variable = ""


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


@pytest.fixture
def kit(ip: InteractiveShell, fake: FakeServer) -> Iterator[KitClient]:
    client = KitClient(URL, **fake.client_kwargs())
    set_default_client(client, ip)
    yield client
    set_default_client(None, ip)
    client.close()


def run(ip: InteractiveShell, line: str, cell: str) -> tuple[Response, list[str]]:
    with capture_output() as captured:
        response = ip.run_cell_magic("jsonaction", line, cell)
    return response, [output.data["text/plain"] for output in captured.outputs]


def test_sends_the_cell_and_returns_the_response(ip: InteractiveShell, kit: KitClient, fake: FakeServer) -> None:
    response, shown = run(ip, "", CREATE)
    assert isinstance(response, Response) and response.ok
    assert fake.raw[-1] == CREATE.encode()
    assert kit.auth_token == response.auth_token
    assert shown == []


def test_seed_create_session_is_sent_verbatim_with_warnings(ip: InteractiveShell, kit: KitClient,
                                                          fake: FakeServer) -> None:
    response, shown = run(ip, "", SEED_CREATE)
    assert fake.raw[-1] == SEED_CREATE.encode()
    assert response.error_code == 12025
    assert len(shown) == 1
    assert shown[0].startswith("Check this request (3 warnings):")
    assert 'line 6: "username" appears twice in "params" (first on line 5)' in shown[0]


def test_fill_uses_the_client_state_and_shows_notes(ip: InteractiveShell, kit: KitClient, fake: FakeServer) -> None:
    kit.create_session(permanent=True)
    response, shown = run(ip, "--fill", SEED_DESCRIBE)
    assert response.ok
    assert fake.requests[-1]["authToken"] == kit.auth_token
    assert fake.requests[-1]["params"]["authTokens"] == [kit.auth_token]
    assert shown == ['Filled in before sending:\n'
                     '  - authToken: "replaceWithAuthTokenFromCreateSession" -> "T001…" (the token this client '
                     'received last)\n'
                     '  - params.authTokens: the placeholder -> ["T001…"] (the token this client received last)']


def test_fill_of_seed_create_session_still_lacks_a_password(ip: InteractiveShell, kit: KitClient,
                                                            fake: FakeServer) -> None:
    response, shown = run(ip, "--fill", SEED_CREATE)
    assert fake.requests[-1]["params"] == {"username": "ADMIN", "permanentSession": True}
    assert response.error_code == 12025
    assert "missing-password" not in shown[1] and "createSession has no \"password\"" in shown[1]


def test_save_stores_the_response(ip: InteractiveShell, kit: KitClient) -> None:
    response, _ = run(ip, "--save answer", CREATE)
    assert ip.user_ns["answer"] is response
    with pytest.raises(UsageError, match="not a valid variable name"):
        ip.run_cell_magic("jsonaction", "--save 2x", CREATE)


def test_token_from_a_variable_a_response_and_a_literal(ip: InteractiveShell, kit: KitClient,
                                                        fake: FakeServer) -> None:
    api_key = kit.create_session(permanent=True).auth_token
    ip.user_ns["api_key"] = api_key
    _, shown = run(ip, "--token api_key", '{"action": "describeSessions"}')
    assert fake.requests[-1]["authToken"] == api_key
    assert shown == ['Filled in before sending:\n  - authToken -> "T001…" (--token api_key)']
    ip.user_ns["created"] = kit.create_session()
    run(ip, "--token created", '{"action": "pingSession"}')
    assert fake.requests[-1]["authToken"] == ip.user_ns["created"].auth_token
    run(ip, f"--token {api_key}", '{"action": "pingSession"}')
    assert fake.requests[-1]["authToken"] == api_key


def test_token_errors(ip: InteractiveShell, kit: KitClient) -> None:
    with pytest.raises(UsageError, match="no variable named 'api_kye'"):
        ip.run_cell_magic("jsonaction", "--token api_kye", '{"action": "pingSession"}')
    ip.user_ns["nothing"] = 42
    with pytest.raises(UsageError, match="holds a int without a token"):
        ip.run_cell_magic("jsonaction", "--token nothing", '{"action": "pingSession"}')


def test_bad_json_is_a_usage_error_with_line_and_column(ip: InteractiveShell, kit: KitClient,
                                                        fake: FakeServer) -> None:
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("jsonaction", "", '{\n  "action": "pingSession",\n}')
    assert "line 3, column 1" in str(caught.value)
    with pytest.raises(UsageError, match="The cell is empty"):
        ip.run_cell_magic("jsonaction", "", "  \n")
    assert fake.requests == []


def test_bad_json_shows_no_traceback(ip: InteractiveShell, kit: KitClient) -> None:
    with capture_output() as captured:
        result = ip.run_cell('%%jsonaction\n{"action": "pingSession" "x": 1}\n')
    assert isinstance(result.error_in_exec, UsageError)
    assert captured.stderr == ("UsageError: The request is not valid JSON: line 1, column 26: expected a ',' "
                               "between two items\n")
    assert "Traceback" not in captured.stdout


def test_client_option_and_client_variable_setting(ip: InteractiveShell, kit: KitClient) -> None:
    other_fake = FakeServer()
    ip.user_ns["other"] = KitClient(URL, **other_fake.client_kwargs())
    run(ip, "--client other", CREATE)
    assert len(other_fake.requests) == 1
    get_magics(ip).client_variable = "other"
    run(ip, "", CREATE)
    assert len(other_fake.requests) == 2
    with pytest.raises(UsageError, match="no KitClient in a variable named 'missing'"):
        ip.run_cell_magic("jsonaction", "--client missing", CREATE)
    ip.user_ns["other"].close()


def test_no_client_is_a_usage_error(ip: InteractiveShell) -> None:
    set_default_client(None, ip)
    with pytest.raises(UsageError, match="No client to send with"):
        ip.run_cell_magic("jsonaction", "", CREATE)


def test_registry_factory_makes_the_default_client(fake: FakeServer) -> None:
    made: list[KitClient] = []

    def factory() -> KitClient:
        made.append(KitClient(URL, transport=fake.transport))
        return made[-1]

    registry = ClientRegistry(factory=factory)
    assert registry.current is registry.current is made[0]
    made[0].close()
    assert registry.current is made[1]
    with pytest.raises(Exception, match="needs a KitClient"):
        registry.set_current("not a client")  # type: ignore[arg-type]


def test_url_option_uses_another_server(ip: InteractiveShell, kit: KitClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(UsageError, match="ServerNotRunningError: No server answers at http://127.0.0.1:"):
        ip.run_cell_magic("jsonaction", f"--url http://127.0.0.1:{port}/api", '{"action": "pingSession"}')
    made = get_magics(ip).registry.for_url(f"http://127.0.0.1:{port}/api")
    assert made is not kit and made.username is None and made.password is None
    get_magics(ip).registry.close()
    assert made.closed


def test_lint_can_be_turned_off(ip: InteractiveShell, kit: KitClient) -> None:
    get_magics(ip).lint = False
    _, shown = run(ip, "", SEED_CREATE)
    assert shown == []


def test_config_magic_reaches_the_settings(ip: InteractiveShell, kit: KitClient) -> None:
    ip.run_line_magic("config", "JsonActionMagics.lint = False")
    assert get_magics(ip).lint is False


def test_loading_twice_keeps_the_registry(ip: InteractiveShell, kit: KitClient) -> None:
    before = get_magics(ip)
    load_ipython_extension(ip)
    assert get_magics(ip) is before and before.registry.current is kit
    assert isinstance(before, JsonActionMagics)


def test_returned_response_displays_through_ipython(ip: InteractiveShell, kit: KitClient) -> None:
    response, _ = run(ip, "", CREATE)
    data, _ = ip.display_formatter.format(response)
    assert data["text/plain"].startswith("createSession: errorCode 0 (success)")
    assert "errorCode 0" in data["text/html"]
    assert PASSWORD not in json.dumps(data)


def test_http_shows_the_request_as_plain_http_and_no_send_sends_nothing(ip: InteractiveShell, kit: KitClient,
                                                                        fake: FakeServer) -> None:
    login, _ = run(ip, "--save login", CREATE)
    sent = len(fake.raw)
    ping = '{"api": "admin", "action": "pingSession", "authToken": "replaceWithAuthTokenFromCreateSession"}'
    response, shown = run(ip, "--fill --http --no-send", ping)
    assert response is None and len(fake.raw) == sent, "--no-send sends nothing"
    plain = next(text for text in shown if text.startswith("The same request as plain HTTP"))
    assert "login.auth_token" in plain and '"$LOGIN_AUTH_TOKEN"' in plain and login.auth_token not in plain
    response, shown = run(ip, "--fill --http", ping)
    assert response.ok and len(fake.raw) == sent + 1


def test_a_token_variable_not_made_yet_names_its_step(ip: InteractiveShell, kit: KitClient) -> None:
    get_magics(ip).step_names = {"api_key": "Step 2: the request that works"}
    try:
        with pytest.raises(UsageError, match="api_key is made in Step 2: the request that works"):
            ip.run_cell_magic("jsonaction", "--token api_key", '{"api": "admin", "action": "pingSession"}')
    finally:
        get_magics(ip).step_names = {}
