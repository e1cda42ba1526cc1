"""``python -m tutorial_kit serve`` as a real process: its one stdout line, signals, exit codes,
restarts and crashes (``kill -9``)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _hardening import write_services
from conftest import strict_json

pytestmark = pytest.mark.slow

SERVING = re.compile(r"serving http://127\.0\.0\.1:(\d+)/api\n")


class Serve:
    """One ``tutorial-kit serve`` process."""

    def __init__(self, home: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tutorial_kit", "serve", "--home", str(home), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.url: str | None = None

    def wait_ready(self, timeout: float = 30) -> str:
        """Wait for the one stdout line; return the URL it names."""
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, "the server printed nothing in time"
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        assert SERVING.fullmatch(line), (line, self.proc.poll())
        self.url = line.split()[1]
        return self.url

    def finish(self, sig: int | None = None, timeout: float = 30) -> tuple[int, str, str]:
        """Send ``sig`` (if any), wait, and return (exit code, rest of stdout, stderr)."""
        if sig is not None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=30)


@pytest.fixture
def processes() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    try:
        yield started
    finally:
        for serve in started:
            serve.kill()


def start(processes: list[Serve], home: Path, *args: str) -> Serve:
    serve = Serve(home, *args)
    processes.append(serve)
    return serve


def ask(url: str, body: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(timeout=30, trust_env=False) as client:
        return strict_json(client.post(url, json=body).content)


def login(url: str, **params: Any) -> str:
    answer = ask(url, {"action": "createSession", "debug": "none",
                       "params": {"username": "ADMIN", "password": "ADMIN", **params}})
    assert answer["errorCode"] == 0, answer
    return answer["authToken"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_one_stdout_line_and_a_clean_stop(home: Path, processes: list[Serve], sig: int) -> None:
    serve = start(processes, home, "--port", "0")
    url = serve.wait_ready()
    assert int(url.rsplit(":", 1)[1].split("/")[0]) > 0
    assert ask(url, {"action": "pingSession", "debug": "none"})["errorCode"] == 0
    code, rest, err = serve.finish(sig)
    assert code == 0, err
    assert rest == ""  # exactly one line on stdout
    assert "Traceback" not in err
    assert (home / "config" / "services.json").is_file() and (home / "data" / "kit.sqlite3").is_file()


def test_a_broken_services_json_exits_2_with_the_place(home: Path, processes: list[Serve]) -> None:
    path = write_services(home)
    text = path.read_text().replace('"jsonActionApiDefaults": {', '"jsonActionApiDefaults"\n  {')
    path.write_text(text)
    name_end = text.index('"jsonActionApiDefaults"') + len('"jsonActionApiDefaults"')
    line, column = text.count("\n", 0, name_end) + 1, name_end - text.rfind("\n", 0, name_end)
    code, out, err = start(processes, home, "--port", "0").finish()
    assert code == 2
    assert out == ""
    assert str(path) in err and f"line {line}, column {column}" in err and '":"' in err
    assert "Traceback" not in err
    assert not (home / "data").exists()  # the store was not even opened


def test_a_wrong_value_in_services_json_exits_2_naming_the_property(home: Path, processes: list[Serve]) -> None:
    write_services(home, defaultDebug="verbose")
    code, out, err = start(processes, home, "--port", "0").finish()
    assert (code, out) == (2, "")
    assert "jsonActionApiDefaults.defaultDebug" in err and '"verbose"' in err


def test_permanent_sessions_survive_a_restart_temporary_ones_do_not(home: Path, processes: list[Serve]) -> None:
    write_services(home, enablePermanentJsonApiSessions=True, maxJsonApiSesions=3)  # a typo: warned about
    serve = start(processes, home, "--port", "0")
    url = serve.wait_ready()
    key, temporary = login(url, permanentSession=True), login(url)
    code, _, err = serve.finish(signal.SIGTERM)
    assert code == 0 and 'unknown property "jsonActionApiDefaults.maxJsonApiSesions"' in err
    serve = start(processes, home, "--port", "0")
    url = serve.wait_ready()
    described = ask(url, {"action": "describeSessions", "authToken": key, "debug": "none"})
    assert [(s["authToken"], s["permanentSession"]) for s in described["result"]["sessions"]] == [(key, True)]
    assert ask(url, {"action": "pingSession", "authToken": temporary})["errorCode"] == 12031
    assert serve.finish(signal.SIGTERM)[0] == 0


def test_kill_9_right_after_the_answers_loses_no_acknowledged_session(home: Path, processes: list[Serve]) -> None:
    write_services(home, enablePermanentJsonApiSessions=True)
    serve = start(processes, home, "--port", "0")
    url = serve.wait_ready()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(login, url, permanentSession=True, description=f"key {n}") for n in range(12)]
        tokens = []
        for future in concurrent.futures.as_completed(futures):
            tokens.append(future.result())
        serve.proc.kill()  # SIGKILL the moment the last answer is in
    serve.finish()
    assert serve.proc.returncode == -signal.SIGKILL

    serve = start(processes, home, "--port", "0")
    url = serve.wait_ready()
    admin = login(url)
    described = ask(
        url, {"action": "describeSessions", "authToken": admin, "params": {"authTokens": tokens}, "debug": "none"}
    )
    found = described["result"]["sessions"]
    assert [s["authToken"] for s in found] == tokens
    assert all(s["permanentSession"] for s in found)
    assert sorted(s["description"] for s in found) == sorted(f"key {n}" for n in range(12))
    assert serve.finish(signal.SIGTERM)[0] == 0
    conn = sqlite3.connect(home / "data" / "kit.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT COUNT(*) FROM permanent_sessions").fetchone()[0] == 12
    finally:
        conn.close()


def _busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_port_in_use_is_a_clear_message_and_exit_1(home: Path, processes: list[Serve]) -> None:
    sock = _busy_port()
    try:
        port = sock.getsockname()[1]
        code, out, err = start(processes, home, "--port", str(port)).finish()
        assert (code, out) == (1, "")
        assert f"port {port}" in err and "--port" in err and "in use" in err.lower()
        assert "Traceback" not in err
        # the port taken from services.json is named too
        data = json.loads((home / "config" / "services.json").read_text())
        data["listeners"][0]["port"] = port
        (home / "config" / "services.json").write_text(json.dumps(data))
        code, out, err = start(processes, home).finish()
        assert (code, out) == (1, "")
        assert f"port {port}" in err and "Traceback" not in err
    finally:
        sock.close()
