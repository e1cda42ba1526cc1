"""The life of one server run: the home's lock, the run's own record, and when it ends by itself.

One server per home, whoever started it (a lesson's ServerControl, ``make serve`` by hand,
``EmulatorServer`` in Python): a run holds an exclusive ``flock`` on ``<home>/run/serve.lock``
from before it reads anything until it has written its last byte. A second run on that home gets
:class:`~tutorial_kit.HomeInUseError`, which names the first one (pid and URL from its record).
The kernel drops the lock when the process ends, however it ends (``kill -9`` included).

Files in ``<home>/run/`` (owner-only):

- ``server.json``: the run's record, written by the run itself once it listens (pid, port, url,
  home, started_at, owner_pid, idle_timeout, own_user_only, warnings), removed when it stops. ServerControl
  finds the server there, so a server started by hand is found and used like one it started.
- ``stopped.json``: how the last run ended (``reason``: ``signal``, ``idle``, ``owner``), its
  port and its owner, so that the kit can start the server again on the same port (and, when
  the owner still runs, with the same owner).

A run may end by itself: :class:`OwnerWatch` ends it when its owner process exits (the Jupyter
server of the lesson's kernel), :class:`IdleWatch` after ``idle_timeout`` seconds with no request
and no open WebSocket.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._exceptions import HomeInUseError, KitUsageError
from .._files import replace_file
from .peers import PeerCheck

__all__ = ["Lifetime", "RunGuard", "RunRecord", "IdleWatch", "OwnerWatch", "home_in_use",
           "read_record", "read_stopped", "run_folder"]

log = logging.getLogger(__name__)

#: how long a starting run waits for the lock (a probe holds it for microseconds)
_LOCK_WAIT = 0.5
_POLL_SECONDS = 1.0


def run_folder(home: Path) -> Path:
    return Path(home) / "run"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RunRecord:
    """What ``<home>/run/server.json`` says about the running server."""

    pid: int
    port: int
    url: str
    home: str
    started_at: str
    owner_pid: int | None = None
    idle_timeout: float | None = None
    own_user_only: bool = True
    warnings: tuple[str, ...] = ()  # what the server warned about services.json when it started

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        """Read a record's JSON object; raises KeyError, TypeError or ValueError when it is damaged."""
        owner, idle = data.get("owner_pid"), data.get("idle_timeout")
        return cls(pid=int(data["pid"]), port=int(data["port"]), url=str(data["url"]), home=str(data["home"]),
                   started_at=str(data["started_at"]), owner_pid=None if owner is None else int(owner),
                   idle_timeout=None if idle is None else float(idle),
                   own_user_only=bool(data.get("own_user_only", True)),
                   warnings=tuple(str(w) for w in data.get("warnings", ())))


def read_record(path: Path) -> RunRecord | None:
    """The record at ``path``, or None when it is missing or damaged (logged)."""
    try:
        return RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("ignoring unreadable run record %s: %s", path, exc)
        return None


def read_stopped(home: Path) -> dict[str, Any] | None:
    """``stopped.json`` of ``home`` (reason, port, url, stopped_at), or None."""
    try:
        data = json.loads((run_folder(home) / "stopped.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _open_lock(home: Path) -> int:
    folder = run_folder(home)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(folder / "serve.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def home_in_use(home: Path) -> bool:
    """True while a server run holds ``home``'s lock (tried with a shared lock, released at once)."""
    fd = _open_lock(home)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock, if it was taken
    return False


def _in_use_error(home: Path) -> HomeInUseError:
    record = read_record(run_folder(home) / "server.json")
    if record is None:
        return HomeInUseError(
            f"another server is starting for {home} (it holds {run_folder(home) / 'serve.lock'}). "
            "Wait a moment and use it, or stop it first.", home=str(home))
    return HomeInUseError(
        f"a server already runs for {home}: pid {record.pid}, {record.url}. Use that one, or stop it "
        f"first (Ctrl-C where it runs, or `kill {record.pid}`).", home=str(home), pid=record.pid, url=record.url)


@dataclass(frozen=True)
class Lifetime:
    """When a run ends by itself: when ``owner_pid`` exits, after ``idle_timeout`` idle seconds.

    ``on_end(reason)`` is called once, on the server's loop, with ``"owner"`` or ``"idle"``.
    """

    on_end: Callable[[str], None]
    owner_pid: int | None = None
    idle_timeout: float | None = None


class OwnerWatch:
    """Calls ``on_gone()`` once when process ``pid`` exits: a pidfd read where there is one, else a poll."""

    def __init__(self, pid: int, on_gone: Callable[[], None]) -> None:
        self.pid = pid
        self.on_gone = on_gone
        self._fd: int | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        try:
            self._fd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            loop.call_soon(self._gone)
            return
        except (AttributeError, OSError):  # no pidfd (not Linux, or an old kernel): poll
            self._timer = loop.call_later(_POLL_SECONDS, self._poll)
            return
        loop.add_reader(self._fd, self._gone)

    def _poll(self) -> None:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            self._gone()
            return
        except PermissionError:
            pass
        assert self._loop is not None
        self._timer = self._loop.call_later(_POLL_SECONDS, self._poll)

    def _gone(self) -> None:
        self.stop()
        log.warning("the owner process %s has ended: stopping the server", self.pid)
        self.on_gone()

    def stop(self) -> None:
        if self._fd is not None and self._loop is not None:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
        self._fd = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class IdleWatch:
    """Calls ``on_idle()`` once ``timeout`` seconds pass with no :meth:`touch` and ``busy()`` false."""

    def __init__(self, timeout: float, on_idle: Callable[[], None], busy: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.on_idle = on_idle
        self.busy = busy
        self.clock = clock
        self.last = clock()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def touch(self) -> None:
        """A request arrived (one attribute store: this runs for every request)."""
        self.last = self.clock()

    def remaining(self) -> float | None:
        """Seconds until the server counts as idle, or None when it is idle now."""
        left = self.timeout - (self.clock() - self.last)
        if left > 0:
            return left
        return self.timeout if self.busy() else None  # an open WebSocket counts as use

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.last = self.clock()
        self._timer = loop.call_later(self.timeout, self._check)

    def _check(self) -> None:
        left = self.remaining()
        if left is None:
            self._timer = None
            log.warning("no request for %g s: stopping the server (the kit starts it again on demand)", self.timeout)
            self.on_idle()
            return
        assert self._loop is not None
        self._timer = self._loop.call_later(left, self._check)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class RunGuard:
    """What a run holds besides its sockets: the lock, its record, its watchers, its peer check.

    :meth:`claim` before anything else, :meth:`gate` for the HTTP server, :meth:`started` once it
    listens, :meth:`release` last (idempotent).
    """

    def __init__(self, home: Path, *, lifetime: Lifetime | None = None, own_user_only: bool = True) -> None:
        self.home = Path(home).resolve()
        self.lifetime = lifetime
        self.own_user_only = own_user_only
        self.reason = "signal"
        self._fd: int | None = None
        self._record: RunRecord | None = None
        self._idle: IdleWatch | None = None
        self._owner: OwnerWatch | None = None
        self._peers: PeerCheck | None = None

    @property
    def _record_path(self) -> Path:
        return run_folder(self.home) / "server.json"

    def claim(self) -> None:
        """Take the home's lock; raises HomeInUseError naming the server that holds it."""
        if self.lifetime is not None and self.lifetime.owner_pid is not None:
            _check_owner(self.lifetime.owner_pid)
        fd = _open_lock(self.home)
        deadline = time.monotonic() + _LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise _in_use_error(self.home) from None
                time.sleep(0.02)
        self._fd = fd
        self.reason = "signal"

    def gate(self, loopback: bool) -> Callable[[object], str | None]:
        """The per-request hook: counts the request as activity, refuses other users' connections."""
        if self.own_user_only and loopback:
            if PeerCheck.available():
                self._peers = PeerCheck()
            else:
                log.warning("this system cannot tell which user owns a connection: every local user "
                            "can reach this server (see docs/security.md)")
        peers = self._peers

        def gate(server_conn: object) -> str | None:
            refused = peers.refusal(server_conn) if peers is not None else None
            if refused is None and self._idle is not None:
                self._idle.touch()
            return refused

        return gate

    def started(self, url: str, port: int, open_sockets: Collection[object], warnings: tuple[str, ...] = ()) -> None:
        """Write the run's record and start its watchers (on the running loop)."""
        life = self.lifetime
        self._record = RunRecord(
            pid=os.getpid(), port=port, url=url, home=str(self.home), started_at=_now(),
            owner_pid=life.owner_pid if life else None, idle_timeout=life.idle_timeout if life else None,
            own_user_only=self._peers is not None, warnings=tuple(warnings),
        )
        replace_file(self._record_path, json.dumps(asdict(self._record), indent=2) + "\n")
        (run_folder(self.home) / "stopped.json").unlink(missing_ok=True)
        if life is None:
            return
        loop = asyncio.get_running_loop()
        if life.idle_timeout:
            self._idle = IdleWatch(life.idle_timeout, lambda: self._end("idle"), lambda: bool(open_sockets))
            self._idle.start(loop)
        if life.owner_pid is not None:
            self._owner = OwnerWatch(life.owner_pid, lambda: self._end("owner"))
            self._owner.start(loop)

    def _end(self, reason: str) -> None:
        if self.reason == "signal":
            self.reason = reason
            assert self.lifetime is not None
            self.lifetime.on_end(reason)

    def release(self) -> None:
        """Stop the watchers, replace the record by stopped.json, drop the lock. Idempotent."""
        for watch in (self._idle, self._owner):
            if watch is not None:
                watch.stop()
        self._idle = self._owner = None
        if self._fd is None:
            return
        record, self._record = self._record, None
        if record is not None:
            stopped = {"pid": record.pid, "port": record.port, "url": record.url, "home": record.home,
                       "owner_pid": record.owner_pid, "reason": self.reason, "stopped_at": _now()}
            try:
                replace_file(run_folder(self.home) / "stopped.json", json.dumps(stopped, indent=2) + "\n")
                self._record_path.unlink(missing_ok=True)
            except OSError as exc:  # a full disk must not keep the lock held
                log.warning("could not update %s: %s", run_folder(self.home), exc)
        fd, self._fd = self._fd, None
        os.close(fd)  # drops the lock


def _check_owner(pid: int) -> None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise KitUsageError(f"--owner-pid {pid}: no such process. Give the pid of a running process "
                            "(the server stops when it ends), or leave the option out.") from None
    except PermissionError:
        pass
