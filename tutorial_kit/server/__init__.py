"""The embedded FairCom stand-in: the ``admin`` jsonAction API with durable state.

Nothing here imports Jupyter. Start it in-process with :class:`EmulatorServer`, or in the
foreground with ``tutorial-kit serve``.
"""

from __future__ import annotations

from .config import DEFAULT_SERVICES, RunningConfig, load_config
from .errors import ERROR_TABLE, ApiError, ErrorCode
from .kit_choices import KIT_CHOICES
from .runner import EmulatorServer, ServerCore, services_path

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
