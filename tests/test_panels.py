"""The ipywidgets panels, driven headlessly: set values, .click() buttons, check widgets and server.

The session panel, the sessions table and the playground run against the in-process server (the
``server`` fixture); the server panel against a real managed server (ServerControl, marked slow)
and, in remote mode, against the in-process server. A last slow test runs a notebook twice with
nbclient and checks that the panels' text/plain outputs are the same.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tutorial_kit import ServerNotRunningError, panels
from tutorial_kit.client.kit_client import KitClient
from tutorial_kit.control.local import RemoteControl, ServerControl
from tutorial_kit.server import EmulatorServer

FLAG = "enablePermanentJsonApiSessions"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def _not_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUTORIAL_KIT_REPRODUCIBLE", raising=False)


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[KitClient]:
    with KitClient(server.url, username="ADMIN", password="ADMIN") as c:
        yield c


@pytest.fixture
def permanent_on(home: Path, server: EmulatorServer, enable_permanent: Callable[..., Any]) -> EmulatorServer:
    return enable_permanent(home, server)


def widget_texts(widget: Any) -> str:
    """Every string value of ``widget`` and its descendants (what the front end is sent)."""
    found = []
    for value in widget.get_state().values():
        if isinstance(value, str):
            found.append(value)
    for child in getattr(widget, "children", ()):
        found.append(widget_texts(child))
    return "\n".join(found)


def text_of(value: str) -> str:
    """The visible text of an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", value))


def ping(url: str, token: str) -> int:
    with KitClient(url) as anyone:
        return anyone.with_token(token).ping_session(check=False).error_code


def create(panel: panels.SessionPanel, password: str, *, permanent: bool = False) -> None:
    panel.password_input.value = password
    panel.permanent_checkbox.value = permanent
    panel.create_button.click()


# --- session panel ---------------------------------------------------------------------------


def test_session_panel_creates_a_permanent_session(permanent_on: EmulatorServer, client: KitClient) -> None:
    panel = panels.session_panel(client)
    assert panel.username_text.value == "ADMIN" and panel.password_input.value == ""
    create(panel, "ADMIN", permanent=True)
    assert panel.error_html.value == "" and panel.last_response is not None and panel.last_response.ok
    token = client.auth_token
    assert token and panel.last_response.auth_token == token
    shown = panel.result_html.value
    assert "permanentSession: true" in shown and "never expires" in shown
    assert f">{token[:4]}…<" in shown and token not in widget_texts(panel)
    described = client.describe_sessions(token).result["sessions"]
    assert described[0]["permanentSession"] is True and described[0]["idleConnectionTimeoutSeconds"] == -1
    assert repr(panel) == ("<SessionPanel: username 'ADMIN', permanent ticked; "
                           "last answer errorCode 0, permanentSession true>")


def test_session_panel_never_shows_or_keeps_the_password(permanent_on: EmulatorServer, client: KitClient) -> None:
    panel = panels.session_panel(client)
    panel.password_input.value = "s3cret-Pw"
    assert "s3cret-Pw" not in repr(panel) and "s3cret-Pw" not in repr(panel.password_input)
    panel.create_button.click()  # a wrong password: refused
    assert panel.password_input.value == ""  # emptied after each attempt
    assert "s3cret-Pw" not in widget_texts(panel) and "s3cret-Pw" not in repr(panel)
    assert "errorCode" in panel.result_html.value and panel.last_response is not None
    assert not panel.last_response.ok and client.auth_token is None


def test_session_panel_shows_the_servers_refusal(server: EmulatorServer, client: KitClient) -> None:
    panel = panels.session_panel(client)
    create(panel, "ADMIN", permanent=True)  # the flag is off on a fresh server
    response = panel.last_response
    assert response is not None and not response.ok
    shown = panel.result_html.value
    assert f"errorCode {response.error_code}" in shown and "kit-error-message" in shown
    assert response.error_message in text_of(shown)
    assert panel.error_html.value == ""


def test_session_panel_asks_for_a_password_instead_of_sending(server: EmulatorServer, client: KitClient) -> None:
    panel = panels.session_panel(client)
    panel.create_button.click()
    assert "Type a username and a password" in panel.result_html.value
    assert panel.last_response is None and client.auth_token is None


def test_a_callback_that_raises_shows_its_error_in_the_panel(
    server: EmulatorServer, client: KitClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = panels.session_panel(client)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom in the helper")

    monkeypatch.setattr(client, "create_session", broken)
    create(panel, "ADMIN")
    assert "RuntimeError" in panel.error_html.value and "boom in the helper" in panel.error_html.value
    assert "traceback" in panel.error_html.value
    assert panel.last_error == "creating the session: RuntimeError: boom in the helper"
    monkeypatch.undo()
    create(panel, "ADMIN")  # the next click that works clears the error
    assert panel.error_html.value == "" and panel.last_error is None


def test_a_stopped_server_shows_as_a_message_not_a_traceback(server: EmulatorServer, client: KitClient) -> None:
    panel = panels.session_panel(client)
    server.stop()
    create(panel, "ADMIN")
    assert "No server answers at" in panel.error_html.value and "traceback" not in panel.error_html.value
    assert panel.last_error is not None and ServerNotRunningError.__name__ in panel.last_error


# --- sessions table --------------------------------------------------------------------------


def test_table_without_a_session_says_so_and_offers_to_log_in(server: EmulatorServer, client: KitClient) -> None:
    table = panels.sessions_table(client)
    assert table.rows == [] and "create a session first" in table.message_html.value
    assert repr(table) == "<SessionsTable: no session to describe with (create a session first)>"
    assert table.login_button.layout.display is None
    table.login_button.click()
    assert client.auth_token and [row.own for row in table.rows] == [True]
    assert table.login_button.layout.display == "none" and repr(table) == "<SessionsTable: 1 session(s), 0 permanent>"
    with KitClient(server.url) as anonymous:
        assert panels.sessions_table(anonymous).login_button.layout.display == "none"  # no credentials


def test_table_lists_sessions_and_revokes_a_permanent_one(permanent_on: EmulatorServer, client: KitClient) -> None:
    key = client.create_session(permanent=True, description="ci key").auth_token
    client.create_session()  # the client now uses a temporary session
    table = panels.sessions_table(client)
    assert len(table.rows) == 2 and table.error_html.value == ""
    by_token = {row.token: row for row in table.rows}
    permanent = by_token[key]
    assert permanent.permanent and not permanent.own and "kit-row-permanent" in permanent.box._dom_classes
    cells = [c.value for c in permanent.cells]
    assert f"{key[:4]}…" in cells[0] and key not in widget_texts(table)
    assert "ADMIN" in cells[1] and "ci key" in cells[2] and "permanent" in cells[3] and "never expires" in cells[4]
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", cells[5])
    temporary = next(row for row in table.rows if row.token != key)
    assert temporary.own and "this client" in temporary.cells[1].value and "temporary" in temporary.cells[3].value
    assert "(none)" in temporary.cells[2].value
    assert re.search(r">\d+ s<", temporary.cells[4].value)
    assert repr(table) == "<SessionsTable: 2 session(s), 1 permanent>"
    assert ping(permanent_on.url, key) == 0
    permanent.revoke_button.click()  # asks first: nothing is sent yet
    assert permanent.asking and ping(permanent_on.url, key) == 0
    assert "cannot be brought back" in table.message_html.value
    permanent.cancel_button.click()
    assert not permanent.asking and ping(permanent_on.url, key) == 0 and "kept" in table.message_html.value
    permanent.revoke_button.click()
    permanent.confirm_button.click()
    assert table.error_html.value == ""
    assert ping(permanent_on.url, key) == 12031
    assert [row.token for row in table.rows] == [temporary.token]
    message = table.message_html.value
    assert f"revoked {key[:4]}…" in message and "API key no longer works" in message
    assert client.auth_token == temporary.token


def test_revoking_the_clients_own_session_leaves_it_without_one(server: EmulatorServer, client: KitClient) -> None:
    client.create_session()
    table = panels.sessions_table(client)
    own = table.rows[0]
    own.revoke_button.click()
    own.confirm_button.click()
    assert client.auth_token is None and table.rows == [] and ping(server.url, own.token) == 12031
    message = text_of(table.message_html.value)
    assert "client's own session" in message and "create a session first" in message


def test_refresh_after_the_session_ended_shows_the_error_code(server: EmulatorServer, client: KitClient) -> None:
    client.create_session()
    table = panels.sessions_table(client)
    with KitClient(server.url) as other:
        other.delete_session(client.auth_token)
    table.refresh_button.click()
    assert table.rows == [] and "errorCode 12031" in table.message_html.value
    assert repr(table) == "<SessionsTable: describeSessions errorCode 12031>"


# --- playground ------------------------------------------------------------------------------


def test_playground_loads_templates_and_lints_before_sending(server: EmulatorServer, client: KitClient) -> None:
    play = panels.playground(client)
    assert json.loads(play.request_text.value)["action"] == "pingSession"  # changes nothing on the server
    play.action_dropdown.value = "createSession"
    params = json.loads(play.request_text.value)["params"]
    assert "permanentSession" not in params, "a new API key only when the learner asks for one"
    assert "no warnings" in play.lint_html.value  # CHANGE will be filled from the client
    play.fill_checkbox.value = False
    assert "CHANGE" in play.lint_html.value and play.warnings
    play.action_dropdown.value = "describeSessions"
    assert json.loads(play.request_text.value)["authToken"] == "replaceWithAuthTokenFromCreateSession"
    play.request_text.value = '{"api": "admin", "action": "pingSession", "action": "pingSession",\n "debug": 3}'
    codes = [w.code for w in play.warnings]
    assert "duplicate-key" in codes and "unknown-debug" in codes
    assert "appears twice" in play.lint_html.value and play.last_response is None  # shown, nothing sent
    assert repr(play).startswith("<Playground: describeSessions, ")


def test_playground_sends_with_placeholders_filled(server: EmulatorServer, client: KitClient) -> None:
    play = panels.playground(client, "createSession")
    play.send_button.click()
    assert play.error_html.value == "" and play.last_response is not None and play.last_response.ok
    assert client.auth_token  # the client keeps the token createSession gave it
    answer = play.answer_html.value
    assert 'params.password: "CHANGE" -> ********' in text_of(answer) and "ADMIN" in answer
    assert client.auth_token not in answer and "errorCode 0" in answer
    play.action_dropdown.value = "describeSessions"
    play.send_button.click()
    assert play.last_response.ok and len(play.last_response.result["sessions"]) == 1
    assert repr(play) == "<Playground: describeSessions, 0 lint warnings; last answer errorCode 0>"


def test_playground_sends_text_as_typed(server: EmulatorServer, client: KitClient) -> None:
    play = panels.playground(client)
    play.fill_checkbox.value = False
    play.request_text.value = "{not json"
    assert [w.code for w in play.warnings] == ["invalid-json"]
    play.send_button.click()  # the server's own answer to text that is not JSON
    assert play.error_html.value == "" and play.last_response is not None and not play.last_response.ok
    assert f"errorCode {play.last_response.error_code}" in play.answer_html.value


# --- server panel ----------------------------------------------------------------------------


@pytest.fixture
def control(tmp_path: Path) -> Iterator[ServerControl]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
    ctl = ServerControl(tmp_path / "managed", env=env)
    try:
        yield ctl
    finally:
        ctl.stop()


@pytest.mark.slow
def test_server_panel_switch_edits_the_file_and_restart_applies_it(control: ServerControl) -> None:
    control.start()
    panel = panels.server_panel(control)
    assert panel.status is not None and panel.status.running and panel.flag_switch.value is False
    assert repr(panel) == "<ServerPanel: running, flag file=(absent) running=(absent)>"
    assert "kit-in-sync" in panel.status_html.value and panel.restart_button.description == "restart server"
    panel.flag_switch.value = True
    assert json.loads(control.services_path.read_text())["jsonActionApiDefaults"][FLAG] is True
    assert "kit-restart-needed" in panel.status_html.value and "restart needed" in panel.status_html.value
    assert repr(panel) == "<ServerPanel: running, flag file=true running=(absent), restart needed>"
    assert "permanent sessions in services.json: on" == panel.flag_switch.description
    panel.restart_button.click()
    assert panel.error_html.value == "" and "restarted" in panel.message_html.value
    assert "kit-restart-needed" not in panel.status_html.value and panel.status.running_defaults[FLAG] is True
    assert repr(panel) == "<ServerPanel: running, flag file=true running=true>"
    panel.flag_switch.value = False
    assert json.loads(control.services_path.read_text())["jsonActionApiDefaults"][FLAG] is False
    assert repr(panel) == "<ServerPanel: running, flag file=false running=true, restart needed>"


@pytest.mark.slow
def test_server_panel_shows_where_services_json_is_broken(control: ServerControl) -> None:
    control.start()
    panel = panels.server_panel(control)
    text = control.services_path.read_text()
    control.services_path.write_text(text.replace('"jsonActionApiDefaults"', '"jsonActionApiDefaults" oops', 1))
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"jsonActionApiDefaults"' in row)
    panel.refresh_button.click()
    assert "kit-file-error" in panel.status_html.value and panel.flag_switch.disabled
    panel.restart_button.click()
    assert panel.error_html.value == "" and panel.start_error is not None
    assert f"line {line}, column" in panel.start_error and "kit-start-error" in panel.status_html.value
    assert f"line {line}, column" in panel.status_html.value and "did not start" in panel.status_html.value
    assert not panel.status.running and panel.restart_button.description == "start server"
    assert repr(panel) == "<ServerPanel: not running, services.json broken, last start failed>"
    control.services_path.write_text(text)
    panel.restart_button.click()
    assert panel.status.running and panel.start_error is None and "kit-start-error" not in panel.status_html.value


@pytest.mark.slow
def test_server_panel_reports_a_failing_callback(control: ServerControl, monkeypatch: pytest.MonkeyPatch) -> None:
    panel = panels.server_panel(control)
    assert repr(panel) == "<ServerPanel: not running>" and panel.restart_button.description == "start server"

    def broken() -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(control, "restart", broken)
    panel.restart_button.click()
    assert "OSError" in panel.error_html.value and "disk on fire" in panel.error_html.value
    assert not panel.restart_button.disabled


def test_server_panel_in_remote_mode_explains_instead(permanent_on: EmulatorServer) -> None:
    remote = RemoteControl(permanent_on.url, username="ADMIN", password="ADMIN")
    panel = panels.server_panel(remote)
    assert panel.flag_switch.disabled and panel.restart_button.disabled
    assert panel.flag_switch.value is True and "running server: on" in panel.flag_switch.description
    assert "on the server's machine" in text_of(panel.status_html.value)
    explain = panel.explain_html.value
    assert "jsonActionApiDefaults" in explain and "restart the FairCom server" in explain
    assert repr(panel) == "<ServerPanel: remote, running, flag running=true>"


def test_reproducible_mode_masks_the_port(permanent_on: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTORIAL_KIT_REPRODUCIBLE", "1")
    panel = panels.server_panel(RemoteControl(permanent_on.url))
    assert "127.0.0.1:PORT/api" in panel.status_html.value and f":{permanent_on.port}" not in widget_texts(panel)


def test_panels_render_as_widgets_with_a_short_text(server: EmulatorServer, client: KitClient) -> None:
    for panel in (panels.session_panel(client), panels.sessions_table(client), panels.playground(client),
                  panels.server_panel(RemoteControl(server.url))):
        bundle = panel._repr_mimebundle_()
        assert WIDGET_VIEW in bundle and bundle["text/plain"] == repr(panel)
        assert len(repr(panel)) <= 110 and str(server.port) not in repr(panel)


# --- saved outputs: the same text/plain on every run ------------------------------------------

SETUP = """\
import tutorial_kit as kit
from tutorial_kit.control.local import ServerControl
server = ServerControl()
server.start()
server.set_default("enablePermanentJsonApiSessions", True)
server.restart()
client = server.client()
client.create_session(permanent=True)
client.create_session();"""
PANEL_CELLS = ["kit.panels.server_panel(server)", "kit.panels.session_panel(client)",
               "kit.panels.sessions_table(client)", "kit.panels.playground(client)"]


def _run_notebook(folder: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("TUTORIAL_KIT_HOME", str(home))
    monkeypatch.setenv("TUTORIAL_KIT_REPRODUCIBLE", "1")
    monkeypatch.delenv("TUTORIAL_KIT_URL", raising=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in [SETUP, *PANEL_CELLS]])
    try:
        NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=False,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        ServerControl(home).stop()
    return [output["data"] for cell in nb.cells[1:] for output in cell.outputs if "data" in output]


@pytest.mark.slow
def test_two_runs_give_the_same_text_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _run_notebook(tmp_path, tmp_path / "home-1", monkeypatch)
    second = _run_notebook(tmp_path, tmp_path / "home-2", monkeypatch)
    assert len(first) == len(PANEL_CELLS) and all(WIDGET_VIEW in data for data in first + second)
    texts = [data["text/plain"] for data in first]
    assert texts == [data["text/plain"] for data in second]
    assert texts == [
        "<ServerPanel: run this cell to see the panel>",
        "<SessionPanel: run this cell to see the panel>",
        "<SessionsTable: run this cell to see the panel>",
        "<Playground: run this cell to see the panel>",
    ]


def test_every_playground_template_is_an_action_the_linter_knows_in_faircoms_shape(client: KitClient) -> None:
    """Each action of the dropdown starts from a template the linter finds nothing wrong with (placeholders aside)."""
    from tutorial_kit.client.lint import ADMIN_ACTIONS
    from tutorial_kit.panels._playground import TEMPLATES, template

    assert set(TEMPLATES) == set(ADMIN_ACTIONS), "one template per action of the dropdown"
    play = panels.playground(client)
    for action in ADMIN_ACTIONS:
        play.action_dropdown.value = action
        assert json.loads(play.request_text.value)["action"] == action
        found = [w.message for w in play.warnings if w.code != "placeholder"]  # no token to fill in here
        assert found == [], (action, found)
    assert json.loads(template("createAccount"))["params"]["accountDescription"] == "a learner"
    assert json.loads(template("dropAccounts"))["params"] == {"usernames": ["learner1"]}
