"""Session settings: what createSession and alterSession accept, checked one property at a time.

Every check raises :class:`ApiError` naming the property, what was sent and what is allowed.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ApiError

__all__ = ["SESSION_SETTINGS", "check_settings", "check_bool", "check_string", "describe_json"]

_MAX_INT = 2_147_483_647

#: property -> (kind, rule). kind: "choice" (allowed strings), "string" (min, max bytes),
#: "int" (min, max), "options" (defaultResponseOptions).
SESSION_SETTINGS: dict[str, tuple[str, Any]] = {
    "description": ("string", (0, 65_500)),
    "defaultApi": ("choice", ("admin", "db", "hub", "mq", "transform")),
    "defaultDebug": ("choice", ("none", "max")),
    "defaultDatabaseName": ("string", (1, 64)),
    "defaultOwnerName": ("string", (1, 64)),
    "defaultBinaryFormat": ("choice", ("base64", "hex", "byteArray")),
    "defaultVariantFormat": ("choice", ("json", "binary", "string", "variantObject")),
    "defaultResponseOptions": ("options", None),
    "idleConnectionTimeoutSeconds": ("int", (0, _MAX_INT)),
    "idleCursorTimeoutSeconds": ("int", (0, _MAX_INT)),
}

_RESPONSE_OPTIONS = {
    "binaryFormat": ("base64", "hex", "byteArray"),
    "dataFormat": ("default", "arrays", "objects"),
    "numberFormat": ("number", "string"),
    "variantFormat": ("json", "binary", "string", "variantObject"),
}


def describe_json(value: Any) -> str:
    """A short, human description of a JSON value for error messages."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > 60:
        text = text[:57] + "..."
    kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "null"
    )
    return f"the {kind} {text}" if value is not None else "null"


def check_bool(prop: str, value: Any) -> bool:
    """Return ``value`` if it is a JSON boolean; a string "true" gets a message about quotes."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        word = value.strip().lower()
        raise ApiError.invalid(prop, f'the string "{value}"', f"write JSON {word} without quotes")
    raise ApiError.invalid(prop, describe_json(value), "it must be true or false")


def check_string(prop: str, value: Any, low: int, high: int) -> str:
    """Return ``value`` if it is a string of ``low``..``high`` UTF-8 bytes."""
    if not isinstance(value, str):
        raise ApiError.invalid(prop, describe_json(value), "it must be a string")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as err:  # a lone \ud800-style escape: not text, and SQLite refuses it
        raise ApiError.invalid(
            prop, f"a string with the lone surrogate escape \\u{ord(value[err.start]):04x}",
            "send valid Unicode text (a \\uD800-\\uDBFF escape must be followed by a \\uDC00-\\uDFFF one)",
        ) from None
    if size > high:
        raise ApiError.too_long(prop, size, high)
    if size < low:
        raise ApiError.invalid(prop, "empty", f"it must have at least {low} character(s)")
    return value


def _check_int(prop: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            raise ApiError.invalid(prop, f'the string "{value}"', f"write the number {value.strip()} without quotes")
        raise ApiError.invalid(prop, describe_json(value), f"it must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise ApiError.invalid(prop, str(value), f"it must be from {low} to {high}")
    return value


def _check_choice(prop: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        names = ", ".join(f'"{item}"' for item in allowed)
        raise ApiError.invalid(prop, describe_json(value), f"use one of {names}")
    return value


def _check_options(prop: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError.invalid(prop, describe_json(value), "it must be an object such as {\"dataFormat\": \"objects\"}")
    for key, item in value.items():
        allowed = _RESPONSE_OPTIONS.get(key)
        if allowed is None:
            names = ", ".join(_RESPONSE_OPTIONS)
            raise ApiError.invalid(f"{prop}.{key}", "an unknown option", f"the options are {names}")
        _check_choice(f"{prop}.{key}", item, allowed)
    return dict(value)


def check_setting(prop: str, value: Any) -> Any:
    """Check one session setting and return the value to store."""
    kind, rule = SESSION_SETTINGS[prop]
    if kind == "choice":
        return _check_choice(prop, value, rule)
    if kind == "string":
        return check_string(prop, value, *rule)
    if kind == "int":
        return _check_int(prop, value, *rule)
    return _check_options(prop, value)


def check_settings(params: dict[str, Any]) -> dict[str, Any]:
    """Return the session settings found in ``params``, each checked."""
    return {prop: check_setting(prop, params[prop]) for prop in SESSION_SETTINGS if prop in params}
