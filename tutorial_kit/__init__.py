"""The FairCom permanent-session tutorial kit.

    import tutorial_kit as kit
    lesson = kit.start_lesson(1)      # the server a lesson needs, a client, the progress list
    %load_ext tutorial_kit            # the %%jsonaction cell magic

The public surface is ``__all__`` below, and only it (``dir(tutorial_kit)`` shows the same names).
Every name but the exceptions and the two IPython hooks is imported lazily, on first use, so
``import tutorial_kit`` loads neither tornado, httpx, IPython nor ipywidgets, and
``tutorial-kit serve`` starts without the client or the notebook code.
``tests/test_public_surface.py`` checks the list against ``_LAZY`` and imports every name in a
fresh interpreter.

Lessons
    start_lesson            set up lesson n: start (or find) the server, prepare it, return a Lesson
    Lesson                  one lesson's handle: client, server steps, checks, progress list
    lessons                 the lessons package (``kit.lessons.Exercises``, ``kit.lessons.BROKEN_REQUEST``)
    panels                  the ipywidgets panels (``kit.panels.server_panel(lesson.server)``, ...)

Client
    KitClient               a jsonAction client over one keep-alive httpx connection
    Response                one jsonAction answer: ok, error_code, result, auth_token
    mask_token              a token shortened to its first 4 characters and "…" (display, logs)
    lint_request            the warnings a request would get before it is sent
    LintWarning             one such warning
    fill_placeholders       replace FairCom's documentation placeholders in a request

Notebook display
    SessionList             a table of sessions (describeSessions, listSessions), tokens shortened
    ConfigDiff              running values next to the values in services.json, differences marked

Server and its control
    ServerControl           start, stop, restart, reset the kit's background server of one home
    control_from_env        the control the environment asks for (local, remote or in the browser)
    BrowserControl          the control of the in-browser (JupyterLite) server
    EmulatorServer          the embedded server on a thread of this process (tests, benchmarks)

IPython
    load_ipython_extension  ``%load_ext tutorial_kit``: the ``%%jsonaction`` cell magic
    unload_ipython_extension

Exceptions (see ``tutorial_kit._exceptions`` for the tree)
    KitError                anything the kit raises on purpose; the others below derive from it
    ConfigFileError, DataFileError, ServerControlError, RemoteServerError, HomeInUseError,
    KitTransportError, ServerNotRunningError, KitTLSError, KitTimeoutError, NotJsonActionError,
    JsonActionError, LiteSiteError, KitUsageError
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._exceptions import (
    ConfigFileError,
    DataFileError,
    HomeInUseError,
    JsonActionError,
    KitError,
    KitTimeoutError,
    KitTLSError,
    KitTransportError,
    KitUsageError,
    LiteSiteError,
    NotJsonActionError,
    RemoteServerError,
    ServerControlError,
    ServerNotRunningError,
)

__version__ = "0.1.0"

__all__ = [
    # lessons
    "start_lesson", "Lesson", "lessons", "panels",
    # client
    "KitClient", "Response", "mask_token", "lint_request", "LintWarning", "fill_placeholders",
    # notebook display
    "SessionList", "ConfigDiff",
    # server and its control
    "ServerControl", "control_from_env", "BrowserControl", "EmulatorServer",
    # IPython
    "load_ipython_extension", "unload_ipython_extension",
    # exceptions
    "KitError", "ConfigFileError", "DataFileError", "ServerControlError", "RemoteServerError",
    "HomeInUseError", "KitTransportError", "ServerNotRunningError", "KitTLSError", "KitTimeoutError",
    "NotJsonActionError", "JsonActionError", "LiteSiteError", "KitUsageError",
]

#: public name -> module that defines it (a name equal to its module's last part is that module)
_LAZY = {
    "start_lesson": ".lessons",
    "Lesson": ".lessons",
    "lessons": ".lessons",
    "panels": ".panels",
    "KitClient": ".client.kit_client",
    "Response": ".client.response",
    "mask_token": ".client.kit_client",
    "lint_request": ".client.lint",
    "LintWarning": ".client.lint",
    "fill_placeholders": ".client.placeholders",
    "SessionList": ".notebook.display",
    "ConfigDiff": ".notebook.display",
    "ServerControl": ".control.local",
    "control_from_env": ".control.choose",
    "BrowserControl": ".browser",
    "EmulatorServer": ".server",
}

if TYPE_CHECKING:  # pragma: no cover
    from . import lessons, panels
    from .browser import BrowserControl
    from .client.kit_client import KitClient, mask_token
    from .client.lint import LintWarning, lint_request
    from .client.placeholders import fill_placeholders
    from .client.response import Response
    from .control.choose import control_from_env
    from .control.local import ServerControl
    from .lessons import Lesson, start_lesson
    from .notebook.display import ConfigDiff, SessionList
    from .server import EmulatorServer


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tutorial_kit' has no attribute {name!r}")
    module = importlib.import_module(module_name, __name__)
    value = module if name == module_name.rpartition(".")[2] else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public surface and the module's dunders, not its helpers (what tab completion offers)."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__") and name.endswith("__"))})


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext tutorial_kit``: register the ``%%jsonaction`` cell magic."""
    from .notebook.error_paragraph import install
    from .notebook.magic import load_ipython_extension as load

    load(ip)
    install(ip)


def _in_a_notebook() -> None:
    """Under a running IPython, show the kit's errors as one paragraph from the first cell on.

    IPython is never imported here: only a process that already runs it (a kernel) is changed.
    """
    import sys

    if "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is not None:
        from .notebook.error_paragraph import install

        install(shell)


_in_a_notebook()


def unload_ipython_extension(ip: Any) -> None:
    from .notebook.magic import unload_ipython_extension as unload

    unload(ip)
