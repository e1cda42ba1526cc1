"""The managed background server that notebooks share: one server process per server home.

A real FairCom server is a separate process whose services.json you edit and which you restart;
:class:`ServerControl` gives the kit's server the same life. The first ``start()`` spawns
``python -m tutorial_kit serve --home HOME`` detached; the server records itself in
``<home>/run/server.json`` (pid, port, url, home, started_at, owner) and holds the home's lock, so
every later call, from any kernel, finds it there and reuses it while it answers ``pingSession``,
and a server started by hand (``make serve``) is found and used the same way. A ``flock`` on
``<home>/run/control.lock`` makes kernels that start at the same moment share one server.
``restart()`` keeps the port and makes the new process read services.json again.

The server ends with its owner: the Jupyter server of the kernel that started it
(``JPY_PARENT_PID``; a kernel restart keeps it, stopping JupyterLab ends it), or after
``idle_timeout`` seconds without a request. After it ended by itself, the next request of a
client from :meth:`ServerControl.client` (or the next ``start()``) starts it again, on the same
port when that port is free (:mod:`tutorial_kit.control.revive`).

With ``TUTORIAL_KIT_URL`` set, :func:`control_from_env` returns a :class:`RemoteControl` instead,
which looks at that server and explains the steps it cannot perform.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._envflag import reproducible_requested
from .._exceptions import ConfigFileError, HomeInUseError, KitUsageError, ServerControlError
from .._files import remove_folders
from ..server.kit_choices import choice
from ..server.lifetime import home_in_use, read_stopped
from . import process as _process
from .remote import STEPS, RemoteControl
from .revive import ReviveTransport, port_is_free
from .servicesfile import SetDefaultResult, read_defaults, set_default_creating
from .spawn import spawn_server
from .status import ServerStatus, differing_keys

if TYPE_CHECKING:
    from ..client.kit_client import KitClient

__all__ = ["RemoteControl", "ServerControl", "ServerStatus", "control_from_env", "default_home", "jupyter_server_pid"]

log = logging.getLogger(__name__)


class _Default:
    """The type of "not given" for owner_pid (None means: no owner)."""


_DEFAULT = _Default()


def default_home(env: Mapping[str, str] = os.environ, cwd: str | os.PathLike[str] | None = None) -> Path:
    """The server home: ``TUTORIAL_KIT_HOME``, else ``server-home/`` at the top of the repository.

    The repository's top is the nearest folder, from ``cwd`` upwards, that holds both
    ``pyproject.toml`` and ``notebooks/``; outside a checkout it is ``~/.tutorial-kit/server-home``.
    """
    if env.get("TUTORIAL_KIT_HOME"):
        return Path(env["TUTORIAL_KIT_HOME"]).expanduser().resolve()
    start = Path(cwd if cwd is not None else os.getcwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder / "server-home"
    user_home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return user_home / ".tutorial-kit" / "server-home"


class ServerControl:
    """Start, find, restart, stop and reset the background server of one server home.

    ``env`` is the environment the server process gets (``TUTORIAL_KIT_REPRODUCIBLE=1`` there makes
    it deterministic, and makes :meth:`status` hide pid and port). ``start_timeout``: seconds a new
    server has to print its serving line; ``stop_grace``: seconds between SIGTERM and SIGKILL;
    ``probe_timeout``: seconds a running server has to answer pingSession before it counts as hung
    (and is replaced). ``owner_pid``: the process whose end stops the server (default: the kernel's
    Jupyter server, ``JPY_PARENT_PID`` in ``env``, when there is one; None: no owner);
    ``idle_timeout``: seconds without a request after which it stops (default: the kit's choice
    ``serve_idle_timeout_seconds``; 0: never). Every method is safe to call from several threads,
    kernels and processes at once.
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] = os.environ,
        start_timeout: float = 30.0,
        stop_grace: float = 5.0,
        probe_timeout: float = 5.0,
        owner_pid: int | None | _Default = _DEFAULT,
        idle_timeout: float | None = None,
    ) -> None:
        self.env = env
        self.home = Path(home).expanduser().resolve() if home is not None else default_home(env)
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self.probe_timeout = probe_timeout
        self.owner_pid = jupyter_server_pid(env) if isinstance(owner_pid, _Default) else owner_pid
        self.idle_timeout = choice("serve_idle_timeout_seconds") if idle_timeout is None else idle_timeout
        self._restart_port: int | None = None  # the port of a restart that failed (e.g. broken file)

    def __repr__(self) -> str:
        return f"ServerControl(home={str(self.home)!r})"

    @property
    def services_path(self) -> Path:
        """``<home>/config/services.json``: the file the server reads when it starts."""
        return self.home / "config" / "services.json"

    @property
    def state_path(self) -> Path:
        """``<home>/run/server.json``: pid, port, url, home and start time of the running server."""
        return self.home / "run" / "server.json"

    @property
    def log_path(self) -> Path:
        """``<home>/run/server.log``: what the server wrote on stderr."""
        return self.home / "run" / "server.log"

    @property
    def _lock_path(self) -> Path:
        return self.home / "run" / "control.lock"

    @property
    def reproducible(self) -> bool:
        """True when this control's environment turns reproducible mode on, read exactly as the
        server reads it (``TUTORIAL_KIT_REPRODUCIBLE``; KitUsageError for a value that is neither yes nor no)."""
        return reproducible_requested(self.env)

    @property
    def url(self) -> str:
        """The recorded server's URL; raises ServerControlError when none is recorded."""
        state = _process.read_state(self.state_path)
        if state is None:
            raise ServerControlError(f"no server is running for {self.home}: call start() first")
        return state.url

    # --- lifecycle ---------------------------------------------------------------------------

    def _live_state(self) -> _process.ServerState | None:
        """The recorded server if it is alive, holds this home and answers pingSession."""
        state = _process.read_state(self.state_path)
        if state is None or state.home != str(self.home):
            return None
        if not (_process.process_alive(state.pid) and _process.is_server_of(state.pid, self.home)):
            return None
        return state if _process.answers_ping(state.url, timeout=self.probe_timeout) else None

    def _stop_locked(self) -> None:
        """Stop the recorded server and any other server of this home (one whose record was lost)."""
        state = _process.read_state(self.state_path)
        pids = set(_process.servers_of(self.home))
        if state is not None and _process.process_alive(state.pid) and _process.is_server_of(state.pid, self.home):
            pids.add(state.pid)
        for pid in sorted(pids):
            log.info("stopping server pid %s for %s", pid, self.home)
            _process.terminate(pid, self.stop_grace)
        self.state_path.unlink(missing_ok=True)

    def _starting_state(self) -> _process.ServerState | None:
        """A server that holds the home but has not recorded itself yet: wait for it to answer."""
        deadline = time.monotonic() + self.start_timeout
        while home_in_use(self.home) and time.monotonic() < deadline:
            state = self._live_state()
            if state is not None:
                return state
            time.sleep(0.05)
        return None

    def _start_locked(self, port: int) -> _process.ServerState:
        state = self._live_state()
        if state is None and home_in_use(self.home) and _process.read_state(self.state_path) is None:
            state = self._starting_state()  # started by hand this very moment
        if state is not None:
            log.debug("reusing server pid %s at %s", state.pid, state.url)
            return state
        previous = _process.read_state(self.state_path)
        self._stop_locked()  # a recorded server that no longer answers is ended, its record removed
        owner = self._owner(previous)
        try:
            spawn_server(self.home, port, env=self.env, log_path=self.log_path, services=self.services_path,
                         timeout=self.start_timeout, owner_pid=owner, idle_timeout=self.idle_timeout)
        except HomeInUseError:  # a server started by hand won the race: use it
            state = self._starting_state()
            if state is None:
                raise
            return state
        state = _process.read_state(self.state_path)
        if state is None:
            raise ServerControlError(
                f"the server started but wrote no record in {self.state_path}; see {self.log_path}"
            )
        return state

    def _owner(self, previous: _process.ServerState | None) -> int | None:
        """The new server's owner: this control's (the kernel's Jupyter server), else the one the
        last run had while it still runs (so a restart from JupyterLab's terminal, where there is
        no JPY_PARENT_PID, still ends with JupyterLab), else none."""
        stopped = read_stopped(self.home) or {}
        candidates = (self.owner_pid, previous.owner_pid if previous else None, stopped.get("owner_pid"))
        return next((pid for pid in candidates if isinstance(pid, int) and _process.process_alive(pid)), None)

    def _port_to_use(self) -> int:
        """The port of a failed restart, else the last run's port while it is free, else any."""
        if self._restart_port:
            return self._restart_port
        stopped = read_stopped(self.home) or {}
        port = stopped.get("port")
        return port if isinstance(port, int) and port > 0 and port_is_free(port) else 0

    def start(self) -> ServerControl:
        """Make sure this home's server runs: reuse the recorded one if it answers, else spawn one.

        Raises ConfigFileError (with the server's own message: file, line, column) when
        services.json is broken, ServerControlError when the server cannot start otherwise.
        """
        with _process.locked(self._lock_path):
            self._start_locked(self._port_to_use())
            self._restart_port = None
        return self

    def revive(self, port: int | None = None) -> str | None:
        """Start the server again if it ended by itself (idle, or its owner ended); return its URL.

        Returns the running server's URL when one runs, and None when the server was stopped on
        purpose (stop(), Ctrl-C, kill) or never ran: then it stays stopped. ``port``: the port to
        come back on when it is free (the one the caller's client uses).
        """
        with _process.locked(self._lock_path):
            state = self._live_state()
            if state is not None:
                return state.url
            stopped = read_stopped(self.home)
            if stopped is None or stopped.get("reason") not in ("idle", "owner"):
                return None
            wanted = port or self._port_to_use()
            state = self._start_locked(wanted if wanted and port_is_free(wanted) else 0)
        log.warning("the kit's server had stopped (%s) and was started again at %s", stopped["reason"], state.url)
        return state.url

    def stop(self) -> None:
        """Stop this home's server (SIGTERM, then SIGKILL after a grace period); idempotent."""
        with _process.locked(self._lock_path):
            self._stop_locked()

    def restart(self) -> ServerControl:
        """Stop the server and start it again on the same port; the new process re-reads services.json.

        If the new process cannot start (a broken services.json), the server stays stopped, and
        the next ``restart()`` or ``start()`` of this object tries that port again.
        """
        with _process.locked(self._lock_path):
            state = _process.read_state(self.state_path)
            if state is not None:
                self._restart_port = state.port
            self._stop_locked()
            self._start_locked(self._restart_port or 0)
            self._restart_port = None
        return self

    def reset(self) -> ServerControl:
        """Start over: stop the server, delete the home's config and data, start a fresh server
        (on the same port, so clients made before keep working)."""
        with _process.locked(self._lock_path):
            state = _process.read_state(self.state_path)
            port = state.port if state is not None else 0  # the same URL keeps working for clients
            self._stop_locked()
            self._restart_port = None
            remove_folders(self.home / "config", self.home / "data")
            self._start_locked(port)
        return self

    # --- configuration -----------------------------------------------------------------------

    def set_default(self, name: str, value: Any) -> SetDefaultResult:
        """Set ``jsonActionApiDefaults.<name>`` in this home's services.json (restart to apply).

        Writes the default file first if the server never ran here.
        """
        with _process.locked(self._lock_path):
            return set_default_creating(self.services_path, name, value)

    def _running_defaults(self, url: str) -> dict[str, Any] | None:
        envelope = _process.post_action(url, "listServices", timeout=self.probe_timeout)
        result = envelope.get("result") if envelope and envelope.get("errorCode") == 0 else None
        defaults = result.get("jsonActionApiDefaults") if isinstance(result, dict) else None
        return defaults if isinstance(defaults, dict) else None

    def status(self) -> ServerStatus:
        """Whether the server runs, where, and its running vs file jsonActionApiDefaults."""
        state = self._live_state()
        running_defaults = self._running_defaults(state.url) if state is not None else None
        file_defaults: dict[str, Any] | None = None
        file_error: str | None = None
        if self.services_path.exists():
            try:
                file_defaults = read_defaults(self.services_path)
            except ConfigFileError as exc:
                file_error = exc.message
        return ServerStatus(
            running=state is not None,
            url=state.url if state is not None else None,
            home=self.home,
            pid=state.pid if state is not None else None,
            services_path=self.services_path,
            running_defaults=running_defaults,
            file_defaults=file_defaults,
            restart_keys=differing_keys(file_defaults, running_defaults),
            file_error=file_error,
            start_warnings=state.warnings if state is not None else (),
            reproducible=self.reproducible,
            owner_pid=state.owner_pid if state is not None else None,
            idle_timeout=state.idle_timeout if state is not None else None,
            stopped_reason=None if state is not None else (read_stopped(self.home) or {}).get("reason"),
        )

    def explain(self, step: str, name: str = "enablePermanentJsonApiSessions", value: Any = True) -> str:
        """What ``step`` does here (the same question RemoteControl answers with steps by hand)."""
        texts = {
            "start": f"start() runs the kit's server for {self.home} in the background (or finds it running).",
            "stop": "stop() ends the server process; temporary sessions end with it.",
            "restart": "restart() stops the server and starts it on the same port; the new process reads "
            "services.json again. Temporary sessions end; permanent sessions (API keys) survive.",
            "reset": "reset() stops the server, deletes its config and data folders and starts a fresh one.",
            "set_default": f"set_default({name!r}, {value!r}) edits {self.services_path} "
            "(jsonActionApiDefaults); the running server keeps the old value until restart().",
        }
        if step not in texts:
            raise KitUsageError(f"unknown step {step!r}: use one of {', '.join(STEPS)}")
        return texts[step]

    def client(self, **kwargs: Any) -> KitClient:
        """A KitClient for this home's server, logged in as ADMIN/ADMIN unless told otherwise."""
        from ..client.kit_client import KitClient

        options: dict[str, Any] = {"username": "ADMIN", "password": "ADMIN"}
        options.update(kwargs)
        if options.get("transport") is None:  # comes back after an idle stop (see revive())
            options["transport"] = ReviveTransport(self, verify=options.get("verify", True))
        return KitClient(self.url, **options)


def jupyter_server_pid(env: Mapping[str, str] = os.environ) -> int | None:
    """The pid of the Jupyter server whose kernel this is (``JPY_PARENT_PID``), or None.

    jupyter_client sets it for every kernel it starts: JupyterLab, a hub's single-user server,
    nbclient. A kernel restart keeps it; it is the server's life the kit's server should follow.
    """
    value = env.get("JPY_PARENT_PID", "")
    pid = int(value) if value.isdigit() else 0
    return pid if pid > 1 and _process.process_alive(pid) else None


def control_from_env(env: Mapping[str, str] = os.environ) -> Any:
    """RemoteControl when ``TUTORIAL_KIT_URL`` is set, the BrowserControl in the browser, else the
    ServerControl of the default home (the choice lives in :mod:`tutorial_kit.control.choose`)."""
    from .choose import control_from_env as choose

    return choose(env)
