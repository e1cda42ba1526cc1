"""Issue 12, items 10, 12 and the start-time parts of 11: what a start accepts.

The attacks, each against a real ``tutorial-kit serve`` process:

- ``TUTORIAL_KIT_REPRODUCIBLE=false`` (or ``no``, ``off``): before the fix any value but ``""``
  and ``0`` turned on guessable tokens while ``ServerControl.reproducible`` said False. Now only
  1/true/yes/on turns it on, 0/false/no/off/empty leave it off, anything else stops the start;
  the helper reads the variable with the same parser.
- a FIFO or ``/dev/zero`` as ``services.json``: before, the start hung on the FIFO and read
  ``/dev/zero`` until it held 2.2 GB after 6 s. Now it is refused at once, with what to do.
- a server home whose folders exist with loose permissions (0755): ``data/`` and ``run/`` are
  made owner-only (0700) when the kit uses them.
- ``--host 0.0.0.0`` with ``ADMIN``/``ADMIN``: before, it served (and only logged a warning).
  Now it refuses, and says how to set a password (``tutorial-kit accounts admin-password``).
"""

from __future__ import annotations

import os
import re
import select
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _hardening import RawConnection, ServeProcess, create_body
from tutorial_kit import KitUsageError
from tutorial_kit.control.local import ServerControl
from tutorial_kit.server.reproducible import Reproducible
from tutorial_kit.server.store import Store

REPRODUCIBLE = "TUTORIAL_KIT_REPRODUCIBLE"


def first_token(home: Path, value: str) -> str:
    proc = ServeProcess(home, env={REPRODUCIBLE: value})
    try:
        proc.wait_ready()
        with RawConnection(proc.port) as conn:
            return conn.post(create_body())[1]["authToken"]
    finally:
        proc.stop()


GUESSABLE = Reproducible().token(Store(":memory:"))  # the first token of every fresh home in the mode


@pytest.mark.parametrize("value", ["1", "YES"])
def test_only_a_true_value_turns_reproducible_mode_on(tmp_path: Path, value: str) -> None:
    assert first_token(tmp_path, value) == GUESSABLE
    assert ServerControl(tmp_path, env={REPRODUCIBLE: value}).reproducible


@pytest.mark.parametrize("value", ["false", "no", "off", "0", ""])
def test_false_values_leave_tokens_random(tmp_path: Path, value: str) -> None:
    assert first_token(tmp_path, value) != GUESSABLE
    assert not ServerControl(tmp_path, env={REPRODUCIBLE: value}).reproducible


def test_a_value_that_is_neither_stops_the_start_and_the_helper(tmp_path: Path) -> None:
    code, out, err = ServeProcess(tmp_path, env={REPRODUCIBLE: "maybe"}).finish()
    assert code == 1 and out == "" and REPRODUCIBLE in err and "Traceback" not in err
    assert not (tmp_path / "data").exists(), "refused before any data was opened"
    for value in ("maybe", "2", "tru", "enabled"):
        with pytest.raises(KitUsageError, match=REPRODUCIBLE):
            ServerControl(tmp_path, env={REPRODUCIBLE: value}).reproducible  # noqa: B018


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "too-large"])
def test_a_services_json_that_is_not_a_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "config" / "services.json"
    path.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.write_bytes(b" " * (2 * 1024 * 1024) + b"{}")
    started = time.monotonic()
    code, out, err = ServeProcess(tmp_path).finish(timeout=30)
    assert code == 2 and out == "" and "Traceback" not in err, err
    assert str(path) in err and {"fifo": "a FIFO", "dev-zero": "a device", "too-large": "larger than"}[kind] in err
    assert time.monotonic() - started < 25, "the start did not hang"


def test_existing_loose_folders_are_made_owner_only(tmp_path: Path) -> None:
    for name in ("data", "run"):
        (tmp_path / name).mkdir(mode=0o755)
        os.chmod(tmp_path / name, 0o755)
    control = ServerControl(tmp_path, env={})
    try:
        control.start()  # the managed server: it writes run/ (state, log) and serve writes data/
    finally:
        control.stop()
    for name in ("data", "run"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o700, name


def _serve_on_every_interface(home: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
    return subprocess.Popen([sys.executable, "-m", "tutorial_kit", "serve", "--home", str(home), "--port", "0",
                             "--host", "0.0.0.0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**base, **(env or {})})


def test_every_interface_is_refused_while_admin_has_the_default_password(tmp_path: Path) -> None:
    proc = _serve_on_every_interface(tmp_path)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and out == b""
    message = err.decode()
    assert "ADMIN" in message and "tutorial-kit accounts admin-password" in message and "Traceback" not in message


def test_the_workshop_command_sets_a_password_then_the_room_can_be_served(tmp_path: Path) -> None:
    password = "trainer-only-secret-42"
    base = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
    command = subprocess.run([sys.executable, "-m", "tutorial_kit", "accounts", "admin-password", "--home",
                              str(tmp_path)], env={**base, "TUTORIAL_KIT_PASSWORD": password},
                             capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert command.returncode == 0, command.stderr
    assert password not in command.stdout + command.stderr  # never shown
    weak = subprocess.run([sys.executable, "-m", "tutorial_kit", "accounts", "admin-password", "--home",
                           str(tmp_path)], env={**base, "TUTORIAL_KIT_PASSWORD": "admin"},
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert weak.returncode == 1 and "not ADMIN" in weak.stderr
    proc = _serve_on_every_interface(tmp_path)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the server printed nothing"
        line = proc.stdout.readline().decode()  # type: ignore[union-attr]
        match = re.fullmatch(r"serving http://0\.0\.0\.0:(\d+)/api\n", line)
        if match is None:
            pytest.skip(f"cannot serve on 0.0.0.0 here: {line!r}")
        port = int(match.group(1))
        with RawConnection(port) as conn:
            assert conn.post(create_body())[1]["errorCode"] == 12033  # ADMIN/ADMIN no longer works
            assert conn.post(create_body(password=password))[1]["errorCode"] == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_refused_start_keeps_no_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        port = probe.getsockname()[1]
    base = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
    proc = subprocess.run([sys.executable, "-m", "tutorial_kit", "serve", "--home", str(tmp_path), "--port", str(port),
                           "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60, env=base)
    assert proc.returncode == 1 and "admin-password" in proc.stderr
    with socket.socket() as again:
        again.bind(("0.0.0.0", port))  # free again
