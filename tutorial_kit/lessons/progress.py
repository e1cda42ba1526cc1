"""The progress list's memory, and how it reads the server's state.

A milestone is ticked only by a check the learner ran (never by a lesson's own setup, and never
by sessions another lesson made). The kit notes each one in a small JSON file (mode 0600):
``<home>/run/progress.json`` for the kit's own server, ``~/.tutorial-kit/progress-<host>.json``
for a remote one. It also notes which exercises were solved, and the fingerprints of the keys an
exercise asked for (``labels``: fingerprint -> description); API keys are kept there only as
one-way fingerprints. The file also keeps the token of the kit's own temporary check session, so
the kit uses one session, not one per check.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import private_dir, replace_file
from ..client.response import fingerprint

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
    """Milestones and exercises done, the kit's check session, and labelled key fingerprints."""

    path: Path
    done: set[str] = field(default_factory=set)
    check_token: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ProgressFile:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError):
            log.warning("ignoring unreadable progress file %s", path)
            return cls(path)
        return cls(path, set(data.get("done", [])), data.get("check_token"),
                   dict(data.get("labels", {})))

    def save(self) -> None:
        """Write the file atomically, readable by its owner only (it holds a token)."""
        private_dir(self.path.parent)  # run/ is owner-only (0700), even if it existed with looser permissions
        data: dict[str, Any] = {"done": sorted(self.done), "check_token": self.check_token,
                                "labels": self.labels}
        replace_file(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def mark(self, key: str) -> None:
        if key not in self.done:
            self.done.add(key)
            self.save()

    def label(self, token: str, description: str) -> None:
        """Note that ``token`` was the key described ``description`` (by fingerprint, not the key)."""
        if self.labels.get(fingerprint(token)) != description:
            self.labels[fingerprint(token)] = description
            self.save()

    def label_of(self, token: str) -> str | None:
        """The description noted for ``token``, if any."""
        return self.labels.get(fingerprint(token))
