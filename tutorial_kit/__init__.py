"""The FairCom permanent-session tutorial kit."""
from __future__ import annotations

from ._exceptions import *  # noqa: F401,F403
from ._exceptions import __all__ as _exception_names

__version__ = "0.1.0"
__all__ = [*_exception_names]
