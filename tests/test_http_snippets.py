"""The plain-HTTP forms of a request (curl, httpx) run as shown and get the kit's answer; no secret in them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tutorial_kit import KitClient
from tutorial_kit.client.http_snippets import PlainHttp
from tutorial_kit.server import EmulatorServer


def same(answer: dict) -> dict:
    """The answer without the one value that moves with the clock (the last access time)."""
    for session in answer.get("result", {}).get("sessions", []):
        session.pop("sessionLastAccessedTimestamp", None)
    return answer


def test_curl_and_httpx_give_the_answer_the_kit_gets(server: EmulatorServer) -> None:
    with KitClient(server.url, username="ADMIN", password="ADMIN", debug="none") as client:
        token = client.create_session(description="snippets $HOME `x`").auth_token
        request = {"api": "admin", "action": "describeSessions", "params": {"authTokens": [token]},
                   "authToken": token, "debug": "none"}
        kit_answer = client.call(request).envelope
    snippets = PlainHttp(server.url, request, {token: "login.auth_token"})
    curl, code = snippets.curl(), snippets.httpx()
    assert token not in curl and token not in code
    assert '"$LOGIN_AUTH_TOKEN"' in curl and "login.auth_token" in code and "import tutorial_kit" not in code

    class Login:
        auth_token = token

    printed: list[tuple] = []
    scope = {"login": Login, "print": lambda *args: printed.append(args)}
    exec(code, scope)  # noqa: S102 - the snippet the learner would run
    assert same(scope["answer"]) == same(kit_answer) and printed == [(0, "")]
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    env = {**os.environ, "LOGIN_AUTH_TOKEN": token}
    done = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, env=env, timeout=30, check=True)
    assert same(json.loads(done.stdout)) == same(kit_answer)


def test_a_password_never_appears_and_the_shell_leaves_the_json_alone(server: EmulatorServer) -> None:
    request = {"api": "admin", "action": "createSession",
               "params": {"username": "ADMIN", "password": "s3cret-$PATH", "description": "cost: $5 `date`"}}
    snippets = PlainHttp(server.url, request)
    assert "s3cret" not in snippets.curl() and "s3cret" not in snippets.httpx()
    assert '"$PASSWORD"' in snippets.curl() and '"password": password' in snippets.httpx()
    # what bash hands to curl: the here-document, with $PASSWORD expanded and nothing else
    as_cat = snippets.curl().replace(
        f"curl -s {server.url} -H 'Content-Type: application/json' --data-binary @-", "cat"
    )
    shown = subprocess.run(["bash", "-c", as_cat], capture_output=True, text=True, env={"PASSWORD": "pw"},
                           timeout=30, check=True).stdout
    body = json.loads(shown)
    assert body["params"] == {"username": "ADMIN", "password": "pw", "description": "cost: $5 `date`"}


def test_ports_are_masked_in_saved_output_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTORIAL_KIT_REPRODUCIBLE", "1")
    text = repr(PlainHttp("http://127.0.0.1:45678/api", {"api": "admin", "action": "pingSession"}))
    assert "45678" not in text and "127.0.0.1:PORT" in text and "<b>" not in text
