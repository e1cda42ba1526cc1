"""The managed background server (tutorial_kit.control.local): real `tutorial_kit serve` processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tutorial_kit import ConfigFileError, KitUsageError, ServerControlError
from tutorial_kit.client.kit_client import KitClient
from tutorial_kit.control.local import ServerControl, default_home
from tutorial_kit.control.process import is_server_of, wait_for_exit

pytestmark = pytest.mark.slow

FLAG = "enablePermanentJsonApiSessions"
SHARE = (
    "import json, sys\n"
    "from tutorial_kit.control.local import ServerControl\n"
    "state = json.loads(ServerControl(sys.argv[1]).start().state_path.read_text())\n"
    "print(json.dumps([state['pid'], state['url']]))\n"
)


def servers_of(home: Path) -> set[int]:
    """Pids of live (not zombie) `tutorial_kit serve --home HOME` processes, found through /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            alive = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            continue
        if alive and is_server_of(int(entry.name), home):
            found.add(int(entry.name))
    return found


def running_defaults(url: str) -> dict[str, Any]:
    answer = httpx.post(url, json={"api": "admin", "action": "listServices"}, trust_env=False).json()
    assert answer["errorCode"] == 0, answer
    return answer["result"]["jsonActionApiDefaults"]


def pid_exists(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def clean_env() -> dict[str, str]:
    """This process's environment without any TUTORIAL_KIT_* setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}


@pytest.fixture
def homes(tmp_path: Path) -> Iterator[list[Path]]:
    """Server homes for a test; at teardown every server of them is stopped, and none may be left."""
    made: list[Path] = []
    yield made
    for home in made:
        ServerControl(home).stop()
    leaked = {str(home): servers_of(home) for home in made if servers_of(home)}
    assert not leaked, f"server processes left behind: {leaked}"


@pytest.fixture
def make_control(tmp_path: Path, homes: list[Path], clean_env: dict[str, str]) -> Any:
    def make(name: str = "home", **env: str) -> ServerControl:
        home = tmp_path / name
        if home not in homes:
            homes.append(home)
        return ServerControl(home, env={**clean_env, **env})

    return make


@pytest.fixture
def control(make_control: Any) -> ServerControl:
    return make_control()


# --- lifecycle -------------------------------------------------------------------------------


def test_start_spawns_one_server_and_records_it(control: ServerControl) -> None:
    assert control.start() is control
    state = json.loads(control.state_path.read_text())
    assert sorted(state) == ["home", "idle_timeout", "own_user_only", "owner_pid", "pid", "port", "started_at", "url",
                             "warnings"]
    assert state["idle_timeout"] == 3600 and state["owner_pid"] is None and state["own_user_only"] is True
    assert state["warnings"] == [], "a default services.json: nothing to warn about"
    assert state["home"] == str(control.home) and state["url"] == f"http://127.0.0.1:{state['port']}/api"
    assert stat.S_IMODE(control.state_path.stat().st_mode) == 0o600
    assert servers_of(control.home) == {state["pid"]}
    assert FLAG not in running_defaults(state["url"])  # a fresh home: the flag is off
    assert control.url == state["url"] and control.services_path.is_file()


def test_start_is_idempotent_across_objects(control: ServerControl, clean_env: dict[str, str]) -> None:
    first = control.start().status()
    again = control.start().status()
    other_kernel = ServerControl(control.home, env=clean_env).start().status()
    assert first.running and (first.pid, first.url) == (again.pid, again.url) == (other_kernel.pid, other_kernel.url)
    assert servers_of(control.home) == {first.pid}


def test_stop_ends_the_process_and_is_idempotent(control: ServerControl) -> None:
    pid = control.start().status().pid
    assert pid is not None
    control.stop()
    assert not pid_exists(pid) and not control.state_path.exists()
    control.stop()
    assert not control.status().running
    with pytest.raises(ServerControlError, match="call start"):
        _ = control.url


def test_restart_keeps_port_and_rereads_services_json(control: ServerControl) -> None:
    before = control.start().status()
    assert FLAG not in running_defaults(before.url or "")
    result = control.set_default(FLAG, True)
    assert result.changed and "restart it" in str(result)
    edited = control.status()
    assert edited.restart_keys == (FLAG,) and edited.restart_needed
    assert FLAG not in running_defaults(edited.url or "")  # the running server still has the old value
    after = control.restart().status()
    assert after.url == before.url and after.pid != before.pid
    assert running_defaults(after.url or "")[FLAG] is True
    assert not after.restart_needed and after.running_defaults == after.file_defaults
    assert servers_of(control.home) == {after.pid}


def test_restart_keeps_permanent_sessions_and_ends_temporary_ones(control: ServerControl) -> None:
    control.start().set_default(FLAG, True)
    control.restart()
    with control.client() as admin:
        key = admin.create_session(permanent=True).auth_token
        temporary = admin.create_session().auth_token
        control.restart()
        assert admin.with_token(key).ping_session(check=False).error_code == 0
        assert admin.with_token(temporary).ping_session(check=False).error_code == 12031


def test_reset_starts_a_fresh_server(control: ServerControl) -> None:
    control.start().set_default(FLAG, True)
    control.restart()
    with control.client() as admin:
        key = admin.create_session(permanent=True).auth_token
    old_pid = control.status().pid
    (control.home / "data" / "marker").write_text("x")
    assert control.reset() is control
    status = control.status()
    assert status.running and status.pid != old_pid and FLAG not in (status.file_defaults or {})
    assert not (control.home / "data" / "marker").exists()
    with control.client() as admin:
        assert admin.with_token(key or "").ping_session(check=False).error_code == 12031


def test_killed_server_is_replaced_on_next_start(control: ServerControl) -> None:
    pid = control.start().status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    status = control.start().status()
    assert status.running and status.pid != pid and servers_of(control.home) == {status.pid}


def test_hung_server_is_replaced(control: ServerControl) -> None:
    pid = control.start().status().pid
    assert pid is not None
    control.probe_timeout, control.stop_grace = 0.5, 0.5
    os.kill(pid, signal.SIGSTOP)  # alive, but answers nothing (and ignores SIGTERM until SIGKILL)
    status = control.start().status()
    assert status.running and status.pid != pid and not pid_exists(pid)


def test_stale_state_naming_another_process_is_never_signalled(control: ServerControl) -> None:
    old = control.start().status().pid
    stale = {"pid": os.getpid(), "port": 9, "url": "http://127.0.0.1:9/api", "home": str(control.home),
             "started_at": "2026-01-01T00:00:00Z"}
    control.state_path.write_text(json.dumps(stale))  # the record is lost: `old` runs unrecorded
    status = control.start().status()  # this test's own pid is not a server: it must survive
    assert status.running and status.pid not in (old, os.getpid())
    assert old is not None and not pid_exists(old)  # the unrecorded server of this home was ended
    control.state_path.write_text(json.dumps(stale))
    control.stop()
    assert not control.state_path.exists() and not servers_of(control.home)


# --- status ----------------------------------------------------------------------------------


def test_status_text_reports_running_vs_file(control: ServerControl) -> None:
    assert str(control.status()).startswith("server: not running")
    status = control.start().status()
    assert f"(pid {status.pid})" in status.text and status.url in status.text
    control.set_default(FLAG, True)
    lines = repr(control.status()).splitlines()
    assert f"{FLAG} (running): (absent)" in lines and f"{FLAG} (services.json): true" in lines
    assert f"  {FLAG}: file true, running (absent)" in lines


def test_status_text_is_deterministic_in_reproducible_mode(
    make_control: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    control = make_control(TUTORIAL_KIT_REPRODUCIBLE="1")
    status = control.start().status()
    assert status.pid is not None and status.url is not None
    port = status.url.rsplit(":", 1)[1].split("/")[0]
    assert "server: running at http://127.0.0.1:<port>/api" in status.text
    assert str(status.pid) not in status.text and port not in status.text
    lines = status.text.splitlines()  # paths are shown under the default home's name, not the temp folder
    assert "home: server-home" in lines and "services.json: server-home/config/services.json" in lines
    assert str(tmp_path) not in status.text


def test_status_reports_a_broken_file_without_failing(control: ServerControl) -> None:
    control.start()
    control.services_path.write_text('{"jsonActionApiDefaults" {}}')
    status = control.status()
    assert status.running and status.file_defaults is None and "line 1, column 25" in (status.file_error or "")


# --- failures --------------------------------------------------------------------------------


def test_broken_services_json_gives_the_servers_message_not_a_timeout(control: ServerControl) -> None:
    control.services_path.parent.mkdir(parents=True)
    control.services_path.write_text('{\n  "apiRoot": "./api",\n  "jsonActionApiDefaults"\n  {}\n}\n')
    control.start_timeout = 60.0
    began = time.monotonic()
    with pytest.raises(ConfigFileError) as caught:
        control.start()
    assert time.monotonic() - began < 30  # it did not wait for the timeout
    error = caught.value
    assert (error.path, error.line, error.column) == (str(control.services_path), 3, 26)
    assert str(control.services_path) in error.message and "missing" in error.message
    assert not error.message.startswith("tutorial-kit serve:")
    assert not control.state_path.exists() and not servers_of(control.home)


def test_failed_restart_leaves_server_stopped_and_next_restart_reuses_port(control: ServerControl) -> None:
    url = control.start().url
    good = control.services_path.read_text()
    control.services_path.write_text(good.replace('"jsonActionApiDefaults":', '"jsonActionApiDefaults"'))
    with pytest.raises(ConfigFileError):
        control.restart()
    assert not control.status().running
    control.services_path.write_text(good)
    assert control.restart().url == url


def _bound_when_free(port: int, wait: float = 2.0) -> socket.socket:
    """A socket bound to 127.0.0.1:``port`` once the port is free. A killed process's sockets are
    closed a moment after it is gone (Linux defers the close of an exiting task's files by about a
    clock tick), so the first bind right after ``kill -9`` may still find the old listener."""
    deadline = time.monotonic() + wait
    while True:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def test_port_in_use_gives_the_servers_message(control: ServerControl) -> None:
    status = control.start().status()
    assert status.pid is not None and status.url is not None
    port = int(status.url.rsplit(":", 1)[1].split("/")[0])
    os.kill(status.pid, signal.SIGKILL)
    assert wait_for_exit(status.pid, 10)
    with _bound_when_free(port) as blocker:
        blocker.listen()
        with pytest.raises(ServerControlError, match=f"cannot listen on 127.0.0.1 port {port}"):
            control.restart()
    assert not control.state_path.exists()


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("import time\ntime.sleep(60)\n", "did not say it was ready within 1 s and was stopped"),
        ("print('hello', flush=True)\nimport time\ntime.sleep(60)\n", "printed 'hello' instead of"),
    ],
)
def test_a_server_that_never_gets_ready_is_stopped(make_control: Any, tmp_path: Path, hook: str, message: str) -> None:
    hooks = tmp_path / "hooks"  # a sitecustomize makes `python -m tutorial_kit serve` hang at startup
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(hook)
    control = make_control(PYTHONPATH=str(hooks))
    control.start_timeout = 1.0
    with pytest.raises(ServerControlError, match=message):
        control.start()
    assert not servers_of(control.home) and not control.state_path.exists()


# --- sharing ---------------------------------------------------------------------------------


def test_two_processes_sharing_a_home_get_the_same_server(control: ServerControl, clean_env: dict[str, str]) -> None:
    runs = [
        subprocess.run([sys.executable, "-c", SHARE, str(control.home)], env=clean_env,
                       capture_output=True, text=True, timeout=60, check=True)
        for _ in range(2)
    ]
    first, second = (json.loads(run.stdout) for run in runs)
    assert first == second and servers_of(control.home) == {first[0]}


def test_concurrent_processes_start_one_server(control: ServerControl, clean_env: dict[str, str]) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", SHARE, str(control.home)], env=clean_env,
                         stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    answers = {proc.communicate(timeout=60)[0] for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(answers) == 1
    assert servers_of(control.home) == {json.loads(answers.pop())[0]}


def test_concurrent_threads_start_one_server(control: ServerControl, clean_env: dict[str, str]) -> None:
    barrier = threading.Barrier(6)
    pids: list[int | None] = []

    def start() -> None:
        barrier.wait()
        pids.append(ServerControl(control.home, env=clean_env).start().status().pid)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(pids) == 6 and len(set(pids)) == 1 and servers_of(control.home) == set(pids)


def test_two_homes_never_collide(make_control: Any) -> None:
    one, two = make_control("one").start(), make_control("two").start()
    first, second = one.status(), two.status()
    assert first.pid != second.pid and first.url != second.url
    one.set_default(FLAG, True)
    one.restart()
    assert FLAG not in running_defaults(second.url or "") and two.status().pid == second.pid
    one.stop()
    assert two.status().running


# --- configuration and helpers ---------------------------------------------------------------


def test_set_default_before_first_start_writes_the_default_file(control: ServerControl) -> None:
    result = control.set_default(FLAG, True)
    assert result.changed and not result.had_key
    assert running_defaults(control.start().url)[FLAG] is True


def test_client_logs_in_as_admin_and_takes_overrides(control: ServerControl) -> None:
    with control.start().client(timeout=5.0) as client:
        assert isinstance(client, KitClient) and client.url == control.url
        assert (client.username, client.password, client.timeout) == ("ADMIN", "ADMIN", 5.0)
        assert client.create_session().ok
    with control.client(username="alice", password="pw") as client:
        assert (client.username, client.password) == ("alice", "pw")


def test_default_home(tmp_path: Path) -> None:
    assert default_home({"TUTORIAL_KIT_HOME": str(tmp_path / "h")}) == tmp_path / "h"
    repo = tmp_path / "repo"
    (repo / "notebooks" / "deep").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("")
    assert default_home({}, cwd=repo / "notebooks" / "deep") == repo / "server-home"
    assert default_home({"HOME": str(tmp_path)}, cwd=tmp_path) == tmp_path / ".tutorial-kit" / "server-home"


def test_explain_rejects_unknown_steps(control: ServerControl) -> None:
    assert "same port" in control.explain("restart")
    with pytest.raises(KitUsageError):
        control.explain("reboot")
