"""Issue 12, items 1 and 2: one Host/Origin rule for HTTP and the WebSocket handshake, and a
loopback rule that parses names instead of matching a "127." prefix.

The attack: a web page that rebinds its own name (``evil.example``) to 127.0.0.1 sends
``Host: evil.example:PORT`` and an ``Origin`` equal to it (what a same-origin page sends, with or
without ``Sec-Fetch-Site: same-origin``), or uses a name that merely starts with ``127.``. Before
the fix the WebSocket handshake was accepted (101) and ADMIN/ADMIN logged in over it; HTTP let
``127.evil.example`` through. Every row of :data:`CASES` is sent to a real ``tutorial-kit serve``
process over both transports and must get the same verdict on each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _hardening import (
    RawConnection,
    ServeProcess,
    create_body,
    jbody,
    websocket_handshake,
    websocket_receive,
    websocket_send,
)
from conftest import strict_json
from tutorial_kit._hosts import host_header_is_loopback, is_loopback

#: (id, Host, Origin or None, extra headers, refused?) -- "{port}" is the server's port
CASES = [
    ("loopback-ip", "127.0.0.1:{port}", None, {}, False),
    ("other-127-address", "127.4.5.6:{port}", None, {}, False),
    ("localhost", "localhost:{port}", None, {}, False),
    ("localhost-any-case", "LocalHost:{port}", None, {}, False),
    ("ipv6-loopback", "[::1]:{port}", None, {}, False),
    ("jupyterlab-page", "127.0.0.1:{port}", "http://localhost:8888", {"Sec-Fetch-Site": "same-site"}, False),
    ("same-machine-origin", "127.0.0.1:{port}", "http://127.0.0.1:{port}", {}, False),
    ("rebinding", "evil.example:{port}", "http://evil.example:{port}", {}, True),
    (
        "rebinding-same-origin",
        "evil.example:{port}",
        "http://evil.example:{port}",
        {"Sec-Fetch-Site": "same-origin"},
        True,
    ),
    ("rebinding-without-origin", "evil.example:{port}", None, {}, True),
    ("127-prefix-host", "127.evil.example:{port}", None, {}, True),
    ("127-prefix-host-and-origin", "127.evil.example:{port}", "http://127.evil.example:{port}", {}, True),
    ("127-prefix-origin", "127.0.0.1:{port}", "https://127.attacker.example", {}, True),
    ("localhost-prefix-host", "localhost.evil.example:{port}", None, {}, True),
    ("ip-with-suffix", "127.0.0.1.evil.example:{port}", None, {}, True),
    ("short-ip-form", "127.1:{port}", None, {}, True),
    ("unbracketed-ipv6", "::1", None, {}, True),
    ("foreign-site", "127.0.0.1:{port}", "https://evil.example", {"Sec-Fetch-Site": "cross-site"}, True),
    ("null-origin", "127.0.0.1:{port}", "null", {}, True),
]
IDS = [case[0] for case in CASES]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    proc = ServeProcess(tmp_path_factory.mktemp("origin-home"))
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def _headers(served: ServeProcess, host: str, origin: str | None, extra: dict[str, str]) -> dict[str, str]:
    headers = {"Host": host.format(port=served.port), **extra}
    if origin is not None:
        headers["Origin"] = origin.format(port=served.port)
    return headers


@pytest.mark.parametrize(("case", "host", "origin", "extra", "refused"), CASES, ids=IDS)
def test_http_post_follows_the_table(served: ServeProcess, case: str, host: str, origin: str | None,
                                     extra: dict[str, str], refused: bool) -> None:
    headers = _headers(served, host, origin, extra)
    body = jbody(create_body())
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with RawConnection(served.port) as conn:
        conn.send(f"POST /api HTTP/1.1\r\n{lines}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status, answer = conn.read_answer()
    envelope = strict_json(answer)
    if refused:
        assert status == 403 and envelope["errorCode"] == 12006, envelope
        assert "web page" in envelope["errorMessage"] and len(envelope["errorMessage"].encode()) <= 256
        assert "authToken" not in envelope
    else:
        assert status == 200 and envelope["errorCode"] == 0, envelope


@pytest.mark.parametrize(("case", "host", "origin", "extra", "refused"), CASES, ids=IDS)
def test_websocket_handshake_follows_the_same_table(served: ServeProcess, case: str, host: str, origin: str | None,
                                                    extra: dict[str, str], refused: bool) -> None:
    status, sock, rest = websocket_handshake(served.port, _headers(served, host, origin, extra))
    try:
        if refused:
            assert status == 403, status  # refused by the kit's rule before tornado's own check
            while chunk := sock.recv(65536):  # the envelope, then the server closes the connection
                rest += chunk
            assert strict_json(rest)["errorCode"] == 12006
            return
        assert status == 101
        websocket_send(sock, json.dumps(create_body()))
        text, _ = websocket_receive(sock, rest)
        assert strict_json(text)["errorCode"] == 0  # ADMIN logs in over an accepted socket
    finally:
        sock.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_names(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["127.evil.example", "127.0.0.1.nip.io", "localhost.evil.example", "0.0.0.0", "::",
                                  "", "127.1", "::ffff:127.0.0.1", "::1%lo", "10.0.0.1", "128.0.0.1", "evil"])
def test_names_that_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize(("value", "loopback"), [
    ("127.0.0.1:8080", True), ("[::1]:8080", True), ("[::1]", True), ("localhost", True),
    ("127.evil.example:8080", False), ("[::1]:80x", False), ("[::1", False), ("::1", False),
    ("127.0.0.1:", False), ("127.0.0.1:123456", False),
])
def test_host_header_values(value: str, loopback: bool) -> None:
    assert host_header_is_loopback(value) is loopback


def test_one_loopback_rule_in_the_code() -> None:
    """The four checks the issue found are one function now: no prefix match is left anywhere."""
    root = Path(__file__).resolve().parents[1] / "tutorial_kit"
    offenders = [str(path) for path in root.rglob("*.py")
                 if 'startswith("127.' in path.read_text() or "_LOCAL_HOSTS" in path.read_text()]
    assert offenders == []
