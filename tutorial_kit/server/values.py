"""JSON values checked against a property's type, shared by requests and services.json.

FairCom's own examples send ``"permanentSession": "true"`` and ``"defaultRetentionPeriod": "4"``.
The kit takes such a string as the boolean or number it spells, and says so through ``warn``
(a warning in ``debugInfo`` for a request, a warning at start for services.json). Anything else
that is not of the documented type raises :class:`BadValue`, which the caller turns into its own
error (an :class:`ApiError` for a request, a :class:`ConfigFileError` for the file).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["BadValue", "Warn", "describe_json", "coerce_bool", "coerce_int", "coerce_choice", "MAX_INT"]

MAX_INT = 2_147_483_647

Warn = Callable[[str], None]
"""Receives the text of one warning."""


class BadValue(Exception):
    """A value that is not allowed: ``given`` says what was sent, ``allowed`` what may be sent."""

    def __init__(self, given: str, allowed: str) -> None:
        super().__init__(f"{given}: {allowed}")
        self.given = given
        self.allowed = allowed


def describe_json(value: Any) -> str:
    """A short, human description of a JSON value for messages (at most about 70 characters)."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > 60:
        text = text[:57] + "..."
    kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "null"
    )
    return f"the {kind} {text}" if value is not None else "null"


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:21] + "..."


def coerce_bool(value: Any, where: str, warn: Warn | None) -> bool:
    """A JSON boolean; the strings "true"/"false" (any case) are taken as one, with a warning."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        word = value.strip().lower()
        if warn is not None:
            warn(f'{where} is the string "{value.strip()}": taken as the JSON boolean {word}. '
                 f"FairCom documents a JSON boolean: write {word} without quotes")
        return word == "true"
    raise BadValue(describe_json(value), "it must be true or false (no quotes)")


def coerce_int(value: Any, where: str, low: int, high: int, warn: Warn | None) -> int:
    """A whole JSON number from ``low`` to ``high``; a string of digits is taken as one, with a warning."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) <= 20:
        number = int(value.strip())
        if warn is not None:
            warn(f'{where} is the string "{_short(value.strip())}": taken as the number {_short(str(number))}. '
                 "FairCom documents a JSON number: write it without quotes")
        value = number
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(describe_json(value), f"it must be an integer (a whole number) from {low} to {high}")
    if not low <= value <= high:
        raise BadValue(_short(str(value)), f"it must be from {low} to {high}")
    return value


def coerce_choice(value: Any, allowed: Sequence[str]) -> str:
    """One of the ``allowed`` strings (exactly as FairCom spells them)."""
    if not isinstance(value, str) or value not in allowed:
        names = ", ".join(f'"{item}"' for item in allowed)
        raise BadValue(describe_json(value), f"use one of {names}")
    return value
