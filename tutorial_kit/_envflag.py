"""Yes/no environment variables, read one way everywhere (the server and the helper agree).

Only an explicit true value turns a flag on: ``1``, ``true``, ``yes``, ``on`` (any case). An
explicit false value (``0``, ``false``, ``no``, ``off``) or an empty or missing variable leaves
it off. Anything else is a mistake, and a mistake must not switch on something unsafe (such as
guessable tokens): it is refused with a message that names the variable.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._exceptions import KitUsageError

__all__ = ["REPRODUCIBLE_ENV", "env_flag", "reproducible_requested"]

REPRODUCIBLE_ENV = "TUTORIAL_KIT_REPRODUCIBLE"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """The yes/no value of ``env[name]``; raises KitUsageError for a value that is neither."""
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    shown = env[name] if len(env[name]) <= 20 else env[name][:17] + "..."
    raise KitUsageError(f"{name}={shown!r} is neither yes nor no: set it to 1 to turn it on, "
                        f"or to 0 (or unset it) to leave it off.")


def reproducible_requested(env: Mapping[str, str]) -> bool:
    """True when the environment asks for reproducible mode (see ``server/reproducible.py``)."""
    return env_flag(env, REPRODUCIBLE_ENV)
