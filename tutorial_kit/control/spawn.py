"""Spawning ``python -m tutorial_kit serve`` detached and waiting for its serving line.

The server must outlive the kernel that started it (a kernel restart keeps it), so it gets its
own session (Ctrl-C in a notebook does not reach it) and no :class:`subprocess.Popen` object
tracks it: ``os.posix_spawn`` starts it, and :func:`tutorial_kit.control.process.process_alive` reaps it
if it ends while this process still runs. It ends with its owner instead (``--owner-pid``: the
kernel's Jupyter server) or after ``--idle-timeout`` seconds without a request. Its stdout is a
pipe read only until the one line ``serving http://HOST:PORT/api``;
its stderr is appended to ``<home>/run/server.log``, where a failed start's message is read back.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._exceptions import ConfigFileError, HomeInUseError, ServerControlError
from .._files import private_dir
from .process import block_until_exit, terminate

log = logging.getLogger(__name__)

_READY = re.compile(r"^serving (https?://[^\s/]+:(\d+)/\S*)\s*$")
_LOCATION = re.compile(r"line (\d+), column (\d+)")
_SERVE_PREFIX = "tutorial-kit serve: "
#: exit codes of `tutorial-kit serve`: services.json is broken; another server has the home (docs/architecture.md)
CONFIG_EXIT_CODE, IN_USE_EXIT_CODE = 2, 3


@dataclass(frozen=True)
class Spawned:
    """A server process that printed its serving line."""

    pid: int
    url: str
    port: int


def _read_line(fd: int, timeout: float) -> tuple[str, bytes]:
    """Read ``fd`` up to a newline: ("line", text), ("eof", text) or ("timeout", text)."""
    buffer = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", buffer
            if selector.select(remaining):
                chunk = os.read(fd, 4096)
                if not chunk:
                    return "eof", buffer
                buffer += chunk
    return "line", buffer


def _exit_code(pid: int, timeout: float) -> int | None:
    """Wait up to ``timeout`` s for our child ``pid`` to end and reap it; None if it is still running."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        block_until_exit(pid, remaining)


def _server_message(log_path: Path, offset: int) -> str:
    """What the server wrote on stderr since ``offset``: from its own error line on, if it has one."""
    with open(log_path, "rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace").strip()
    lines = text.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(_SERVE_PREFIX):
            return "\n".join([lines[index][len(_SERVE_PREFIX):], *lines[index + 1:]]).strip()
    return text


def _failure(status: str, pid: int, output: bytes, log_path: Path, offset: int, services: Path,
             timeout: float) -> Exception:
    """Stop what is left of a server that did not get ready; build the error from its own words."""
    code = _exit_code(pid, timeout) if status == "eof" else None
    if code is None:
        terminate(pid, 1.0)
    message = _server_message(log_path, offset) or "(nothing on stderr)"
    if status == "timeout":
        return ServerControlError(f"the server did not say it was ready within {timeout:g} s and was stopped. "
                                  f"Its log ({log_path}) says: {message}")
    if status == "line":
        return ServerControlError(f"the server printed {output.decode(errors='replace').strip()!r} instead of "
                                  f"'serving http://HOST:PORT/api' and was stopped; see {log_path}")
    if code == IN_USE_EXIT_CODE:
        return HomeInUseError(message, home=str(services.parent.parent))
    if code == CONFIG_EXIT_CODE:
        where = _LOCATION.search(message)
        return ConfigFileError(message, path=str(services),
                               line=int(where.group(1)) if where else None,
                               column=int(where.group(2)) if where else None)
    return ServerControlError(f"the server exited (code {code}) before it was ready: {message} (log: {log_path})")


def _launch(argv: list[str], env: Mapping[str, str], stdout: int, stderr: int) -> int:
    """posix_spawn ``argv`` in a new session with stdin from /dev/null; return its pid."""
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        return os.posix_spawn(
            argv[0], argv, dict(env), setsid=True,
            file_actions=[(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, stdout, 1),
                          (os.POSIX_SPAWN_DUP2, stderr, 2)],
        )
    finally:
        os.close(null)


def spawn_server(home: Path, port: int, *, env: Mapping[str, str], log_path: Path, services: Path,
                 timeout: float, owner_pid: int | None = None, idle_timeout: float | None = None) -> Spawned:
    """Start ``python -m tutorial_kit serve --home HOME --port PORT`` detached; wait until it is ready.

    ``owner_pid`` and ``idle_timeout`` become ``--owner-pid`` and ``--idle-timeout``. Raises
    ConfigFileError (exit code 2: broken services.json), HomeInUseError (exit code 3: another server
    took the home first) or ServerControlError, carrying what the server wrote on stderr; a server
    silent for ``timeout`` seconds is stopped and reported.
    """
    argv = [sys.executable, "-m", "tutorial_kit", "serve", "--home", str(home), "--port", str(port)]
    if owner_pid is not None:
        argv += ["--owner-pid", str(owner_pid)]
    if idle_timeout:
        argv += ["--idle-timeout", f"{idle_timeout:g}"]
    private_dir(log_path.parent)  # 0700, even if it existed with looser permissions
    read_end, write_end = os.pipe()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        offset = os.lseek(log_fd, 0, os.SEEK_END)
        pid = _launch(argv, env, write_end, log_fd)
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
        os.close(log_fd)
    try:
        status, output = _read_line(read_end, timeout)
    finally:
        os.close(read_end)
    match = _READY.match(output.decode(errors="replace")) if status == "line" else None
    if match is None:
        raise _failure(status, pid, output, log_path, offset, services, timeout)
    log.info("started server pid %s at %s for %s", pid, match.group(1), home)
    return Spawned(pid, match.group(1), int(match.group(2)))
