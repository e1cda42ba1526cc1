"""The in-browser server's database: SQLite in memory's file system, copied to the drive after each change.

SQLite cannot work on JupyterLite's browser drive directly (the drive stores whole files through
the browser's storage, not the byte-range writes and locks SQLite needs), so
:class:`SnapshotStore` opens its database in a working folder of Pyodide's in-memory file system
and, after every request that changed something, writes a consistent copy of it
(``Connection.serialize``) to ``<home>/data/kit.sqlite3`` on the drive, in one step. The next
start (the next page load, the next kernel) copies that file back into a working folder and opens
it. The drive copy is an ordinary SQLite file: the desktop kit opens it too.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from pathlib import Path

from .._exceptions import ServerControlError
from .._files import replace_file
from ..server.store import Store

__all__ = ["SnapshotStore", "fingerprint"]

log = logging.getLogger(__name__)


def fingerprint(path: Path) -> tuple[int, int] | None:
    """(size, mtime in ns) of ``path``, or None when it does not exist: enough to see another
    kernel's write (each one replaces the whole file)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


class SnapshotStore(Store):
    """A :class:`Store` in a working copy, saved to ``snapshot`` by :meth:`save_if_changed`."""

    def __init__(self, snapshot: Path) -> None:
        self.snapshot = snapshot
        self._workdir = Path(tempfile.mkdtemp(prefix="tutorial-kit-db-"))
        work = self._workdir / "kit.sqlite3"
        existed = snapshot.exists()
        try:
            if existed:
                work.write_bytes(snapshot.read_bytes())
            super().__init__(work)
        except sqlite3.DatabaseError as err:
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise ServerControlError(
                f"{snapshot} is not a database the kit can open ({err}). Delete it (lesson.start_over() "
                "deletes the server's data) to start with a fresh one.") from None
        except BaseException:
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise
        self._saved_changes = -1 if not existed else self._conn.total_changes
        self._seen = fingerprint(snapshot)

    @property
    def changed_elsewhere(self) -> bool:
        """True when the drive copy is not the one this store last read or wrote (another kernel
        of the same home, e.g. a second lesson open in another tab, saved since)."""
        return fingerprint(self.snapshot) != self._seen

    def save_if_changed(self) -> bool:
        """Write the database to the drive if anything changed since the last save; True if written."""
        if self._conn is None or self._conn.total_changes == self._saved_changes:
            return False
        data = self._conn.serialize()
        self.snapshot.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        replace_file(self.snapshot, data)
        self._saved_changes = self._conn.total_changes
        self._seen = fingerprint(self.snapshot)
        log.debug("saved %d bytes of database to %s", len(data), self.snapshot)
        return True

    def forget_changes(self) -> None:
        """Do not save what changed since the last save (the drive holds a newer copy)."""
        if self._conn is not None:
            self._saved_changes = self._conn.total_changes

    def close(self) -> None:
        """Save what is unsaved, close the database and delete the working copy (idempotent)."""
        try:
            self.save_if_changed()
        finally:
            super().close()
            shutil.rmtree(self._workdir, ignore_errors=True)
