"""Writing a file in one step: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["replace_file"]


def replace_file(target: Path, text: str | bytes, *, mode: int = 0o600) -> None:
    """Write ``text`` (str as UTF-8, newlines as given; or bytes as they are) to ``target``
    atomically, with ``mode``.

    The text goes to a temporary file in the same folder (created 0600, so a secret is never
    readable by others, even for a moment), is flushed to disk, and replaces ``target``.
    """
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
