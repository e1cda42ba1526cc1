"""The FairCom permanent-session tutorial kit.

    import tutorial_kit as kit
    lesson = kit.start_lesson(1)      # the server a lesson needs, a client, the progress list
    %load_ext tutorial_kit            # the %%jsonaction cell magic

Public names are imported lazily, so ``tutorial-kit serve`` starts without loading the client,
IPython or ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._exceptions import *  # noqa: F401,F403
from ._exceptions import __all__ as _exception_names

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {
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
    "start_lesson": ".lessons",
    "Lesson": ".lessons",
    "panels": ".panels",
}

__all__ = [*_exception_names, *_LAZY, "load_ipython_extension", "unload_ipython_extension"]

if TYPE_CHECKING:  # pragma: no cover
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
    value = module if name == module_name.lstrip(".") else getattr(module, name)
    globals()[name] = value
    return value


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
