"""Process plumbing for the managed background server: lock, state file, probe, liveness, stop.

Everything here is about one operating-system process and the files beside it; what the process
means to a notebook lives in :mod:`tutorial_kit.control`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._exceptions import ServerControlError
from ._files import replace_file
from ._transport import is_loopback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerState:
    """What ``<home>/run/server.json`` records about the running background server."""

    pid: int
    port: int
    url: str
    home: str
    started_at: str
    warnings: tuple[str, ...] = ()  # what the server warned about services.json when it started


def read_state(path: Path) -> ServerState | None:
    """Return the recorded state, or None when the file is missing or unreadable (logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerState(
            pid=int(data["pid"]), port=int(data["port"]), url=str(data["url"]),
            home=str(data["home"]), started_at=str(data["started_at"]),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable state file %s: %s", path, exc)
        return None


def write_state(path: Path, state: ServerState) -> None:
    """Write the state file atomically with mode 0600."""
    replace_file(path, json.dumps(asdict(state), indent=2) + "\n")


def now_utc() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        response = httpx.post(url, json=body, timeout=timeout, verify=verify, trust_env=not is_loopback(urlsplit(url).hostname or ""))
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


def is_server_of(pid: int, home: Path) -> bool:
    """True when ``pid`` is a ``tutorial_kit serve`` process for ``home`` (guards against pid reuse)."""
    args = command_line(pid)
    wanted = ["tutorial_kit", "serve", "--home", str(home)]
    if args is None:
        return False
    if len(args) == 1:
        return " ".join(wanted) + " " in args[0] + " "
    return any(args[i:i + len(wanted)] == wanted for i in range(len(args)))


def servers_of(home: Path) -> list[int]:
    """Pids of every live ``tutorial_kit serve`` process for ``home`` (Linux /proc; else none found)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    pids = (int(entry.name) for entry in proc.iterdir() if entry.name.isdigit())
    return [pid for pid in pids if pid != os.getpid() and is_server_of(pid, home) and not _is_zombie(pid)]


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
