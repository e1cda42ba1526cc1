"""KitClient and Response, against httpx.MockTransport (and two tiny real sockets for transport errors)."""

from __future__ import annotations

import http.server
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from jsonaction_fake import PASSWORD, URL, FakeServer
from tutorial_kit._exceptions import (
    JsonActionError,
    KitTimeoutError,
    KitTLSError,
    KitTransportError,
    KitUsageError,
    NotJsonActionError,
    ServerNotRunningError,
)
from tutorial_kit.client.kit_client import KitClient, Response


@pytest.fixture
def fake() -> FakeServer:
    return FakeServer()


@pytest.fixture
def client(fake: FakeServer) -> Iterator[KitClient]:
    with KitClient(URL, **fake.client_kwargs()) as kit:
        yield kit


def _answering(body: bytes | str, status: int = 200, content_type: str = "application/json") -> httpx.MockTransport:
    headers = {"content-type": content_type}
    return httpx.MockTransport(lambda request: httpx.Response(status, content=body, headers=headers))


# --- envelope parsing ----------------------------------------------------------------------------


def test_response_keeps_envelope_order_and_reads_every_field() -> None:
    body = ('{"authToken": "tok123456", "result": {"b": 1, "a": 2}, "requestId": {"n": 7}, '
            '"debugInfo": {"warnings": [{"code": 12031, "message": "gone"}]}, "errorCode": 0, "errorMessage": ""}')
    with KitClient(URL, transport=_answering(body)) as kit:
        response = kit.call({"action": "pingSession", "requestId": {"n": 7}})
    assert list(response.envelope) == ["authToken", "result", "requestId", "debugInfo", "errorCode", "errorMessage"]
    assert list(response.result) == ["b", "a"]
    assert (response.ok, response.error_code, response.error_message) == (True, 0, "")
    assert response.request_id == {"n": 7}
    assert response.auth_token == "tok123456"
    assert response.warnings == [{"code": 12031, "message": "gone"}]
    assert response.http_status == 200
    assert response.request == {"action": "pingSession", "requestId": {"n": 7}}
    assert response.action == "pingSession"


def test_error_envelope_does_not_raise_until_asked(client: KitClient) -> None:
    response = client.call({"api": "admin", "action": "createSession", "params": {"username": "ADMIN"}})
    assert not response.ok
    assert response.error_code == 12025
    assert response.result is None
    with pytest.raises(JsonActionError) as caught:
        response.raise_for_error()
    assert caught.value.error_code == 12025
    assert caught.value.error_message == "'password' is missing"
    assert caught.value.response is response
    assert "createSession failed with errorCode 12025" in str(caught.value)


def test_raise_for_error_returns_self_on_success(client: KitClient) -> None:
    response = client.ping_session(check=False)
    assert response.raise_for_error() is response


def test_http_405_with_an_envelope_is_a_response() -> None:
    body = json.dumps({"errorCode": 12006, "errorMessage": "POST a JSON request"})
    with KitClient(URL, transport=_answering(body, status=405)) as kit:
        response = kit.call({"action": "pingSession"})
    assert response.http_status == 405
    assert response.error_code == 12006


@pytest.mark.parametrize(
    ("body", "status", "content_type", "expected"),
    [
        ("<html>Not found</html>", 404, "text/html", "HTTP 404 and text/html, not JSON"),
        ('{"hello": "world"}', 200, "application/json", "JSON without an errorCode"),
        ('[1, 2]', 200, "application/json", "JSON without an errorCode"),
        ('{"errorCode": true}', 200, "application/json", "JSON without an errorCode"),
    ],
)
def test_answers_that_are_not_envelopes(body: str, status: int, content_type: str, expected: str) -> None:
    with KitClient(URL, transport=_answering(body, status, content_type)) as kit:
        with pytest.raises(NotJsonActionError) as caught:
            kit.call({"action": "pingSession"})
    assert expected in str(caught.value)
    assert caught.value.url == URL


# --- what call() sends --------------------------------------------------------------------------


def test_call_with_an_action_name_builds_an_admin_request_with_the_client_token(fake: FakeServer) -> None:
    with KitClient(URL, auth_token="API-KEY-0123456789", transport=fake.transport) as kit:
        kit.call("listSessions", {"usernameFilter": ["ADMIN"]}, request_id="r1", debug="max")
    assert fake.requests[-1] == {"api": "admin", "action": "listSessions", "params": {"usernameFilter": ["ADMIN"]},
                                 "authToken": "API-KEY-0123456789", "requestId": "r1", "debug": "max"}


def test_call_with_a_dict_sends_it_unchanged_unless_told(fake: FakeServer) -> None:
    request = {"action": "pingSession", "authToken": "mine-0123456789"}
    with KitClient(URL, auth_token="client-token-000", transport=fake.transport) as kit:
        kit.call(request)
        kit.call(request, auth_token=None)
        kit.call(request, auth_token="other-token-111")
    assert fake.requests[0] == request
    assert "authToken" not in fake.requests[1]
    assert fake.requests[2]["authToken"] == "other-token-111"
    assert request == {"action": "pingSession", "authToken": "mine-0123456789"}


def test_call_rejects_params_with_a_dict_and_other_types(client: KitClient) -> None:
    with pytest.raises(KitUsageError, match="only with an action name"):
        client.call({"action": "pingSession"}, {"x": 1})
    with pytest.raises(KitUsageError, match="not int"):
        client.call(42)  # type: ignore[arg-type]


def test_call_text_sends_the_text_verbatim(client: KitClient, fake: FakeServer) -> None:
    text = '{"action": "pingSession",\n "requestId": 1, "requestId": 2}'
    response = client.call_text(text)
    assert fake.raw[-1] == text.encode()
    assert response.request == {"action": "pingSession", "requestId": 2}


# --- tokens, sessions, convenience methods -----------------------------------------------------


def test_create_session_uses_client_credentials_and_remembers_the_token(client: KitClient, fake: FakeServer) -> None:
    response = client.create_session(permanent=True, idle_cursor_timeout_seconds=60, description="key")
    assert fake.requests[-1]["params"] == {"username": "ADMIN", "password": PASSWORD, "permanentSession": True,
                                           "idleCursorTimeoutSeconds": 60, "description": "key"}
    assert "authToken" not in fake.requests[-1]
    assert client.auth_token == response.auth_token == response.result["authToken"]
    assert response.result["idleConnectionTimeoutSeconds"] == -1


def test_failed_create_session_raises_and_keeps_the_old_token(client: KitClient) -> None:
    client.create_session()
    before = client.auth_token
    with pytest.raises(JsonActionError) as caught:
        client.create_session("ADMIN", "wrong")
    assert caught.value.error_code == 12033
    assert client.auth_token == before
    assert client.create_session("ADMIN", "wrong", check=False).error_code == 12033


def test_create_session_without_credentials_is_a_usage_error(fake: FakeServer) -> None:
    with KitClient(URL, transport=fake.transport) as kit, pytest.raises(KitUsageError, match="username and a password"):
        kit.create_session()
    assert fake.requests == []


def test_delete_session_forgets_only_the_client_own_token(client: KitClient, fake: FakeServer) -> None:
    first = client.create_session().auth_token
    second = client.create_session().auth_token
    client.delete_session(first)
    assert client.auth_token == second
    client.delete_session()
    assert fake.requests[-1]["authToken"] == second
    assert client.auth_token is None


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "action", "params"),
    [
        ("describe_sessions", (), {}, "describeSessions", None),
        ("describe_sessions", ("abc",), {}, "describeSessions", {"authTokens": ["abc"]}),
        ("list_sessions", (["ADMIN", "bob"],), {}, "listSessions", {"usernameFilter": ["ADMIN", "bob"]}),
        ("list_sessions", ("bob",), {}, "listSessions", {"usernameFilter": ["bob"]}),
        ("ping_session", (), {}, "pingSession", None),
        ("alter_session", (), {"default_api": "db", "description": "x"}, "alterSession",
         {"defaultApi": "db", "description": "x"}),
        ("list_services", (), {}, "listServices", None),
        ("create_account", ("bob", "pw1"), {"description": "Bob"}, "createAccount",
         {"username": "bob", "password": "pw1", "accountDescription": "Bob"}),
        ("create_account", ("bob",), {"lockout_after_n_failed_attempts": 5, "disableDatetime": "2026-12-31"},
         "createAccount", {"username": "bob", "lockoutAfterNFailedAttempts": 5, "disableDatetime": "2026-12-31"}),
        ("alter_account", ("pw2",), {"username": "bob"}, "alterAccount", {"username": "bob", "password": "pw2"}),
        ("alter_account", (), {"username": "bob", "description": "B"}, "alterAccount",
         {"username": "bob", "accountDescription": "B"}),
        ("alter_account", ("pw2",), {}, "alterAccount", {"username": "ADMIN", "password": "pw2"}),  # its own
        ("drop_account", ("bob",), {}, "dropAccounts", {"usernames": ["bob"]}),
        ("drop_accounts", (["bob", "carol"],), {}, "dropAccounts", {"usernames": ["bob", "carol"]}),
        ("list_accounts", (), {}, "listAccounts", None),
        ("list_accounts", ("adm",), {}, "listAccounts", {"partialNames": ["adm"]}),
        ("describe_accounts", (), {}, "describeAccounts", None),
        ("describe_accounts", ("bob",), {}, "describeAccounts", {"usernames": ["bob"]}),
    ],
)
def test_convenience_methods_send_their_action(client: KitClient, fake: FakeServer, method: str, args: tuple,
                                               kwargs: dict, action: str, params: dict | None) -> None:
    token = client.create_session().auth_token
    response = getattr(client, method)(*args, **kwargs)
    sent = fake.requests[-1]
    assert (sent["api"], sent["action"], sent.get("params"), sent["authToken"]) == ("admin", action, params, token)
    assert isinstance(response, Response) and response.ok


def test_convenience_methods_raise_unless_check_false(fake: FakeServer) -> None:
    with KitClient(URL, auth_token="unknown-token-000", transport=fake.transport) as kit:
        with pytest.raises(JsonActionError) as caught:
            kit.describe_sessions()
        assert caught.value.error_code == 12031
        assert kit.ping_session(check=False).error_code == 12031


def test_alter_account_of_own_account_updates_the_client_password(client: KitClient) -> None:
    client.create_session()
    client.alter_account("new-password")
    assert client.password == "new-password"
    client.alter_account("other", username="bob")
    assert client.password == "new-password"
    with pytest.raises(KitUsageError):  # FairCom's alterAccount names its account: a token alone has no name
        client.with_token("API-KEY-abcdef0123").alter_account("x")


def test_with_token_view_shares_the_pool_and_has_no_credentials(client: KitClient, fake: FakeServer) -> None:
    view = client.with_token("API-KEY-abcdef0123")
    assert view._http is client._http
    assert (view.username, view.password, view.auth_token) == (None, None, "API-KEY-abcdef0123")
    view.call("listSessions")
    assert fake.requests[-1]["authToken"] == "API-KEY-abcdef0123"
    with pytest.raises(KitUsageError):
        view.create_session()
    view.close()
    assert view.closed and not client.closed
    client.ping_session()
    other = client.with_token("another-key-00000")
    client.close()
    assert other.closed
    with pytest.raises(KitUsageError, match="closed"):
        other.ping_session()
    with pytest.raises(KitUsageError):
        client.with_token("")


# --- lifecycle and secrets ---------------------------------------------------------------------


def test_close_is_idempotent_and_a_closed_client_cannot_be_used(fake: FakeServer) -> None:
    kit = KitClient(URL, transport=fake.transport)
    kit.close()
    kit.close()
    assert kit.closed
    with pytest.raises(KitUsageError, match="closed"):
        kit.call("pingSession")
    with pytest.raises(KitUsageError, match="Cannot reopen"):
        with kit:
            pass


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/api", "127.0.0.1:8080/api", "http:///api"])
def test_bad_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(KitUsageError, match="not an http"):
        KitClient(url)


def test_password_never_appears_in_reprs_or_logs(client: KitClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="tutorial_kit")
    response = client.call("createSession", {"username": "ADMIN", "password": PASSWORD}, debug="max")
    assert response.envelope["debugInfo"]["request"]["params"]["password"] == PASSWORD  # the fake echoes it
    shown = [repr(client), repr(response), response._repr_html_(), repr(response.request), caplog.text]
    assert caplog.text
    for text in shown:
        assert PASSWORD not in text
    assert response.request["params"]["password"] == "********"
    assert response.auth_token[:4] + "…" in repr(client)
    assert response.auth_token not in repr(client)


# --- transport errors ----------------------------------------------------------------------------


def _raising(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


def test_connect_error_means_server_not_running() -> None:
    with KitClient(URL, transport=_raising(httpx.ConnectError("Connection refused"))) as kit:
        with pytest.raises(ServerNotRunningError) as caught:
            kit.ping_session()
    message = str(caught.value)
    assert "tutorial-kit serve" in message and "lesson.server.start()" in message
    assert caught.value.url == URL


def test_timeouts_map_to_kit_timeout_error() -> None:
    with KitClient(URL, transport=_raising(httpx.ReadTimeout("slow"))) as kit:
        with pytest.raises(KitTimeoutError, match="did not answer in time"):
            kit.ping_session()


def test_ssl_cause_maps_to_tls_error() -> None:
    error = httpx.ConnectError("handshake failed")
    error.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    with KitClient("https://127.0.0.1:8443/api", transport=_raising(error)) as kit:
        with pytest.raises(KitTLSError) as caught:
            kit.ping_session()
    assert "verify=False" in str(caught.value) and "CA file" in str(caught.value)


def test_other_transport_errors_stay_transport_errors() -> None:
    with KitClient(URL, transport=_raising(httpx.RemoteProtocolError("closed"))) as kit:
        with pytest.raises(KitTransportError) as caught:
            kit.ping_session()
    assert type(caught.value) is KitTransportError


def test_real_closed_port_is_server_not_running() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with KitClient(f"http://127.0.0.1:{port}/api", timeout=2) as kit:
        with pytest.raises(ServerNotRunningError, match="nothing is listening"):
            kit.ping_session()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"result": {}, "errorCode": 0, "errorMessage": ""}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/api", ca_file
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_real_self_signed_server_needs_its_ca_file(tls_server: tuple[str, Path]) -> None:
    url, ca_file = tls_server
    with KitClient(url, timeout=5) as kit, pytest.raises(KitTLSError):
        kit.ping_session()
    with KitClient(url, verify=ca_file, timeout=5) as kit:
        assert kit.ping_session().ok
    with KitClient(url, verify=False, timeout=5) as kit:
        assert kit.ping_session().ok


def test_verify_with_a_missing_ca_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(KitUsageError, match="not a readable CA file"):
        KitClient("https://127.0.0.1:8443/api", verify=str(tmp_path / "missing.pem"))


def test_loopback_servers_ignore_proxy_settings(tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    url, ca_file = tls_server
    with KitClient(url, verify=ca_file, timeout=5) as kit:
        assert kit.ping_session().ok
