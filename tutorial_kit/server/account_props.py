"""FairCom's documented account properties: reading them from params, and the account object.

createAccount and alterAccount take the same properties (sources: ``action.createAccount``,
``action.alterAccount``). ``enableDatetime``, ``disableDatetime``, ``lockoutAfterNFailedAttempts``
and ``lockoutWaitMinutes`` are enforced at login (:mod:`accounts`); the others are stored and
returned only, and a warning says so. Following FairCom's alterAccount page: a property omitted or
``null`` is not changed; an empty string clears a date (no limit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .errors import ApiError
from .kit_choices import choice
from .sessions import format_timestamp
from .settings import check_int, check_string
from .store import AccountRow
from .values import MAX_INT, Warn, describe_json

__all__ = ["ACCOUNT_PROPERTIES", "read_properties", "account_object", "parse_account_datetime",
           "USERNAME_MAX_BYTES", "LOOKUP_MAX_BYTES", "PASSWORD_MAX_BYTES", "DESCRIPTION_MAX_BYTES"]

#: FairCom's limits (sources: action.createAccount, the newer page; action.dropAccounts for lookups)
USERNAME_MAX_BYTES, LOOKUP_MAX_BYTES, PASSWORD_MAX_BYTES, DESCRIPTION_MAX_BYTES = 31, 64, 256, 65_500

#: property -> ("datetime",) or ("int", low, high) or ("string", low, high); FairCom's limits
ACCOUNT_PROPERTIES: dict[str, tuple[Any, ...]] = {
    "enableDatetime": ("datetime",),
    "disableDatetime": ("datetime",),
    "lockoutAfterNFailedAttempts": ("int", 0, MAX_INT),
    "lockoutWaitMinutes": ("int", 0, MAX_INT),
    "maxDaysBeforePasswordMustChange": ("int", 0, MAX_INT),
    "maxMinutesBeforeNextLogin": ("int", 0, 35_791_394),
    "memoryLimit": ("int", 0, MAX_INT),
    "memoryRule": ("string", 1, 64),
}
_EARLIEST = dt.datetime(336, 10, 7)  # FairCom: "any date after 0336-10-07"


def parse_account_datetime(text: str) -> tuple[dt.datetime, bool]:
    """``(moment, date_only)`` for "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (a space may replace the T)."""
    value = text.strip()
    if len(value) == 10:
        return dt.datetime.strptime(value, "%Y-%m-%d"), True
    return dt.datetime.strptime(value.replace(" ", "T", 1), "%Y-%m-%dT%H:%M:%S"), False


def _datetime(prop: str, value: Any) -> str | None:
    if value == "":
        return None  # FairCom: an empty string turns the limit off
    if not isinstance(value, str):
        raise ApiError.invalid(prop, describe_json(value), 'it must be a date such as "2024-12-31", or "" for no limit')
    try:
        moment, _ = parse_account_datetime(value)
    except ValueError:
        raise ApiError.invalid(
            prop, describe_json(value), 'write a date "YYYY-MM-DD" or a time "YYYY-MM-DDTHH:MM:SS", or "" for no limit'
        ) from None
    if moment <= _EARLIEST:
        raise ApiError.invalid(prop, describe_json(value), 'FairCom takes dates after "0336-10-07"')
    return value.strip()


def read_properties(params: dict[str, Any], warn: Warn) -> dict[str, Any]:
    """The documented account properties present in ``params`` (not null), checked.

    A date given as "" comes back as None: the caller removes that limit.
    """
    out: dict[str, Any] = {}
    for prop, rule in ACCOUNT_PROPERTIES.items():
        value = params.get(prop)
        if value is None:
            continue
        if rule[0] == "datetime":
            out[prop] = _datetime(prop, value)
        elif rule[0] == "int":
            out[prop] = check_int(prop, value, rule[1], rule[2], warn)
        else:
            out[prop] = check_string(prop, value, rule[1], rule[2])
    return out


def merged(properties: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``properties`` with ``changes`` applied (None removes a property)."""
    out = dict(properties)
    for prop, value in changes.items():
        if value is None:
            out.pop(prop, None)
        else:
            out[prop] = value
    return out


def account_object(row: AccountRow) -> dict[str, Any]:
    """The account as listAccounts and describeAccounts return it, keys in FairCom's order.

    Dates and ``lockoutWaitMinutes`` appear only when set (FairCom's example of the admin account
    has none); ``lastPasswordChange`` only when known (accounts of a home made before it was kept).
    """
    props = {**choice("account_property_defaults"), **row.properties}
    out: dict[str, Any] = {"username": row.username, "accountDescription": row.description}
    for prop in ("enableDatetime", "disableDatetime"):
        if prop in props:
            out[prop] = props[prop]
    out["lockoutAfterNFailedAttempts"] = props["lockoutAfterNFailedAttempts"]
    if "lockoutWaitMinutes" in props:
        out["lockoutWaitMinutes"] = props["lockoutWaitMinutes"]
    for prop in ("maxDaysBeforePasswordMustChange", "maxMinutesBeforeNextLogin", "memoryLimit", "memoryRule"):
        out[prop] = props[prop]
    out["roleNames"] = list(choice("admin_role_names")) if row.is_admin else []
    if row.password_changed is not None:
        out["lastPasswordChange"] = format_timestamp(row.password_changed)
    return out


def warn_stored_only(given: dict[str, Any], warn: Warn) -> None:
    """One warning per property the kit stores but does not act on."""
    for prop in choice("account_stored_only"):
        if given.get(prop) is not None:
            warn(f"{prop} is stored and returned, but this kit does not act on it: FairCom's createAccount page "
                 "says what a real server does with it")
