"""Requests from web pages are refused: a browser must not drive the learner's local server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from tornado.httputil import HTTPHeaders

from tutorial_kit.server import EmulatorServer
from tutorial_kit.server.app import foreign_request

PING = json.dumps({"action": "pingSession", "debug": "none"})


@pytest.mark.parametrize(
    ("headers", "loopback_only", "refused"),
    [
        ({"Host": "127.0.0.1:8080"}, True, False),
        ({"Host": "localhost:8080"}, True, False),
        ({"Host": "[::1]:8080"}, True, False),
        ({}, True, False),  # HTTP/1.0 without Host: a program
        ({"Host": "attacker.example:8080"}, True, True),  # DNS rebinding
        ({"Host": "attacker.example:8080"}, False, False),  # a workshop server on 0.0.0.0
        ({"Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1:8080"}, True, False),
        ({"Host": "127.0.0.1:8080", "Origin": "https://evil.example"}, True, True),
        ({"Host": "127.0.0.1:8080", "Origin": "null"}, True, True),
        ({"Host": "127.0.0.1:8080", "Origin": "http://localhost:8888"}, True, False),  # JupyterLab's page
        ({"Host": "trainer:8080", "Origin": "http://evil.example"}, False, True),
    ],
)
def test_foreign_request_rules(headers: dict[str, str], loopback_only: bool, refused: bool) -> None:
    assert (foreign_request(HTTPHeaders(headers), loopback_only) is not None) is refused


def test_web_pages_get_403_and_programs_get_answers(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path, port=0) as srv, httpx.Client() as http:
        ok = http.post(srv.url, content=PING)
        assert ok.status_code == 200 and ok.json()["errorCode"] == 0
        page = http.post(srv.url, content=PING, headers={"Origin": "https://evil.example"})
        assert page.status_code == 403
        body = page.json()
        assert body["errorCode"] == 12006 and "web page" in body["errorMessage"]
        rebound = http.post(srv.url, content=PING, headers={"Host": f"evil.example:{srv.port}"})
        assert rebound.status_code == 403
        get = http.get(srv.url, headers={"Origin": "https://evil.example"})
        assert get.status_code == 403 and get.json()["errorCode"] == 12006
        # refused before its request was read to the end: the connection closes, and says so,
        # so a keep-alive client opens a new one instead of writing into a closing socket
        assert get.headers["Connection"] == "close"
        assert http.post(srv.url, content=PING).json()["errorCode"] == 0, "the server keeps serving"


def test_a_post_with_an_upgrade_header_is_still_a_jsonaction_request(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path, port=0) as srv, httpx.Client() as http:
        answer = http.post(srv.url, content=PING, headers={"Upgrade": "websocket", "Connection": "Upgrade"})
        assert answer.status_code == 200 and answer.json()["errorCode"] == 0
