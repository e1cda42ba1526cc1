"""BrowserControl: ServerControl's methods for the server inside the browser's Python.

The lessons call the same methods whichever control they got from ``control_from_env``:
``start``, ``stop``, ``restart``, ``reset``, ``set_default``, ``status``, ``explain``,
``client``, ``services_path``, ``url``. Here a "server" is a :class:`~.server.BrowserServer`:
``restart()`` ends the server's state (temporary sessions go, as when a process ends) and
builds a new one from the same files, ``services.json`` read again and the database from the
drive, on the same port. Every control of one home shares that home's server, as kernels share
one background process on the desktop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigFileError, KitUsageError, ServerControlError
from .._files import remove_folders
from ..control.servicesfile import SetDefaultResult, read_defaults, set_default_creating
from ..control.status import ServerStatus, differing_keys
from .server import BrowserServer
from .transport import LISTENERS, InProcessTransport, Listeners

if TYPE_CHECKING:
    from ..client.kit_client import KitClient

__all__ = ["BrowserControl", "browser_home", "DRIVE", "STEPS"]

log = logging.getLogger(__name__)

#: where JupyterLite mounts its browser drive (what the file browser shows) in the kernel
DRIVE = Path("/drive")
STEPS = ("start", "stop", "restart", "reset", "set_default")


def browser_home(env: Mapping[str, str] = os.environ) -> Path:
    """``TUTORIAL_KIT_HOME``, else ``server-home/`` on the browser drive (or in the current folder)."""
    if env.get("TUTORIAL_KIT_HOME"):
        return Path(env["TUTORIAL_KIT_HOME"]).expanduser().resolve()
    return (DRIVE if DRIVE.is_dir() else Path.cwd()) / "server-home"


class BrowserControl:
    """Start, restart, stop and reset the in-browser server of one home (no processes, no ports)."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] = os.environ,
                 listeners: Listeners = LISTENERS) -> None:
        self.env = env
        self.home = Path(home).expanduser().resolve() if home is not None else browser_home(env)
        self.listeners = listeners
        self._restart_port: int | None = None  # the port of a restart that failed (a broken file)

    def __repr__(self) -> str:
        return f"BrowserControl(home={str(self.home)!r})"

    @property
    def services_path(self) -> Path:
        """``<home>/config/services.json``: the file the server reads when it starts."""
        return self.home / "config" / "services.json"

    @property
    def reproducible(self) -> bool:
        return self.env.get("TUTORIAL_KIT_REPRODUCIBLE") == "1"

    @property
    def _server(self) -> BrowserServer | None:
        return self.listeners.of_home(self.home)

    @property
    def url(self) -> str:
        server = self._server
        if server is None:
            raise ServerControlError(f"no server is running for {self.home}: call start() first")
        return server.url

    @property
    def boot_id(self) -> str:
        """Which run of the server this is: changes at every start, restart and page reload."""
        server = self._server
        return "stopped" if server is None else f"browser@{server.started_at}"

    # --- lifecycle ---------------------------------------------------------------------------

    def _start(self, port: int | None) -> None:
        BrowserServer(self.home, port=port, env=self.env, listeners=self.listeners).start()

    def start(self) -> BrowserControl:
        """Make sure this home's server runs (reuse it, or start one). Raises ConfigFileError for a
        broken services.json, ServerControlError when the server cannot start otherwise."""
        if self._server is None:
            self._start(self._restart_port)
            self._restart_port = None
        return self

    def stop(self) -> None:
        """End the server: temporary sessions end with it; the database is on the drive (idempotent)."""
        server = self._server
        if server is not None:
            server.stop()

    def restart(self) -> BrowserControl:
        """Stop, then start on the same port from services.json and the database as they are now.

        If the new server cannot start (a broken services.json), it stays stopped, and the next
        ``restart()`` or ``start()`` tries that port again.
        """
        server = self._server
        if server is not None:
            self._restart_port = server.port
            server.stop()
        self._start(self._restart_port)
        self._restart_port = None
        return self

    def reset(self) -> BrowserControl:
        """Start over: stop, delete the home's config and data, start fresh on the same port."""
        server = self._server
        port = server.port if server is not None else self._restart_port
        self.stop()
        self._restart_port = None
        remove_folders(self.home / "config", self.home / "data")
        self._start(port)
        return self

    # --- configuration -----------------------------------------------------------------------

    def set_default(self, name: str, value: Any) -> SetDefaultResult:
        """Set ``jsonActionApiDefaults.<name>`` in services.json (restart to apply)."""
        return set_default_creating(self.services_path, name, value)

    def status(self) -> ServerStatus:
        """Whether the server runs, and its running vs file jsonActionApiDefaults."""
        server = self._server
        running_defaults = None
        if server is not None and server.config is not None:
            running_defaults = dict(server.config.defaults)
        file_defaults: dict[str, Any] | None = None
        file_error: str | None = None
        if self.services_path.exists():
            try:
                file_defaults = read_defaults(self.services_path)
            except ConfigFileError as exc:
                file_error = exc.message
        return ServerStatus(
            running=server is not None, url=server.url if server is not None else None, home=self.home,
            pid=None, services_path=self.services_path, running_defaults=running_defaults,
            file_defaults=file_defaults, restart_keys=differing_keys(file_defaults, running_defaults),
            file_error=file_error, reproducible=self.reproducible,
        )

    def explain(self, step: str, name: str = "enablePermanentJsonApiSessions", value: Any = True) -> str:
        """What ``step`` does in the browser (the question ServerControl and RemoteControl answer too)."""
        texts = {
            "start": f"start() starts the kit's server inside this notebook's Python, for {self.home} "
            "(or finds it running): in the browser there is no separate process and no real port.",
            "stop": "stop() ends the server's state; temporary sessions end with it. The database stays on "
            "the browser drive.",
            "restart": "restart() ends the server's state and builds a new one on the same address from "
            "services.json and the database on the browser drive. Temporary sessions end; permanent "
            "sessions (API keys) survive, here as after a page reload.",
            "reset": "reset() deletes the server's config and data folders on the browser drive and starts "
            "a fresh server.",
            "set_default": f"set_default({name!r}, {value!r}) edits {self.services_path} "
            "(jsonActionApiDefaults), which the file browser shows too; the running server keeps the old "
            "value until restart().",
        }
        if step not in texts:
            raise KitUsageError(f"unknown step {step!r}: use one of {', '.join(STEPS)}")
        return texts[step]

    def client(self, **kwargs: Any) -> KitClient:
        """A KitClient for this home's server, logged in as ADMIN/ADMIN unless told otherwise."""
        from ..client.kit_client import KitClient

        options: dict[str, Any] = {
            "username": "ADMIN",
            "password": "ADMIN",
            "transport": InProcessTransport(self.listeners),
        }
        options.update(kwargs)
        return KitClient(self.url, **options)
