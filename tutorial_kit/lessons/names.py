"""The notebook names a lesson's cells make, and how the first cell brings them back.

A kernel restart empties the notebook's variables, but the sessions the lesson made are still on
the server. Every session a lesson's cells create carries a description (``"lesson 3 key"``), so
the first cell finds it again and sets the variable (``api_key``) that later cells use. Names that
no server can give back (a saved answer such as ``used``) are left alone; a cell that needs one
says which step makes it (see :mod:`tutorial_kit.notebook.error_paragraph`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from ..client.response import mask_token

__all__ = ["newest_with_description", "restore_names", "notebook_namespace"]


def newest_with_description(sessions: Iterable[Mapping[str, Any]], description: str) -> str | None:
    """The token of the newest session described ``description`` (later in the list wins a tie)."""
    best: tuple[str, int, str] | None = None
    for index, session in enumerate(sessions):
        if session.get("description") != description or not session.get("authToken"):
            continue
        rank = (str(session.get("sessionStartTimestamp", "")), index, str(session["authToken"]))
        if best is None or rank[:2] >= best[:2]:
            best = rank
    return best[2] if best else None


def restore_names(keys: Mapping[str, str], sessions: list[dict[str, Any]],
                  namespace: MutableMapping[str, Any]) -> list[str]:
    """Set each missing variable of ``keys`` (name -> description) from the server's sessions.

    A variable the notebook already holds is left as it is. Returns one line per name set, each
    with the token shortened.
    """
    lines = []
    for name, description in keys.items():
        if name in namespace:
            continue
        token = newest_with_description(sessions, description)
        if token is not None:
            namespace[name] = token
            lines.append(f'{name} = {mask_token(token)} (the session described "{description}")')
    return lines


def notebook_namespace() -> MutableMapping[str, Any] | None:
    """The running notebook's variables (IPython's user namespace), or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell.user_ns if shell is not None else None
