"""Session settings: what createSession and alterSession accept, checked one property at a time.

The allowed values are FairCom's (see :mod:`sources`, rows ``fact.session_settings`` and
``fact.response_options``). Every check raises :class:`ApiError` naming the property, what was sent
and what is allowed; a string "true" or "4" where a boolean or number belongs is taken, with a
warning through ``warn`` (see :mod:`values`).
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError
from .values import MAX_INT, BadValue, Warn, coerce_bool, coerce_choice, coerce_int, describe_json

__all__ = [
    "SESSION_SETTINGS", "RESPONSE_OPTIONS", "RESPONSE_OPTION_DEFAULTS", "SETTING_FALLBACKS",
    "check_settings", "check_setting", "check_bool", "check_int", "check_string", "describe_json",
]

_BINARY = ("base64", "hex", "byteArray")
_VARIANT = ("json", "binary", "string", "variantObject")
_STRING = ("json", "hex")
_FIXED_CHAR = ("sql", "trimTrailingSpaces", "trimTrailingPadding")

#: property -> (kind, rule). kind: "choice" (allowed strings), "string" (min, max bytes),
#: "int" (min, max), "options" (defaultResponseOptions).
SESSION_SETTINGS: dict[str, tuple[str, Any]] = {
    "description": ("string", (0, 65_500)),
    "defaultApi": ("choice", ("admin", "db", "hub", "mq", "transform")),
    "defaultDebug": ("choice", ("none", "max")),
    "defaultDatabaseName": ("string", (1, 64)),
    "defaultOwnerName": ("string", (1, 64)),
    "defaultBinaryFormat": ("choice", _BINARY),
    "defaultVariantFormat": ("choice", _VARIANT),
    "defaultStringFormat": ("choice", _STRING),
    "defaultFixedLengthCharFormat": ("choice", _FIXED_CHAR),
    "defaultResponseOptions": ("options", None),
    "idleConnectionTimeoutSeconds": ("int", (0, MAX_INT)),
    "idleCursorTimeoutSeconds": ("int", (0, MAX_INT)),
}

#: defaultResponseOptions: every documented key, in the order of FairCom's createSession answer.
RESPONSE_OPTIONS: dict[str, tuple[str, ...] | None] = {
    "binaryFormat": _BINARY,
    "variantFormat": _VARIANT,
    "dataFormat": ("default", "arrays", "objects"),
    "numberFormat": ("number", "string"),
    "stringFormat": _STRING,
    "fixedLengthCharFormat": _FIXED_CHAR,
    "includeBookmarks": None,  # a boolean
}
RESPONSE_OPTION_DEFAULTS: dict[str, Any] = {
    "binaryFormat": "hex", "variantFormat": "json", "dataFormat": "objects", "numberFormat": "number",
    "stringFormat": "json", "fixedLengthCharFormat": "sql", "includeBookmarks": False,
}
#: a session setting's value when neither the request nor jsonActionApiDefaults gives one
SETTING_FALLBACKS: dict[str, Any] = {
    "description": "", "defaultVariantFormat": "json", "defaultStringFormat": "json",
    "defaultFixedLengthCharFormat": "sql",
}


def _invalid(prop: str, bad: BadValue) -> ApiError:
    return ApiError.invalid(prop, bad.given, bad.allowed)


def check_bool(prop: str, value: Any, warn: Warn | None = None) -> bool:
    """A JSON boolean; with ``warn``, the string "true"/"false" is taken with a warning."""
    if warn is None and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        word = value.strip().lower()
        raise ApiError.invalid(prop, f'the string "{value.strip()[:8]}"', f"write JSON {word} without quotes")
    try:
        return coerce_bool(value, prop, warn)
    except BadValue as bad:
        raise _invalid(prop, bad) from None


def check_int(prop: str, value: Any, low: int, high: int, warn: Warn | None = None) -> int:
    """A whole number in range; with ``warn``, a string of digits is taken with a warning."""
    if warn is None and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        raise ApiError.invalid(prop, f'the string "{value.strip()[:12]}"', "write the number without quotes")
    try:
        return coerce_int(value, prop, low, high, warn)
    except BadValue as bad:
        raise _invalid(prop, bad) from None


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


def _check_choice(prop: str, value: Any, allowed: tuple[str, ...]) -> str:
    try:
        return coerce_choice(value, allowed)
    except BadValue as bad:
        raise _invalid(prop, bad) from None


def _check_options(prop: str, value: Any, warn: Warn | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError.invalid(prop, describe_json(value), "it must be an object such as {\"dataFormat\": \"objects\"}")
    out = {}
    for key, item in value.items():
        if key not in RESPONSE_OPTIONS:
            raise ApiError.invalid(
                f"{prop}.{key[:40]}", "an unknown option", "the options are " + ", ".join(RESPONSE_OPTIONS)
            )
        allowed = RESPONSE_OPTIONS[key]
        out[key] = (
            check_bool(f"{prop}.{key}", item, warn)
            if allowed is None
            else _check_choice(f"{prop}.{key}", item, allowed)
        )
    return out


def check_setting(prop: str, value: Any, warn: Warn | None = None) -> Any:
    """Check one session setting and return the value to store."""
    kind, rule = SESSION_SETTINGS[prop]
    if kind == "choice":
        return _check_choice(prop, value, rule)
    if kind == "string":
        return check_string(prop, value, *rule)
    if kind == "int":
        low, high = rule
        return check_int(prop, value, low, high, warn)
    return _check_options(prop, value, warn)


def check_settings(params: dict[str, Any], warn: Warn | None = None) -> dict[str, Any]:
    """Return the session settings found in ``params``, each checked."""
    return {prop: check_setting(prop, params[prop], warn) for prop in SESSION_SETTINGS if prop in params}
