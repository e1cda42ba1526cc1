"""ServerStatus: what a control reports about its server, as data and as deterministic text."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FLAG", "ServerStatus", "differing_keys", "warning_text"]

FLAG = "enablePermanentJsonApiSessions"
_STOPPED = {"idle": "it stopped by itself after a time without requests",
            "owner": "it stopped when the Jupyter server that started it ended"}
_PORT = re.compile(r"^(\w+://[^/:]+):\d+")
_UNKNOWN = re.compile(r'unknown property "(?:jsonActionApiDefaults\.)?([^"]+)"')


def warning_text(warning: str) -> str:
    """A start warning without the file's path, with "did you mean ...?" for a misspelled setting."""
    _, sep, rest = warning.partition("services.json: ")
    text = rest if sep else warning
    match = _UNKNOWN.search(text)
    if match:
        from ..server.config import SEED_DEFAULTS

        close = difflib.get_close_matches(match.group(1), [FLAG, *SEED_DEFAULTS], n=1, cutoff=0.8)
        if close:
            text += f" (did you mean {close[0]}?)"
    return text


def differing_keys(file: dict[str, Any] | None, running: dict[str, Any] | None) -> tuple[str, ...]:
    """Keys of jsonActionApiDefaults whose presence or value differs (file order, then running)."""
    if file is None or running is None:
        return ()
    keys = list(file) + [key for key in running if key not in file]
    return tuple(
        key for key in keys
        if (key in file) != (key in running) or json.dumps(file.get(key)) != json.dumps(running.get(key))
    )


def _value(defaults: dict[str, Any], key: str) -> str:
    return json.dumps(defaults[key], ensure_ascii=False) if key in defaults else "(absent)"


@dataclass(frozen=True)
class ServerStatus:
    """The server's state: running or not, where, and its running vs file jsonActionApiDefaults.

    ``restart_keys`` names the jsonActionApiDefaults properties whose value in services.json
    differs from the running server's (those changes take effect only after a restart).
    ``str()`` and ``repr()`` give a short report; with ``reproducible`` (TUTORIAL_KIT_REPRODUCIBLE=1)
    it shows no pid, no port and paths relative to the current folder, so saved outputs stay equal.
    """

    running: bool
    url: str | None
    home: Path | None
    pid: int | None
    services_path: Path | None
    running_defaults: dict[str, Any] | None
    file_defaults: dict[str, Any] | None
    restart_keys: tuple[str, ...] = ()
    file_error: str | None = None
    remote: bool = False
    username: str | None = None
    start_warnings: tuple[str, ...] = ()  # what the running server warned about services.json
    reproducible: bool = field(default=False, compare=False)
    owner_pid: int | None = None
    idle_timeout: float | None = None
    stopped_reason: str | None = None

    @property
    def restart_needed(self) -> bool:
        """True when services.json holds values the running server has not read yet."""
        return bool(self.restart_keys)

    def _path(self, path: Path) -> str:
        """The path as shown; in reproducible mode relative to the home, which is always a fresh
        temporary folder there, written as the default home's name so saved outputs read naturally."""
        if self.reproducible and self.home is not None:
            try:
                return str(Path("server-home") / path.relative_to(self.home))
            except ValueError:
                return path.name
        return str(path)

    def _server_line(self) -> str:
        if not self.running:
            if self.remote:
                return f"server: nothing answers at {self.url}"
            if self.stopped_reason in _STOPPED:
                why = _STOPPED[self.stopped_reason]
                return f"server: not running ({why}; the next request or .start() starts it again)"
            return "server: not running (start it with .start())"
        url = self.url or ""
        if self.reproducible:
            return "server: running at " + _PORT.sub(r"\1:<port>", url)
        who = (
            f"as {self.username}"
            if self.remote
            else f"pid {self.pid}"
            if self.pid is not None
            else "in this browser tab"
        )
        return f"server: running at {url} ({who})"

    def _defaults_lines(self) -> list[str]:
        lines: list[str] = []
        if self.running_defaults is not None:
            lines.append(f"{FLAG} (running): {_value(self.running_defaults, FLAG)}")
        if self.file_error is not None:
            lines.append(f"services.json cannot be read: {self.file_error}")
        elif self.file_defaults is not None:
            lines.append(f"{FLAG} (services.json): {_value(self.file_defaults, FLAG)}")
        if self.restart_keys and self.running_defaults is not None and self.file_defaults is not None:
            lines.append("restart needed: services.json differs from what the running server uses:")
            lines += [
                f"  {key}: file {_value(self.file_defaults, key)}, running {_value(self.running_defaults, key)}"
                for key in self.restart_keys
            ]
        elif self.running and self.file_defaults is not None and self.running_defaults is not None:
            lines.append("the running server uses what services.json says (no restart needed)")
        if self.running and self.start_warnings:
            lines.append("the server warned when it started:")
            lines += [f"  - services.json: {warning_text(w)}" for w in self.start_warnings]
        return lines

    def _lifetime_line(self) -> list[str]:
        """When the running server ends (not shown in reproducible mode: saved outputs stay equal)."""
        if not self.running or self.remote or self.reproducible:
            return []
        ends = []
        if self.owner_pid is not None:
            ends.append(f"when process {self.owner_pid} (its Jupyter server) ends")
        if self.idle_timeout:
            ends.append(f"after {self.idle_timeout:g} s without a request")
        return [f"ends: {' or '.join(ends) if ends else 'only when stopped (started by hand)'}"]

    @property
    def text(self) -> str:
        """The report as plain text (one fact per line)."""
        lines = [self._server_line(), *self._lifetime_line()]
        if self.remote:
            lines.append("services.json: on the remote server's machine (not visible from here)")
        else:
            if self.home is not None:
                lines.append(f"home: {self._path(self.home)}")
            if self.services_path is not None:
                lines.append(f"services.json: {self._path(self.services_path)}")
        return "\n".join(lines + self._defaults_lines())

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text
