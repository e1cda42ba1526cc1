"""One server per home and a server that ends with its owner (tutorial_kit/server/lifetime.py).

Real ``tutorial-kit serve`` processes: the home lock and its message, the run's own record and
``stopped.json``, ``--owner-pid`` and ``--idle-timeout``. :class:`IdleWatch`'s arithmetic is
checked with a fake clock, so no test here depends on how fast the machine is: every wait is
for an event, with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from _hardening import ServeProcess, write_services
from tutorial_kit import HomeInUseError
from tutorial_kit.server import EmulatorServer
from tutorial_kit.server.lifetime import IdleWatch, home_in_use, read_record, read_stopped

pytestmark = pytest.mark.slow


def _sleeper() -> subprocess.Popen[bytes]:
    """A process to act as an owner (a stand-in for a Jupyter server)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])


def _ping(url: str) -> int:
    return httpx.post(url, json={"action": "pingSession", "debug": "none"}, trust_env=False).json()["errorCode"]


# --- one server per home ---------------------------------------------------------------------


def test_a_second_serve_on_the_same_home_exits_3_naming_the_first(tmp_path: Path) -> None:
    first = ServeProcess(tmp_path)
    try:
        url = first.wait_ready()
        record = read_record(tmp_path / "run" / "server.json")
        assert record is not None and (record.pid, record.url) == (first.proc.pid, url)
        assert record.home == str(tmp_path.resolve()) and record.owner_pid is None and record.idle_timeout is None
        assert record.warnings == ()
        second = ServeProcess(tmp_path)
        code, out, err = second.finish()
        assert code == 3 and out == ""
        assert f"a server already runs for {tmp_path.resolve()}: pid {first.proc.pid}, {url}" in err
        assert "Traceback" not in err and _ping(url) == 0
    finally:
        assert first.stop()[0] == 0
    assert not home_in_use(tmp_path) and not (tmp_path / "run" / "server.json").exists()
    stopped = read_stopped(tmp_path)
    assert stopped is not None and (stopped["reason"], stopped["pid"], stopped["url"]) == (
        "signal",
        first.proc.pid,
        url,
    )


def test_emulator_server_takes_the_same_lock(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path, port=0) as server:
        assert home_in_use(tmp_path)
        with pytest.raises(HomeInUseError, match=f"pid {os.getpid()}, ") as caught:
            EmulatorServer(tmp_path, port=0).start()
        assert caught.value.url == server.url
        code, _, err = ServeProcess(tmp_path).finish()
        assert code == 3 and server.url in err
        server.restart()  # the same process takes the lock again
        assert _ping(server.url) == 0
    assert not home_in_use(tmp_path)


def test_the_record_carries_the_servers_start_warnings(tmp_path: Path) -> None:
    write_services(tmp_path, enablePermanentJsonApiSesions=True)  # misspelled
    server = ServeProcess(tmp_path)
    try:
        server.wait_ready()
        record = read_record(tmp_path / "run" / "server.json")
        assert record is not None and len(record.warnings) == 1
        assert 'unknown property "jsonActionApiDefaults.enablePermanentJsonApiSesions"' in record.warnings[0]
    finally:
        server.stop()


def test_a_killed_server_leaves_the_home_free(tmp_path: Path) -> None:
    first = ServeProcess(tmp_path)
    first.wait_ready()
    first.kill9()
    assert not home_in_use(tmp_path)  # the kernel dropped the lock with the process
    second = ServeProcess(tmp_path)
    try:
        second.wait_ready()
        record = read_record(tmp_path / "run" / "server.json")
        assert record is not None and record.pid == second.proc.pid
    finally:
        second.stop()


# --- the owner -------------------------------------------------------------------------------


def test_the_server_stops_when_its_owner_ends(tmp_path: Path) -> None:
    owner = _sleeper()
    server = ServeProcess(tmp_path, "--owner-pid", str(owner.pid))
    try:
        url = server.wait_ready()
        record = read_record(tmp_path / "run" / "server.json")
        assert record is not None and record.owner_pid == owner.pid
        assert _ping(url) == 0
        owner.send_signal(signal.SIGKILL)
        owner.wait(30)
        code, _, err = server.finish(timeout=30)
    finally:
        owner.kill()
        server.stop()
    assert code == 0 and f"the owner process {owner.pid} has ended" in err
    stopped = read_stopped(tmp_path)
    assert stopped is not None and stopped["reason"] == "owner" and stopped["url"] == url
    assert not home_in_use(tmp_path)


def test_an_owner_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    gone = _sleeper()
    gone.kill()
    gone.wait(30)
    code, out, err = ServeProcess(tmp_path, "--owner-pid", str(gone.pid)).finish()
    assert code == 1 and out == "" and f"--owner-pid {gone.pid}: no such process" in err
    assert not (tmp_path / "run" / "server.json").exists()


# --- idle ------------------------------------------------------------------------------------


def test_an_idle_server_stops_and_says_why(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, "--idle-timeout", "1")
    try:
        url = server.wait_ready()
        assert _ping(url) == 0
        code, _, err = server.finish(timeout=60)
    finally:
        server.stop()
    assert code == 0 and "no request for 1 s: stopping the server" in err
    stopped = read_stopped(tmp_path)
    assert stopped is not None and stopped["reason"] == "idle" and stopped["port"] == server.port


def test_an_open_websocket_keeps_an_idle_server_running(tmp_path: Path) -> None:
    from tornado.httpclient import HTTPRequest
    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    server = ServeProcess(tmp_path, "--idle-timeout", "1")
    try:
        url = server.wait_ready()

        async def hold() -> None:
            socket = await websocket_connect(HTTPRequest(url.replace("http", "ws", 1)))
            await socket.write_message(json.dumps({"action": "pingSession", "debug": "none"}))
            assert json.loads(await socket.read_message())["errorCode"] == 0
            deadline = time.monotonic() + 3  # three idle timeouts with the socket open
            while time.monotonic() < deadline:
                assert server.proc.poll() is None, "the server stopped while a WebSocket was open"
                await asyncio.sleep(0.1)
            socket.close()

        IOLoop.current().run_sync(hold, timeout=30)
        code, _, _ = server.finish(timeout=60)  # closed: now it is idle
        assert code == 0 and read_stopped(tmp_path)["reason"] == "idle"
    finally:
        server.stop()


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_idle_watch_counts_from_the_last_request_and_waits_for_open_sockets() -> None:
    clock, sockets = _Clock(), set()
    watch = IdleWatch(60, on_idle=lambda: None, busy=lambda: bool(sockets), clock=clock)
    clock.now += 59
    assert watch.remaining() == pytest.approx(1)
    watch.touch()  # a request
    clock.now += 30
    assert watch.remaining() == pytest.approx(30)
    clock.now += 30
    assert watch.remaining() is None  # 60 s without a request: idle
    sockets.add("ws")
    assert watch.remaining() == 60  # an open WebSocket is use: look again in a full period
