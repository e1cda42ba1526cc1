"""The progress list's memory, and how it reads the server's state.

Most milestones are read from the server each time (is the flag on? is there an API key?). A few
are events that leave no trace on the server (an API key that survived a restart, one that was
revoked); the kit notes those in a small JSON file (mode 0600) when it sees them:
``<home>/run/progress.json`` for the kit's own server, ``~/.tutorial-kit/progress-<host>.json``
for a remote one. API keys are kept there only as one-way fingerprints. The file also keeps the
token of the kit's own temporary check session, so the kit uses one session, not one per check.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import private_dir, replace_file
from .._response import fingerprint

__all__ = ["ProgressFile", "progress_path", "fingerprint"]

log = logging.getLogger(__name__)


def progress_path(home: Path | None, url: str | None) -> Path:
    """Where the progress of this server is kept."""
    if home is not None:
        return home / "run" / "progress.json"
    digest = hashlib.sha256((url or "").encode()).hexdigest()[:12]
    return Path.home() / ".tutorial-kit" / f"progress-{digest}.json"


@dataclass
class ProgressFile:
    """Milestones seen, API keys seen (token -> server boot), and the kit's check session."""

    path: Path
    done: set[str] = field(default_factory=set)
    keys: dict[str, str] = field(default_factory=dict)
    check_token: str | None = None

    @classmethod
    def load(cls, path: Path) -> "ProgressFile":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError):
            log.warning("ignoring unreadable progress file %s", path)
            return cls(path)
        return cls(path, set(data.get("done", [])), dict(data.get("keys", {})), data.get("check_token"))

    def save(self) -> None:
        """Write the file atomically, readable by its owner only (it holds a token)."""
        private_dir(self.path.parent)  # run/ is owner-only (0700), even if it existed with looser permissions
        data: dict[str, Any] = {"done": sorted(self.done), "keys": self.keys, "check_token": self.check_token}
        replace_file(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def mark(self, key: str) -> None:
        if key not in self.done:
            self.done.add(key)
            self.save()

    def boot_of(self, token: str) -> str | None:
        """The server run in which the kit first saw this API key, if it did."""
        return self.keys.get(fingerprint(token))

    def remember_key(self, token: str, boot: str) -> None:
        """Note the server run in which an API key was first seen (by fingerprint, not the key)."""
        key = fingerprint(token)
        if key not in self.keys:
            self.keys[key] = boot
            self.save()
