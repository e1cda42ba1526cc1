"""ServerControl and the server's own life: a server started by hand is adopted, the background
server follows its owner (the kernel's Jupyter server, JPY_PARENT_PID), and a lesson's client keeps
working after the server stopped by itself (idle, or its owner ended) but not after a stop on purpose.

Every wait is for an event, with a deadline; no test depends on how fast the machine is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _hardening import ServeProcess
from tutorial_kit import ServerNotRunningError
from tutorial_kit.control.local import ServerControl, jupyter_server_pid
from tutorial_kit.control.process import servers_of, wait_for_exit
from tutorial_kit.server.lifetime import read_stopped

pytestmark = pytest.mark.slow

KERNEL = (  # a kernel's part: start the server, then end (as a kernel restart or shutdown does)
    "import sys\nfrom tutorial_kit.control.local import ServerControl\n"
    "print(ServerControl(sys.argv[1]).start().status().pid)\n"
)


@pytest.fixture
def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_") and k != "JPY_PARENT_PID"}


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "home"
    ServerControl(tmp_path / "home", env={}).stop()
    assert not servers_of(tmp_path / "home"), "server processes left behind"


@pytest.fixture
def owner() -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in for the Jupyter server that runs the kernels."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield proc
    proc.kill()
    proc.wait(30)


def _wait_stopped(home: Path, reason: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stopped = read_stopped(home)
        if stopped is not None and stopped.get("reason") == reason and not servers_of(home):
            return stopped
        time.sleep(0.05)
    pytest.fail(f"the server of {home} did not stop ({reason}) within {timeout} s")


# --- a server started by hand ----------------------------------------------------------------


def test_a_server_started_by_hand_is_found_and_used(home: Path, clean_env: dict[str, str]) -> None:
    by_hand = ServeProcess(home)
    try:
        url = by_hand.wait_ready()
        control = ServerControl(home, env=clean_env)
        status = control.start().status()
        assert (status.pid, status.url) == (by_hand.proc.pid, url)
        assert servers_of(home) == [by_hand.proc.pid]  # no second server on the same database
        assert "ends: only when stopped (started by hand)" in status.text
        assert control.client().ping_session().ok
        control.restart()  # adopted: replaced by the kit's own server, on the same port
        assert by_hand.proc.wait(30) == 0
        after = control.status()
        assert after.url == url and after.pid != by_hand.proc.pid and after.idle_timeout == 3600
    finally:
        by_hand.stop()


# --- the owner -------------------------------------------------------------------------------


def test_the_server_outlives_kernels_and_ends_with_their_jupyter_server(
        home: Path, clean_env: dict[str, str], owner: subprocess.Popen[bytes]) -> None:
    env = {**clean_env, "JPY_PARENT_PID": str(owner.pid)}
    assert jupyter_server_pid(env) == owner.pid
    pids = {int(subprocess.run([sys.executable, "-c", KERNEL, str(home)], env=env, capture_output=True,
                               text=True, timeout=60, check=True).stdout) for _ in range(2)}
    assert len(pids) == 1, "a second kernel (a restart) found the same server"
    (pid,) = pids
    status = ServerControl(home, env=env).status()
    assert status.running and status.pid == pid and status.owner_pid == owner.pid
    assert f"ends: when process {owner.pid} (its Jupyter server) ends or after 3600 s without a request" in status.text
    owner.kill()  # JupyterLab stops
    assert wait_for_exit(pid, 60)
    _wait_stopped(home, "owner")
    text = ServerControl(home, env=clean_env).status().text
    assert "it stopped when the Jupyter server that started it ended" in text


def test_a_restart_from_a_terminal_keeps_the_owner(
        home: Path, clean_env: dict[str, str], owner: subprocess.Popen[bytes]) -> None:
    ServerControl(home, env={**clean_env, "JPY_PARENT_PID": str(owner.pid)}).start()
    terminal = ServerControl(home, env=clean_env)  # JupyterLab's terminal: no JPY_PARENT_PID
    assert terminal.owner_pid is None
    assert terminal.restart().status().owner_pid == owner.pid  # still ends with JupyterLab
    pid = terminal.status().pid
    owner.kill()
    assert pid is not None and wait_for_exit(pid, 60)
    _wait_stopped(home, "owner")


def test_a_dead_jupyter_pid_is_no_owner(clean_env: dict[str, str], owner: subprocess.Popen[bytes]) -> None:
    owner.kill()
    owner.wait(30)
    assert jupyter_server_pid({**clean_env, "JPY_PARENT_PID": str(owner.pid)}) is None
    assert jupyter_server_pid({"JPY_PARENT_PID": "1"}) is None and jupyter_server_pid({"JPY_PARENT_PID": "x"}) is None


# --- coming back -----------------------------------------------------------------------------


def test_the_client_brings_an_idle_server_back_on_the_same_port(home: Path, clean_env: dict[str, str]) -> None:
    control = ServerControl(home, env=clean_env, idle_timeout=1)
    first = control.start().status()
    client = control.client(debug="none")
    assert client.ping_session().ok
    stopped = _wait_stopped(home, "idle")
    assert stopped["port"] == int(first.url.rsplit(":", 1)[1].split("/")[0])
    assert "it stopped by itself" in control.status().text
    assert client.list_services().ok  # the next request starts it again
    again = control.status()
    assert again.running and again.url == first.url and again.pid != first.pid


def test_a_new_kernel_after_an_idle_stop_gets_the_same_url(home: Path, clean_env: dict[str, str]) -> None:
    first = ServerControl(home, env=clean_env, idle_timeout=1).start().status()
    _wait_stopped(home, "idle")
    assert ServerControl(home, env=clean_env).start().status().url == first.url


def test_the_client_follows_the_server_when_its_port_was_taken(home: Path, clean_env: dict[str, str]) -> None:
    control = ServerControl(home, env=clean_env, idle_timeout=1)
    client = control.start().client(debug="none")
    port = _wait_stopped(home, "idle")["port"]
    with socket.socket() as squatter:  # another program holds the port meanwhile (bound, not answering)
        squatter.bind(("127.0.0.1", port))
        assert client.list_services().ok and client.list_services().ok
        moved = control.status().url
        assert moved is not None and f":{port}/" not in moved


def test_a_server_stopped_on_purpose_stays_stopped(home: Path, clean_env: dict[str, str]) -> None:
    control = ServerControl(home, env=clean_env)
    client = control.start().client(debug="none")
    control.stop()
    with pytest.raises(ServerNotRunningError, match="No server answers"):
        client.ping_session()
    assert not servers_of(home)


def test_a_killed_server_is_not_brought_back_by_the_client(home: Path, clean_env: dict[str, str]) -> None:
    control = ServerControl(home, env=clean_env)
    client = control.start().client(debug="none")
    pid = control.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert wait_for_exit(pid, 30)
    with pytest.raises(ServerNotRunningError):
        client.ping_session()
