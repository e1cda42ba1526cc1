"""The same dispatch over WebSocket: one request per text message, one answer per message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from conftest import strict_json
from tutorial_kit.server import EmulatorServer

LIMIT = 1000


@pytest.fixture(scope="module")
def ws_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    srv = EmulatorServer(tmp_path_factory.mktemp("ws-home"), port=0, max_body_bytes=LIMIT).start()
    try:
        yield srv
    finally:
        srv.stop()


def ws_url(server: EmulatorServer, path: str = "/api") -> str:
    return server.url.replace("http://", "ws://").replace("/api", path)


def run(func: Callable[[WebSocketClientConnection], Coroutine[Any, Any, Any]], url: str) -> Any:
    """Open a socket, run ``func`` with it, close it."""

    async def main() -> Any:
        conn = await asyncio.wait_for(websocket_connect(url), timeout=10)
        try:
            return await asyncio.wait_for(func(conn), timeout=30)
        finally:
            conn.close()

    return asyncio.run(main())


async def exchange(conn: WebSocketClientConnection, request: Any) -> dict[str, Any]:
    await conn.write_message(request if isinstance(request, (str, bytes)) else json.dumps(request),
                             binary=isinstance(request, bytes))
    message = await conn.read_message()
    assert isinstance(message, str), message
    return strict_json(message)


def test_many_requests_on_one_socket_are_answered_in_order(ws_server: EmulatorServer) -> None:
    async def body(conn: WebSocketClientConnection) -> list[dict[str, Any]]:
        for n in range(20):
            await conn.write_message(json.dumps({"action": "pingSession", "requestId": n, "debug": "none"}))
        return [strict_json(await conn.read_message()) for _ in range(20)]

    answers = run(body, ws_url(ws_server))
    assert [a["requestId"] for a in answers] == list(range(20))
    assert all(a["errorCode"] == 0 and a["result"] == {} for a in answers)


def test_create_session_then_describe_sessions_on_one_socket(ws_server: EmulatorServer) -> None:
    async def body(conn: WebSocketClientConnection) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        created = await exchange(conn, {"action": "createSession", "requestId": "login", "debug": "none",
                                        "params": {"username": "admin", "password": "ADMIN"}})
        token = created["authToken"]
        # both sent before either answer is read: requestId tells them apart
        await conn.write_message(json.dumps({"action": "describeSessions", "authToken": token, "requestId": {"n": 1},
                                             "params": {"authTokens": [token]}, "debug": "none"}))
        await conn.write_message(json.dumps({"action": "deleteSession", "authToken": token, "requestId": [2]}))
        first, second = strict_json(await conn.read_message()), strict_json(await conn.read_message())
        return created, first, second

    created, described, deleted = run(body, ws_url(ws_server, "/api/admin"))
    assert created["errorCode"] == 0 and created["requestId"] == "login"
    assert created["result"]["username"] == "ADMIN"
    assert described["requestId"] == {"n": 1}
    assert [s["authToken"] for s in described["result"]["sessions"]] == [created["authToken"]]
    assert described["result"]["sessions"][0] == {
        **created["result"],
        "sessionLastAccessedTimestamp": described["result"]["sessions"][0]["sessionLastAccessedTimestamp"],
    }
    assert deleted["requestId"] == [2] and deleted["errorCode"] == 0
    assert list(deleted) == ["authToken", "result", "requestId", "debugInfo", "errorCode", "errorMessage"]


def test_bad_json_gets_an_envelope_and_the_socket_stays_open(ws_server: EmulatorServer) -> None:
    async def body(conn: WebSocketClientConnection) -> list[dict[str, Any]]:
        return [await exchange(conn, '{"action": "pingSession",'),
                await exchange(conn, "[]"),
                await exchange(conn, ""),
                await exchange(conn, b'{"action": "pingSession", "debug": "none"}'),
                await exchange(conn, b"\xff"),
                await exchange(conn, {"action": "pingSession", "requestId": 3, "debug": "none"})]

    bad, array, empty, binary, not_utf8, good = run(body, ws_url(ws_server))
    assert bad["errorCode"] == 12012 and "line 1, column 26" in bad["errorMessage"]
    assert array["errorCode"] == 12012 and "JSON object" in array["errorMessage"]
    assert empty["errorCode"] == 12012 and "empty" in empty["errorMessage"]
    assert binary["errorCode"] == 0
    assert not_utf8["errorCode"] == 12012 and "UTF-8" in not_utf8["errorMessage"]
    assert good == {"result": {}, "requestId": 3, "errorCode": 0, "errorMessage": ""}


@pytest.mark.parametrize("filler", ["x", "é", "€"])
def test_too_large_message_gets_12028(ws_server: EmulatorServer, filler: str) -> None:
    def message(size_in_bytes: int) -> str:
        head, tail = '{"action": "pingSession", "debug": "none", "requestId": "', '"}'
        room = size_in_bytes - len(head) - len(tail)
        width = len(filler.encode())
        return head + filler * (room // width) + "x" * (room % width) + tail

    async def body(conn: WebSocketClientConnection) -> list[dict[str, Any]]:
        return [await exchange(conn, message(LIMIT)), await exchange(conn, message(LIMIT + 1)),
                await exchange(conn, message(3 * LIMIT)), await exchange(conn, message(10))]

    at_limit, over, far_over, small = run(body, ws_url(ws_server))
    assert at_limit["errorCode"] == 0
    assert over["errorCode"] == 12028 and f"{LIMIT} bytes" in over["errorMessage"]
    assert far_over["errorCode"] == 12028
    assert small["errorCode"] == 0


def test_get_without_upgrade_is_405(ws_server: EmulatorServer) -> None:
    with httpx.Client(trust_env=False) as client:
        response = client.get(ws_server.url, headers={"Connection": "Upgrade"})
    assert response.status_code == 405
    assert strict_json(response.content)["errorCode"] == 12006


def test_a_session_made_over_websocket_works_over_http(ws_server: EmulatorServer) -> None:
    async def body(conn: WebSocketClientConnection) -> dict[str, Any]:
        return await exchange(conn, {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})

    token = run(body, ws_url(ws_server))["authToken"]
    with httpx.Client(trust_env=False) as client:
        answer = strict_json(
            client.post(ws_server.url, json={"action": "deleteSession", "authToken": token, "debug": "none"}).content
        )
    assert answer["errorCode"] == 0


def test_stopping_the_server_closes_open_websockets(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A restart (to apply services.json) must not leave clients waiting on a dead socket."""
    srv = EmulatorServer(tmp_path_factory.mktemp("ws-stop"), port=0).start()

    async def main() -> tuple[dict[str, Any], Any, int | None]:
        conn = await asyncio.wait_for(websocket_connect(ws_url(srv)), timeout=10)
        try:
            first = await exchange(conn, {"action": "pingSession", "debug": "none"})
            await asyncio.get_running_loop().run_in_executor(None, srv.stop)
            after = await asyncio.wait_for(conn.read_message(), timeout=5)  # None: the socket was closed
            return first, after, conn.close_code
        finally:
            conn.close()

    try:
        first, after, close_code = asyncio.run(main())
    finally:
        srv.stop()
    assert first["errorCode"] == 0
    assert after is None
    assert close_code == 1001  # "going away"
