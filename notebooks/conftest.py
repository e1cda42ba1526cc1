"""Notebook checks: nbval runs the lessons in order against one fresh, reproducible server home.

Only active with ``--nbval``. The lessons' background server is stopped when the run ends.
"""

from __future__ import annotations

import contextlib

import pytest

_ENV_KEY = pytest.StashKey[contextlib.ExitStack]()


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "nbval", False):
        from tutorial_kit.notebook.outputs import reproducible_environment

        stack = contextlib.ExitStack()
        stack.enter_context(reproducible_environment())
        config.stash[_ENV_KEY] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_ENV_KEY, None)
    if stack is not None:
        stack.close()
