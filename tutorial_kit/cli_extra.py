"""Sub-commands beyond ``serve`` (registered by :mod:`tutorial_kit.cli`)."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the extra sub-commands to the ``tutorial-kit`` parser."""
