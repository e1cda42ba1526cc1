"""Subprocesses of the benchmark: servers (ours and the bare one), the load process, CPU clocks."""

from __future__ import annotations

import glob
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

__all__ = ["cpu_seconds", "cpu_clock_name", "ServerProcess", "LoadWorker", "read_line", "clean_env", "wait_exact",
           "PYCACHE"]

#: Bytecode of spawned Pythons: ``{"prefix": DIR}`` gives them Python's default caching in DIR (a
#: temporary folder, so the work tree is untouched) even if PYTHONDONTWRITEBYTECODE is set here;
#: ``{"prefix": DIR, "readonly": True}`` reads DIR and writes nothing. Empty: as the caller's env.
PYCACHE: dict[str, Any] = {}


def _sched_seconds(pid: int) -> float | None:
    """Sum of se.sum_exec_runtime over the process's threads (ns precision), or None."""
    total, found = 0.0, False
    for path in glob.glob(f"/proc/{pid}/task/*/sched"):
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("se.sum_exec_runtime"):
                        total += float(line.split(":", 1)[1])
                        found = True
                        break
        except OSError:  # a thread ended meanwhile
            continue
    return total / 1000.0 if found else None


def _stat_seconds(pid: int) -> float:
    """utime + stime from /proc/<pid>/stat (clock-tick precision)."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_clock_name() -> str:
    return "sched" if _sched_seconds(os.getpid()) is not None else "stat"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) used so far by process ``pid``."""
    value = _sched_seconds(pid)
    return value if value is not None else _stat_seconds(pid)


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TUTORIAL_KIT_REPRODUCIBLE", None)
    env["PYTHONUNBUFFERED"] = "1"
    if PYCACHE:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE["prefix"])
        if PYCACHE.get("readonly"):
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def read_line(stream: IO[bytes], timeout: float) -> str:
    """One line from a pipe, waiting at most ``timeout`` seconds ('' at EOF or timeout)."""
    fd = stream.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    return data.decode("utf-8", "replace").split("\n", 1)[0]


def wait_exact(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for ``proc`` to exit, waking when it does: ``Popen.wait(timeout)`` polls with sleeps
    of up to 50 ms, which would add up to 50 ms to a measured stop. Uses a pidfd (Linux)."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        proc.wait(timeout)
        return
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            if not sel.select(timeout):
                raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    proc.wait(timeout)


class ServerProcess:
    """A server in a subprocess that prints ``serving URL`` when ready."""

    def __init__(self, argv: list[str], *, log_path: Path, timeout: float = 60.0) -> None:
        self.spawned_at = time.perf_counter()
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log,
                                     env=clean_env())
        line = read_line(self.proc.stdout, timeout)  # type: ignore[arg-type]
        self.ready_at = time.perf_counter()
        if not line.startswith("serving "):
            self.stop()
            raise RuntimeError(f"{' '.join(argv)} did not start (said {line!r}; log: {log_path})")
        self.url = line.split(" ", 1)[1].strip()
        self.port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                wait_exact(self.proc, timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def ours_argv(home: Path) -> list[str]:
    return [sys.executable, "-m", "tutorial_kit", "serve", "--home", str(home), "--port", "0"]


def bare_argv(bodies_file: Path) -> list[str]:
    return [sys.executable, "-m", "tutorial_kit.bench.bare", "--bodies", str(bodies_file)]


class LoadWorker:
    """The load process (:mod:`.load`), one JSON command and one JSON answer at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tutorial_kit.bench.load"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=clean_env())

    def run(self, port: int, path: str, body: str, count: int, max_seconds: float) -> dict[str, Any]:
        cmd = {"host": "127.0.0.1", "port": port, "path": path, "body": body, "count": count,
               "max_seconds": max_seconds}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        line = read_line(self.proc.stdout, max_seconds + 30)
        if not line:
            raise RuntimeError("the load process did not answer")
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError(f"the load process failed: {out['error']}")
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(b'{"quit": true}\n')
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
