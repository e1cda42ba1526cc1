"""The protocol's vocabulary, written out once: action names, envelope keys, masking.

The server (envelope, actions), the client (kit_client, response), the linter, the placeholders
and the display all read these names from here; ``tests/test_vocabulary.py`` fails when a copy
drifts. This module imports only :mod:`kit_choices` (a leaf), so any layer may import it.
"""

from __future__ import annotations

from typing import Any

from .kit_choices import choice

__all__ = ["SESSION_ACTIONS", "SERVICE_ACTIONS", "ACCOUNT_ACTIONS", "SERVED_ACTIONS", "TOKEN_RULES",
           "TOKENLESS_ACTIONS", "not_emulated", "ENVELOPE_KEYS", "DEBUG_MODES", "password_mask",
           "is_password_key", "mask_passwords", "mask_token"]

#: action -> how it treats the authToken: "required" (must be valid), "optional" (checked when
#: given), "none" (ignored), "named" (required, but an unknown one is not an error: deleteSession)
TOKEN_RULES: dict[str, str] = {
    "createSession": "none",
    "describeSessions": "required",
    "listSessions": "required",
    "pingSession": "optional",
    "alterSession": "required",
    "deleteSession": "named",
    "listServices": "optional",
    "createAccount": "required",
    "alterAccount": "required",
    "dropAccounts": "required",
    "dropAccount": "required",
    "listAccounts": "required",
    "describeAccounts": "required",
}
#: the session actions the kit's server serves (FairCom's names; sources: tutorial_kit/server/sources.py)
SESSION_ACTIONS: tuple[str, ...] = ("createSession", "describeSessions", "listSessions", "pingSession",
                                    "alterSession", "deleteSession")
#: the service actions the kit's server serves
SERVICE_ACTIONS: tuple[str, ...] = ("listServices",)
#: the account actions the kit's server serves (dropAccount: the name an older page uses)
ACCOUNT_ACTIONS: tuple[str, ...] = ("createAccount", "alterAccount", "dropAccounts", "dropAccount",
                                    "listAccounts", "describeAccounts")
#: every action the kit's server serves, in the order the lessons and the playground list them
SERVED_ACTIONS: tuple[str, ...] = SESSION_ACTIONS + SERVICE_ACTIONS + ACCOUNT_ACTIONS
#: actions that need no authToken (a client need not hold one to send them)
TOKENLESS_ACTIONS: frozenset[str] = frozenset(
    name for name in SERVED_ACTIONS if TOKEN_RULES[name] in ("none", "optional")
)


def not_emulated() -> tuple[str, ...]:
    """Admin actions FairCom documents that the kit answers with UNKNOWN_ACTION (read at call time)."""
    return tuple(choice("roles_not_emulated")) + tuple(choice("services_not_emulated"))


#: the request envelope's top-level keys, in the order the server writes its answers' copies
ENVELOPE_KEYS: tuple[str, ...] = ("api", "action", "params", "authToken", "requestId", "apiVersion", "debug",
                                  "responseOptions")
#: the values of "debug" FairCom documents
DEBUG_MODES: tuple[str, ...] = ("none", "min", "max", "maxOnError")


def password_mask() -> str:
    """What a password is shown as (the kit's choice ``password_mask``, read at call time)."""
    return str(choice("password_mask"))


def is_password_key(key: object) -> bool:
    """The one rule: a property called "password", in any case, holds a password."""
    return isinstance(key, str) and key.lower() == "password"


def mask_passwords(value: Any) -> Any:
    """A deep copy of ``value`` with every password property (see :func:`is_password_key`) masked."""
    if isinstance(value, dict):
        mask = password_mask()
        return {k: mask if is_password_key(k) else mask_passwords(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_passwords(v) for v in value]
    return value


def mask_token(token: object) -> str:
    """``token`` shortened to its first 4 characters and "…" (for display and logs)."""
    text = str(token)
    return text if len(text) <= 4 else text[:4] + "…"
