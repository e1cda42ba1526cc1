"""A loopback server answers only its own OS user (tutorial_kit/server/peers.py).

The owner of a connection's client end comes from the kernel (sock_diag, or /proc/net/tcp as the
fallback); both are checked against a real connection. Another user's program is played by a
forked child that drops to ``nobody`` before it connects, so it needs root: without root those
tests skip and say so.
"""

from __future__ import annotations

import json
import os
import pwd
import socket
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from _hardening import ServeProcess
from tutorial_kit.server import EmulatorServer, peers
from tutorial_kit.server.peers import PeerCheck, diag_uid, proc_uid

NOBODY = 65534
WS_UPGRADE = ("GET /api HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="playing another user's program needs root (setuid)")
linux_only = pytest.mark.skipif(
    not PeerCheck.available(), reason="the owner of a connection can be found on Linux only"
)


def _post_request(body: dict) -> bytes:
    data = json.dumps(body).encode()
    return b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data)


def _exchange(port: int, request: bytes, host: str = "127.0.0.1") -> bytes:
    """Send ``request`` on a new connection; return the whole answer (headers and Content-Length body)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while True:
            head, sep, body = answer.partition(b"\r\n\r\n")
            if sep:
                lengths = [
                    line.split(b":", 1)[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if len(body) >= (int(lengths[0]) if lengths else 0):
                    return answer
            chunk = sock.recv(65536)
            if not chunk:
                return answer
            answer += chunk


def _as_user(uid: int, work: Callable[[], bytes]) -> bytes:
    """Run ``work`` in a forked child that has become ``uid``; return what it returned."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to the other user before any socket is made
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.write(write_end, work())
            code = 0
        except BaseException as exc:  # noqa: BLE001 - reported to the parent through the pipe
            os.write(write_end, f"child failed: {exc!r}".encode())
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks)


class _Connection:
    """What PeerCheck reads of tornado's HTTP1ServerConnection: ``.stream.socket``."""

    def __init__(self, sock: socket.socket) -> None:
        self.stream = SimpleNamespace(socket=sock)


def _status_and_envelope(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body.strip() else {}


# --- finding the owner -----------------------------------------------------------------------


@linux_only
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_both_lookups_find_the_owner_of_a_real_connection(host: str, tmp_path: Path) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.socket(family)
        listener.bind((host, 0))
    except OSError:
        pytest.skip(f"{host} cannot be bound here")
    with listener:
        listener.listen()
        with socket.create_connection(listener.getsockname()[:2]) as client:
            accepted, _ = listener.accept()
            with accepted:
                peer, local = accepted.getpeername()[:2], accepted.getsockname()[:2]
                assert diag_uid(peer, local) == os.geteuid()
                assert proc_uid(peer, local) == os.geteuid()
                gone = (peer[0], peer[1] ^ 1)  # no such client socket
                assert diag_uid(gone, local) is None and proc_uid(gone, local) is None
                assert client.fileno() >= 0


@linux_only
def test_one_lookup_per_connection_not_per_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    real = peers.peer_uid
    monkeypatch.setattr(peers, "peer_uid", lambda *args: calls.append(args) or real(*args))
    with EmulatorServer(tmp_path, port=0) as server, httpx.Client(trust_env=False) as client:
        for _ in range(5):  # one keep-alive connection
            assert client.post(server.url, json={"action": "pingSession"}).json()["errorCode"] == 0
        assert len(calls) == 1
        httpx.post(server.url, json={"action": "pingSession"}, trust_env=False)  # a second connection
        assert len(calls) == 2


def test_the_fallback_reads_proc_when_netlink_cannot_be_used(monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/proc/net/tcp").is_file():
        pytest.skip("no /proc/net/tcp here")

    def refused(*args: object) -> int:
        raise PermissionError("netlink refused")

    monkeypatch.setattr(peers, "diag_uid", refused)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert peers.peer_uid(accepted.getpeername(), accepted.getsockname()) == os.geteuid()


def test_the_refusal_stays_short_with_the_longest_user_names(monkeypatch: pytest.MonkeyPatch) -> None:
    long_name = "u" * 32  # the longest name useradd accepts
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: SimpleNamespace(pw_name=long_name))
    monkeypatch.setattr(peers, "peer_uid", lambda *args: 4294967293)
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.create_connection(listener.getsockname()) as client:
        message = PeerCheck(uid=4294967294).refusal(_Connection(client))
    assert message is not None and long_name in message and len(message.encode()) <= 256


# --- another user's program -------------------------------------------------------------------


@needs_root
@linux_only
def test_another_users_program_gets_403_on_http_and_websocket(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path)
    try:
        server.wait_ready()
        port = server.port
        login = _post_request({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})
        status, envelope = _status_and_envelope(_as_user(NOBODY, lambda: _exchange(port, login)))
        assert status == 403 and envelope["errorCode"] == 12006 and "authToken" not in envelope
        assert "is from nobody (uid 65534)" in envelope["errorMessage"]
        assert f"uid {os.geteuid()})" in envelope["errorMessage"]
        upgrade = _as_user(NOBODY, lambda: _exchange(port, WS_UPGRADE.format(port=port).encode()))
        assert upgrade.startswith(b"HTTP/1.1 403"), upgrade[:200]
        own = _exchange(port, login)  # the server's own user, on the same port
        assert _status_and_envelope(own)[0] == 200 and b'"authToken"' in own
    finally:
        server.stop()


@needs_root
@linux_only
def test_allow_other_users_turns_the_check_off(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, "--allow-other-users")
    try:
        server.wait_ready()
        raw = _as_user(NOBODY, lambda: _exchange(server.port, _post_request({"action": "pingSession"})))
        status, envelope = _status_and_envelope(raw)
        assert status == 200 and envelope["errorCode"] == 0
        record = json.loads((tmp_path / "run" / "server.json").read_text())
        assert record["own_user_only"] is False
    finally:
        server.stop()
