"""Display: exact text/plain snapshots, key HTML fragments, masking and reproducible mode."""

from __future__ import annotations

import pytest

from tutorial_kit.client.kit_client import Response
from tutorial_kit.notebook.display import (
    ConfigDiff,
    NoteList,
    SessionList,
    json_text,
    mask_for_display,
    reproducible_mode,
    response_html,
    response_text,
    timeout_words,
)

TOKEN = "AbCd" + "e" * 60
OTHER = "WxYz" + "f" * 60
URL = "http://127.0.0.1:54321/api"


@pytest.fixture(autouse=True)
def _not_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUTORIAL_KIT_REPRODUCIBLE", raising=False)


def session(token: str, permanent: bool, idle: int) -> dict:
    return {"authToken": token, "username": "ADMIN", "description": "", "idleConnectionTimeoutSeconds": idle,
            "permanentSession": permanent}


def create_response() -> Response:
    envelope = {"authToken": TOKEN, "result": session(TOKEN, True, -1), "errorCode": 0, "errorMessage": ""}
    request = {"api": "admin", "action": "createSession", "params": {"username": "ADMIN", "password": "pw"}}
    return Response(envelope, request=request, url=URL)


def describe_response() -> Response:
    envelope = {"authToken": TOKEN, "result": {"sessions": [session(TOKEN, True, -1), session(OTHER, False, 3600)]},
                "errorCode": 0, "errorMessage": ""}
    return Response(envelope, request={"action": "describeSessions", "authToken": TOKEN}, url=URL)


def test_create_session_text_plain_snapshot() -> None:
    assert repr(create_response()) == """\
createSession: errorCode 0 (success)
session AbCd…  ADMIN  ""  permanentSession true  idleConnectionTimeoutSeconds -1 (never expires)
{
  "authToken": "AbCd…",
  "result": {
    "authToken": "AbCd…",
    "username": "ADMIN",
    "description": "",
    "idleConnectionTimeoutSeconds": -1,
    "permanentSession": true
  },
  "errorCode": 0,
  "errorMessage": ""
}"""


def test_describe_sessions_text_plain_lines_are_aligned() -> None:
    lines = response_text(describe_response()).splitlines()
    assert lines[:3] == [
        "describeSessions: errorCode 0 (success), 2 sessions",
        "  AbCd…  ADMIN  \"\"  permanentSession true   idleConnectionTimeoutSeconds -1 (never expires)",
        "  WxYz…  ADMIN  \"\"  permanentSession false  idleConnectionTimeoutSeconds 3600",
    ]
    assert TOKEN not in "\n".join(lines) and OTHER not in "\n".join(lines)


def test_error_text_and_http_status() -> None:
    envelope = {"errorCode": 12006, "errorMessage": "POST a JSON request"}
    response = Response(envelope, request=None, http_status=405, url=URL)
    assert repr(response) == ('request: errorCode 12006 (error, HTTP 405)\n{\n  "errorCode": 12006,\n'
                              '  "errorMessage": "POST a JSON request"\n}')


def test_pretty_printer_uses_the_same_text() -> None:
    class Printer:
        def __init__(self) -> None:
            self.parts: list[str] = []

        def text(self, value: str) -> None:
            self.parts.append(value)

    printer = Printer()
    response = create_response()
    response._repr_pretty_(printer, False)
    assert printer.parts == [repr(response)]


def test_html_success_badge_and_session_facts() -> None:
    page = create_response()._repr_html_()
    assert "background:#d1e7dd;color:#0f5132" in page.split("errorCode 0")[0]
    assert "permanentSession: true" in page
    assert "<strong>-1 (never expires)</strong>" in page
    assert "AbCd…" in page and TOKEN not in page
    assert "<script" not in page


def test_html_error_is_red_and_escaped() -> None:
    envelope = {"errorCode": 12012, "errorMessage": "<script>alert('x')</script> & more"}
    page = response_html(Response(envelope, request={"action": "alterSession"}, url=URL))
    assert "background:#f8d7da;color:#842029" in page.split("errorCode 12012")[0]
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert "<script>" not in page


def test_html_session_table_highlights_permanent_and_never_expires() -> None:
    page = describe_response()._repr_html_()
    assert "<th" in page and ">permanentSession</th>" in page
    assert "background:#d1e7dd;font-weight:600\">true</td>" in page
    assert ">-1 (never expires)</td>" in page
    assert ">3600</td>" in page


def test_html_lists_warnings() -> None:
    envelope = {"result": {}, "debugInfo": {"warnings": [{"code": 12031, "message": f"no session {TOKEN}"}]},
                "errorCode": 0, "errorMessage": ""}
    page = Response(envelope, request={"action": "deleteSession", "authToken": TOKEN}, url=URL)._repr_html_()
    assert "warnings:" in page and "12031" in page


def test_passwords_are_always_masked() -> None:
    envelope = {"debugInfo": {"request": {"params": {"username": "ADMIN", "password": "hunter2"}}},
                "errorCode": 0, "errorMessage": ""}
    response = Response(envelope, request=None, url=URL)
    assert "hunter2" not in repr(response) and "hunter2" not in response._repr_html_()
    assert '"password": "********"' in repr(response)


def test_tokens_are_masked_inside_messages_too() -> None:
    value = {"authToken": TOKEN, "errorMessage": f"session {TOKEN} was deleted"}
    assert mask_for_display(value, reproducible=False) == {"authToken": "AbCd…",
                                                          "errorMessage": "session AbCd… was deleted"}


def test_documentation_placeholders_are_not_shortened() -> None:
    value = {"authToken": "replaceWithAuthTokenFromCreateSession"}
    assert mask_for_display(value, reproducible=False) == value


def test_reproducible_mode_masks_ports_and_pids(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"url": URL, "pid": 4242, "listeners": [{"port": 54321}, {"port": 8443}],
             "message": "see https://localhost:8443/api and ws://127.0.0.1:54321/api"}
    assert mask_for_display(value, url=URL, reproducible=False) == value
    monkeypatch.setenv("TUTORIAL_KIT_REPRODUCIBLE", "1")
    assert reproducible_mode()
    assert mask_for_display(value, url=URL) == {
        "url": "http://127.0.0.1:PORT/api", "pid": "PID", "listeners": [{"port": "PORT"}, {"port": 8443}],
        "message": "see https://localhost:PORT/api and ws://127.0.0.1:PORT/api"}
    envelope = {"errorCode": 0, "errorMessage": f"served at {URL}", "result": {}}
    assert "http://127.0.0.1:PORT/api" in repr(Response(envelope, request=None, url=URL))
    # listServices writes ports as strings, as FairCom's example does: those are masked too
    assert mask_for_display({"listeners": [{"port": "54321"}, {"port": "8443"}]}, url=URL) == {
        "listeners": [{"port": "PORT"}, {"port": "8443"}]}


def test_reproducible_mode_reads_the_value_as_the_server_does() -> None:
    for off in ("0", "false", "no", "off", "", "maybe"):
        assert not reproducible_mode({"TUTORIAL_KIT_REPRODUCIBLE": off}), off
    for on in ("1", "true", "YES", "on"):
        assert reproducible_mode({"TUTORIAL_KIT_REPRODUCIBLE": on}), on


def test_output_is_identical_from_run_to_run() -> None:
    assert repr(describe_response()) == repr(describe_response())
    assert describe_response()._repr_html_() == describe_response()._repr_html_()


def test_timeout_words() -> None:
    assert [timeout_words(v) for v in (-1, 0, 3600)] == ["-1 (never expires)", "0 (no idle timeout)", "3600"]


def test_json_text_keeps_order_and_unicode() -> None:
    assert json_text({"b": "…", "a": 1}) == '{\n  "b": "…",\n  "a": 1\n}'


def test_session_list_text_and_html() -> None:
    sessions = SessionList.from_response(describe_response())
    assert repr(sessions).splitlines()[0] == "2 sessions"
    assert "WxYz…" in sessions._repr_html_() and OTHER not in sessions._repr_html_()
    empty = SessionList([])
    assert repr(empty) == "0 sessions"
    assert "no sessions" in empty._repr_html_()
    error = Response({"errorCode": 12031, "errorMessage": "x"}, request=None)
    assert SessionList.from_response(error).sessions == []


def test_config_diff_text_snapshot_and_differences() -> None:
    diff = ConfigDiff({"defaultApi": "hub", "idleConnectionTimeoutSeconds": 3600},
                      {"defaultApi": "hub", "idleConnectionTimeoutSeconds": 3600,
                       "enablePermanentJsonApiSessions": True})
    assert repr(diff) == """\
jsonActionApiDefaults: running server vs config/services.json
  property                        running    file
  defaultApi                      "hub"      "hub"
  idleConnectionTimeoutSeconds    3600       3600
  enablePermanentJsonApiSessions  (not set)  true   <- differs: restart the server to use the file's value"""
    assert diff.differences == ["enablePermanentJsonApiSessions"]
    page = diff._repr_html_()
    assert page.count("background:#fff3cd") == 1
    assert "restart the server" in page and "(not set)" in page


def test_config_diff_escapes_html() -> None:
    page = ConfigDiff({"a<b": "<x>"}, {}, title="<t>")._repr_html_()
    assert "a&lt;b" in page and "&quot;&lt;x&gt;&quot;" in page and "&lt;t&gt;" in page


def test_note_list() -> None:
    notes = NoteList("Check:", ["line 6: one <b>", "two"], tone="warning")
    assert repr(notes) == "Check:\n  - line 6: one <b>\n  - two"
    assert "<li>line 6: one &lt;b&gt;</li>" in notes._repr_html_()
    with pytest.raises(ValueError):
        NoteList("x", [], tone="loud")


def test_long_session_json_is_folded_and_short_json_is_open() -> None:
    folded = response_html(describe_response())
    assert "<details><summary>JSON</summary>" in folded, "the session table summarises; the JSON waits behind a click"
    short = response_html(Response({"result": {}, "errorCode": 0, "errorMessage": ""},
                                   request={"action": "pingSession"}))
    assert "<details open><summary>JSON</summary>" in short
