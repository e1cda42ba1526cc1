"""Process plumbing for the background server: its record, probe, identity, liveness, stop.

Everything here is about one operating-system process and the files beside it; what the process
means to a notebook lives in :mod:`tutorial_kit.control.local`. The server writes its own record and
holds its home's lock (:mod:`tutorial_kit.server.lifetime`); this module reads them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._exceptions import ServerControlError
from ..client.transport import is_loopback
from ..server.lifetime import RunRecord, read_record, run_folder

log = logging.getLogger(__name__)


#: what ``<home>/run/server.json`` records about the running server (written by the server itself)
ServerState = RunRecord


def read_state(path: Path) -> ServerState | None:
    """Return the recorded state, or None when the file is missing or unreadable (logged)."""
    return read_record(path)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (shared by threads and processes alike)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # run/: the state file and log, owner only
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# --- probing ---------------------------------------------------------------------------------


def post_action(url: str, action: str, *, verify: Any = True, timeout: float = 2.0) -> dict[str, Any] | None:
    """POST ``{"api": "admin", "action": action}``; return the envelope, or None if there is none.

    Proxy settings from the environment apply to remote servers only, never to loopback.
    """
    body = {"api": "admin", "action": action, "debug": "none"}
    if url.startswith("http://"):
        verify = False  # nothing to verify; spares httpx loading the CA bundle (~20 ms) per probe
    try:
        response = httpx.post(
            url, json=body, timeout=timeout, verify=verify, trust_env=not is_loopback(urlsplit(url).hostname or "")
        )
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.debug("%s at %s got no jsonAction answer: %s", action, url, exc)
        return None
    return data if isinstance(data, dict) and "errorCode" in data else None


def answers_ping(url: str, *, verify: Any = True, timeout: float = 2.0) -> bool:
    """True when ``url`` answers ``pingSession`` with errorCode 0."""
    envelope = post_action(url, "pingSession", verify=verify, timeout=timeout)
    return envelope is not None and envelope.get("errorCode") == 0


# --- process liveness and identity -----------------------------------------------------------


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:][:1] == "Z"


def process_alive(pid: int) -> bool:
    """True when ``pid`` is a live process; reaps it first if it is a finished child of ours."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def command_line(pid: int) -> list[str] | None:
    """Return the arguments ``pid`` was started with (from ``ps``: one string), or None."""
    proc = Path("/proc")
    if proc.is_dir():
        try:
            raw = (proc / str(pid) / "cmdline").read_bytes()
        except OSError:
            return None
        return raw.rstrip(b"\0").decode(errors="replace").split("\0") if raw else None
    result = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return [result.stdout.strip()] if result.stdout.strip() else None


def _holds_open(pid: int, path: Path) -> bool | None:
    """True when ``pid`` has ``path`` open; None where /proc cannot tell (not Linux)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    if not Path("/proc/self/fd").is_dir():
        return None
    try:
        entries = list(fd_dir.iterdir())
    except OSError:  # gone, or another user's process
        return False
    for entry in entries:
        try:
            if os.readlink(entry) == str(path):
                return True
        except OSError:  # that descriptor closed meanwhile (a connection ending): not the lock
            continue
    return False


def is_server_of(pid: int, home: Path) -> bool:
    """True when ``pid`` is a kit server of ``home``: it holds ``<home>/run/serve.lock`` open.

    That is true of every server of that home, however it was started (ServerControl,
    ``tutorial-kit serve`` by hand, ``EmulatorServer``), and of no other process, so a pid reused
    by another program is never taken for the server. Without /proc: its command line says
    ``tutorial_kit serve`` or ``tutorial-kit serve``.
    """
    lock = (run_folder(Path(home).resolve()) / "serve.lock").resolve()
    holds = _holds_open(pid, lock)
    if holds is not None:
        return holds
    args = " ".join(command_line(pid) or [])
    return ("tutorial_kit serve" in args or "tutorial-kit serve" in args) and str(home) in args


def servers_of(home: Path) -> list[int]:
    """Pids of every live kit server of ``home`` (Linux /proc; else none found)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    pids = (int(entry.name) for entry in proc.iterdir() if entry.name.isdigit())
    return [pid for pid in pids if pid != os.getpid() and not _is_zombie(pid) and is_server_of(pid, home)]


def block_until_exit(pid: int, timeout: float) -> None:
    """Block until ``pid`` ends or ``timeout`` passes (a pidfd where there is one, else a 20 ms nap)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        time.sleep(min(timeout, 0.02))
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to end (reaping it if it is our child); True if it did."""
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        block_until_exit(pid, remaining)
    return True


def terminate(pid: int, grace: float) -> None:
    """SIGTERM ``pid``, then SIGKILL after ``grace`` seconds; returns once it is gone."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            process_alive(pid)
            return
        if wait_for_exit(pid, wait):
            return
        log.warning("server process %s did not stop after %s", pid, sig.name)
    raise ServerControlError(f"the server process {pid} did not exit even after SIGKILL")
