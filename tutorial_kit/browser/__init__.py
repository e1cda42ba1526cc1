"""The kit in the browser alone (JupyterLite): the same lessons with the server inside the page.

Under Pyodide there are no processes, no sockets and no threads, so the kit's server cannot run
as ``tutorial-kit serve`` does. Instead :class:`BrowserControl` keeps one run of the server's
rules (backend, dispatcher, store) in this Python, and :class:`InProcessTransport` carries
:class:`~tutorial_kit.KitClient`'s httpx requests straight to its dispatcher: the same requests,
the same answers, no network. State lives on JupyterLite's browser drive (``/drive``), where
the file browser shows it: ``server-home/config/services.json`` (edit it by hand there, as on a
real server) and ``server-home/data/kit.sqlite3``, a copy of the database written after each
change, so API keys survive a page reload where the browser keeps the drive.

Nothing on this path imports tornado, ``fcntl``, ``subprocess`` or starts a thread.
:func:`in_browser` says whether the kit is on this path: under Pyodide, or where
``TUTORIAL_KIT_BROWSER=1`` asks for it (the tests use that to run the browser mode in CPython).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

__all__ = ["BrowserControl", "InProcessTransport", "in_browser"]

if TYPE_CHECKING:  # pragma: no cover
    from .control import BrowserControl
    from .transport import InProcessTransport

_LAZY = {"BrowserControl": ".control", "InProcessTransport": ".transport"}


def in_browser(env: Mapping[str, str] | None = None) -> bool:
    """True under Pyodide (``sys.platform == "emscripten"``) or with ``TUTORIAL_KIT_BROWSER=1``."""
    env = os.environ if env is None else env
    return sys.platform == "emscripten" or env.get("TUTORIAL_KIT_BROWSER") == "1"


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tutorial_kit.browser' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value
