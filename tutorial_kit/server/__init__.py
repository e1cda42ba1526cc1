"""The embedded FairCom stand-in: the ``admin`` jsonAction API with durable state.

Nothing here imports Jupyter. Start it in-process with :class:`EmulatorServer`, or in the
foreground with ``tutorial-kit serve``. The names that need tornado (the HTTP side) are imported
on first use, so that the rules (backend, dispatcher, store) load where tornado cannot, as in the
browser (:mod:`tutorial_kit.browser`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import DEFAULT_SERVICES, RunningConfig, load_config
from .errors import ERROR_TABLE, ApiError, ErrorCode
from .kit_choices import KIT_CHOICES

if TYPE_CHECKING:  # pragma: no cover
    from .runner import EmulatorServer, ServerCore, services_path

_FROM_RUNNER = ("EmulatorServer", "ServerCore", "services_path")

__all__ = [
    "EmulatorServer",
    "ServerCore",
    "services_path",
    "load_config",
    "RunningConfig",
    "DEFAULT_SERVICES",
    "ErrorCode",
    "ERROR_TABLE",
    "ApiError",
    "KIT_CHOICES",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_RUNNER:
        from . import runner

        value = getattr(runner, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tutorial_kit.server' has no attribute {name!r}")
