"""Files of the kit: written in one step (readers see the old file or the new one, never half of
one), folders kept private, and files read only when they are what they claim to be."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path

__all__ = ["replace_file", "private_dir", "read_regular_file", "remove_folders", "NotRegularFileError"]

log = logging.getLogger(__name__)


def remove_folders(*folders: Path) -> None:
    """Delete each folder with all it holds; one that does not exist is skipped."""
    for folder in folders:
        if folder.exists():
            log.info("deleting %s", folder)
            shutil.rmtree(folder)


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


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) and make it owner-only (0700), even if it existed already."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


class NotRegularFileError(OSError):
    """The path names a FIFO, a device, a socket or a folder, or a file over the size limit."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.EINVAL, message)  # strerror is the message


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    A FIFO is opened without blocking and refused, as are devices (``/dev/zero`` would be read
    until memory runs out) and folders; a file larger than ``limit`` is refused after reading
    ``limit + 1`` bytes at most. Raises NotRegularFileError (an OSError) or OSError.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            what = "a folder" if stat.S_ISDIR(kind) else "a FIFO" if stat.S_ISFIFO(kind) else \
                "a device" if stat.S_ISCHR(kind) or stat.S_ISBLK(kind) else "not a regular file"
            raise NotRegularFileError(f"it is {what}, not a regular file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise NotRegularFileError(f"it is larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)
