"""Reading a request's envelope: the body as one JSON object, its ``debug``, ``api`` and ``action``.

:class:`RequestState` holds what the envelope said, as far as it could be read; the dispatcher
(:mod:`.envelope`) fills it with these functions and writes the answer (an error answer too) from it.
"""

from __future__ import annotations

from typing import Any

from .actions import ACTIONS, ActionSpec, find_action
from .errors import ApiError, ErrorCode
from .jsontext import JsonTextError, parse_json
from .kit_choices import choice
from .settings import describe_json
from .vocabulary import DEBUG_MODES, ENVELOPE_KEYS, SERVICE_ACTIONS, SESSION_ACTIONS

__all__ = ["KNOWN_TOP", "RequestState", "clip", "parse_body", "read_action", "read_debug"]

KNOWN_TOP = frozenset(ENVELOPE_KEYS)
DEBUG_MODE_NAMES = {mode.lower(): mode for mode in DEBUG_MODES}
EXAMPLE = '{"api": "admin", "action": "pingSession"}'
MAX_DEPTH = 64
_ACTION_NAMES = sorted(spec.name for spec in ACTIONS.values())
_SESSION_ACTIONS = SESSION_ACTIONS + SERVICE_ACTIONS


def clip(text: str, limit: int = 40) -> str:
    """User input shown in a message, short enough to keep the message within FairCom's 256 bytes."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RequestState:
    """What the envelope said, as far as it could be read (also used for error answers)."""

    __slots__ = ("data", "token", "has_request_id", "debug", "supplied", "duplicates", "warnings", "session",
                 "budget", "echo", "may_hold_password")

    def __init__(self, budget: int = 0) -> None:
        self.budget = budget  # bytes the answer may spend on copies of the request
        self.echo: dict[str, str | None] = {}  # requestId as encoded for the answer, by mode ("compact"/"pretty")
        self.may_hold_password = True  # False when the body's text has no "password" in any case
        self.data: dict[str, Any] = {}
        self.token: str | None = None
        self.has_request_id = False
        self.debug: str | None = None  # as requested and valid; None: use the session's/server's default
        self.supplied: dict[str, Any] = {}
        self.duplicates: tuple[str, ...] = ()
        self.warnings: list[dict[str, Any]] = []
        self.session: Any = None  # the caller's session once its token is checked (its defaultDebug applies)


def parse_body(body: bytes | str, req: RequestState) -> dict[str, Any]:
    """The body as a JSON object; duplicate keys become warnings. Raises ApiError (12012) otherwise."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as err:
        raise ApiError(
            ErrorCode.INVALID_VALUE,
            f"The body is not UTF-8 text (bad byte at offset {err.start}): send UTF-8 JSON.",
        ) from None
    try:
        parsed = parse_json(text)
    except JsonTextError as err:
        raise ApiError(
            ErrorCode.INVALID_VALUE,
            f"The body is not valid JSON: {err.message}. Send one JSON object, e.g. {EXAMPLE}.",
        ) from None
    # debugInfo's copy is masked only if a key could be "password" (written plainly or with \\u escapes)
    req.may_hold_password = "\\u" in text or "password" in text.lower()
    if not isinstance(parsed.value, dict):
        raise ApiError(
            ErrorCode.INVALID_VALUE,
            f"The body must be a JSON object, not {describe_json(parsed.value)}: send e.g. {EXAMPLE}.",
        )
    # nesting deeper than MAX_DEPTH needs more than MAX_DEPTH brackets: counting them is cheap
    if text.count("{") + text.count("[") > MAX_DEPTH and _too_deep(parsed.value):
        raise ApiError(
            ErrorCode.INVALID_VALUE,
            f"The body nests objects or arrays more than {MAX_DEPTH} levels deep: flatten it.",
        )
    req.duplicates = tuple(parsed.duplicate_keys)
    for key in parsed.duplicate_keys:
        req.warnings.append(
            {
                "code": choice("warning.duplicate_key"),
                "message": f'the key "{clip(key)}" appears more than once in an object; '
                "only its last value was used: write each key once",
            }
        )
    return parsed.value

def read_debug(data: dict[str, Any], req: RequestState) -> None:
    """The envelope's ``debug`` (null is "none"); any case of a known mode is taken."""
    if "debug" not in data:
        return
    value = data["debug"]
    if value is None:  # FairCom: null is the same as "none"
        req.debug = "none"
        return
    mode = DEBUG_MODE_NAMES.get(value.lower()) if isinstance(value, str) else None
    if mode is None:
        raise ApiError.invalid("debug", describe_json(value), 'use "none", "min", "max" or "maxOnError"')
    req.debug = mode

def read_action(data: dict[str, Any], req: RequestState) -> ActionSpec:
    """The action the envelope names, in the admin api (the only one served here)."""
    api = data.get("api")
    if api == "" or (api is None and choice("api_null_is_default")):  # "" is FairCom's default: the admin api here
        req.supplied["api"] = "admin"
    elif not isinstance(api, str) or api.lower() != "admin":
        shown = f'"{clip(api)}"' if isinstance(api, str) else describe_json(api)
        raise ApiError(
            ErrorCode.UNKNOWN_API, f'The api {shown} is not served here: this server implements "api": "admin".'
        )
    if "action" not in data:
        raise ApiError.missing("action", f"name what to do, e.g. {EXAMPLE}")
    action = data["action"]
    if not isinstance(action, str):
        raise ApiError.invalid(
            "action", describe_json(action), 'it must be the name of an action, e.g. "pingSession"'
        )
    spec = find_action(action)
    if spec is None:
        import difflib  # here, not at start: only a misspelt action needs it

        close = difflib.get_close_matches(action[:64], _ACTION_NAMES, n=1, cutoff=0.6)
        if close:
            hint = f'did you mean "{close[0]}"?'
        else:
            actions = ", ".join(_SESSION_ACTIONS)
            hint = f"the session actions are {actions}; the account actions createAccount and others."
        raise ApiError(ErrorCode.UNKNOWN_ACTION, f'The action "{clip(action)}" does not exist: {hint}')
    return spec


def _too_deep(value: Any) -> bool:
    """True if ``value`` nests containers more than ``MAX_DEPTH`` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return False
