"""Reproducible mode: deterministic tokens, clock and host, for saving notebook outputs.

With ``TUTORIAL_KIT_REPRODUCIBLE=1`` (or ``true``/``yes``/``on``; see :mod:`tutorial_kit._envflag`,
which the helper reads too) in its environment the server makes tokens from a durable
counter (still 64 characters of ``[A-Za-z0-9]``, never repeated in a home), freezes its clock and
reports a fixed host. Saved notebook outputs then do not change from run to run. Tokens made this
way are guessable, so the mode is refused unless the server binds only a loopback address.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass

from .._envflag import REPRODUCIBLE_ENV as ENV_VAR
from .._envflag import reproducible_requested
from .._exceptions import KitUsageError
from .._hosts import is_loopback
from .store import Store

__all__ = ["Reproducible", "reproducible_from_env", "ENV_VAR"]

log = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits
_FROZEN = calendar.timegm((2026, 1, 1, 9, 0, 0, 0, 0, 0))


@dataclass(frozen=True)
class Reproducible:
    """Deterministic stand-ins for the values that change from run to run."""

    hostname: str = "kit-host"
    host_uuid: str = "00000000-0000-4000-8000-00000000c0de"

    def clock(self) -> float:
        return float(_FROZEN)

    def token(self, store: Store) -> str:
        """The next token from the home's counter (deterministic, unique within the home)."""
        counter = store.next_counter("reproducible_token_counter")
        digest = hashlib.sha512(f"tutorial-kit reproducible token {counter}".encode()).digest()
        return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest)[:64]


def reproducible_from_env(env: Mapping[str, str], host: str) -> Reproducible | None:
    """A :class:`Reproducible` when the environment asks for it and ``host`` is loopback.

    Raises KitUsageError for a value that is neither yes nor no, and on a host that is not loopback.
    """
    if not reproducible_requested(env):
        return None
    if not is_loopback(host):
        raise KitUsageError(
            f"{ENV_VAR} makes tokens guessable, so it only works on a loopback address; "
            f"unset it to serve on {host}."
        )
    log.warning("%s is set: tokens, clock and host are deterministic (for checking notebooks only)", ENV_VAR)
    return Reproducible()
