"""Which control a notebook gets: a remote server's, the browser's, or the background process's.

Kept apart from :mod:`tutorial_kit.control.local` so that choosing imports nothing that needs processes,
sockets or ``fcntl``: in the browser only the browser's control is ever imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Union

from ..browser import in_browser
from .remote import RemoteControl, remote_from_env

if TYPE_CHECKING:
    from ..browser.control import BrowserControl
    from .local import ServerControl

__all__ = ["control_from_env", "AnyControl"]

AnyControl = Union["ServerControl", "RemoteControl", "BrowserControl"]


def control_from_env(env: Mapping[str, str] = os.environ) -> AnyControl:
    """RemoteControl when ``TUTORIAL_KIT_URL`` is set; in the browser (Pyodide, or
    ``TUTORIAL_KIT_BROWSER=1``) the BrowserControl of the default home; else its ServerControl."""
    remote = remote_from_env(env)
    if remote is not None:
        return remote
    if in_browser(env):
        from ..browser.control import BrowserControl

        return BrowserControl(env=env)
    from .local import ServerControl

    return ServerControl(env=env)
