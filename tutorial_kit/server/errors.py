"""Error codes of the jsonAction protocol, and the error the server's rules raise.

``ERROR_TABLE`` lists every code the server answers with, each marked ``documented`` (FairCom's
pages give it) or ``kit's choice`` (the value comes from :mod:`kit_choices`). The rules raise
:class:`ApiError`; :mod:`envelope` is the one place that turns it into a response.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .kit_choices import choice

__all__ = ["ErrorCode", "ErrorRow", "ERROR_TABLE", "ApiError", "fit_message", "MAX_MESSAGE_BYTES",
           "BAD_TOKEN_MESSAGE", "UNKNOWN_TOKEN_WARNING", "DROP_MISSING_WARNING_CODE", "drop_missing_warning"]

log = logging.getLogger(__name__)

#: FairCom's documented limit of an errorMessage (sources: fact.error_message_limit)
MAX_MESSAGE_BYTES = 256
#: FairCom's documented 12031 text (sources: fact.bad_token_message)
BAD_TOKEN_MESSAGE = (
    "'authToken' does not match any existing session. Use a valid 'authToken' or use 'createSession' "
    "to create a valid 'authToken'."
)
#: FairCom's documented deleteSession warning for an unknown token (sources: action.deleteSession)
UNKNOWN_TOKEN_WARNING = "'authToken' does not match any existing session. Use a valid 'authToken'."
#: dropAccounts of a name no account has: success, and this documented warning (sources: action.dropAccounts)
DROP_MISSING_WARNING_CODE = 101


def drop_missing_warning(name_key: str) -> str:
    """FairCom's documented warning text for an account dropAccounts could not find."""
    return f"Not able to remove account [{name_key[:64]}] - ISAM error [0]"


def fit_message(message: str) -> str:
    """``message`` if it fits FairCom's 256-byte limit, else clipped to it (and logged: a bug)."""
    data = message.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_MESSAGE_BYTES:
        return message
    log.warning("a message over %d bytes was clipped: %r", MAX_MESSAGE_BYTES, message[:80])
    return data[: MAX_MESSAGE_BYTES - 3].decode("utf-8", "ignore") + "..."


class ErrorCode:
    """Named error codes. Use these names, never bare numbers."""

    OK = 0
    BAD_TOKEN = 12031
    MISSING_PROPERTY: int = choice("error.missing_property")
    INVALID_VALUE: int = choice("error.invalid_value")
    TOO_LONG: int = choice("error.too_long")
    BODY_TOO_LARGE: int = choice("error.body_too_large")
    UNKNOWN_API: int = choice("error.unknown_api")
    UNKNOWN_ACTION: int = choice("error.unknown_action")
    PERMANENT_DISABLED: int = choice("error.permanent_disabled")
    SESSION_LIMIT: int = choice("error.session_limit")
    BAD_CREDENTIALS: int = choice("error.bad_credentials")
    ADMIN_REQUIRED: int = choice("error.admin_required")
    ACCOUNT_EXISTS: int = choice("error.account_exists")
    NOT_POST: int = choice("error.not_post")
    FOREIGN_REQUEST: int = choice("error.foreign_request")
    OTHER_USER: int = choice("error.other_user")
    INTERNAL: int = choice("error.internal")
    DATABASE_BUSY: int = choice("error.database_busy")
    DATABASE_FAILED: int = choice("error.database_failed")
    LOGIN_QUEUE_FULL: int = choice("error.login_queue_full")


@dataclass(frozen=True)
class ErrorRow:
    """One row of the error table."""

    name: str
    code: int
    source: str
    when: str


ERROR_TABLE: tuple[ErrorRow, ...] = (
    ErrorRow("OK", ErrorCode.OK, "documented", "success"),
    ErrorRow("BAD_TOKEN", ErrorCode.BAD_TOKEN, "documented", "authToken unknown, expired or deleted"),
    ErrorRow("MISSING_PROPERTY", ErrorCode.MISSING_PROPERTY, "kit's choice", "a required property is missing"),
    ErrorRow("INVALID_VALUE", ErrorCode.INVALID_VALUE, "kit's choice", "not JSON, wrong type, value not allowed"),
    ErrorRow("TOO_LONG", ErrorCode.TOO_LONG, "kit's choice", "a string is longer than its limit"),
    ErrorRow("BODY_TOO_LARGE", ErrorCode.BODY_TOO_LARGE, "kit's choice", "the body is over the size limit"),
    ErrorRow("UNKNOWN_API", ErrorCode.UNKNOWN_API, "kit's choice", "unknown api"),
    ErrorRow("UNKNOWN_ACTION", ErrorCode.UNKNOWN_ACTION, "kit's choice", "unknown action"),
    ErrorRow("PERMANENT_DISABLED", ErrorCode.PERMANENT_DISABLED, "kit's choice", "permanent session asked for, flag off"),
    ErrorRow("SESSION_LIMIT", ErrorCode.SESSION_LIMIT, "kit's choice", "a session limit is reached"),
    ErrorRow("BAD_CREDENTIALS", ErrorCode.BAD_CREDENTIALS, "kit's choice", "wrong username/password, or blocked"),
    ErrorRow("ADMIN_REQUIRED", ErrorCode.ADMIN_REQUIRED, "kit's choice", "needs administrator rights"),
    ErrorRow("ACCOUNT_EXISTS", ErrorCode.ACCOUNT_EXISTS, "kit's choice", "account name already exists"),
    ErrorRow("NOT_POST", ErrorCode.NOT_POST, "kit's choice", "request not POST (HTTP 405)"),
    ErrorRow("FOREIGN_REQUEST", ErrorCode.FOREIGN_REQUEST, "kit's choice", "a request from a web page (HTTP 403)"),
    ErrorRow("OTHER_USER", ErrorCode.OTHER_USER, "kit's choice", "another OS user's connection to a loopback server (HTTP 403)"),
    ErrorRow("INTERNAL", ErrorCode.INTERNAL, "kit's choice", "anything unexpected; details in the log only"),
    ErrorRow("DATABASE_BUSY", ErrorCode.DATABASE_BUSY, "kit's choice", "another program held the database; nothing changed"),
    ErrorRow("DATABASE_FAILED", ErrorCode.DATABASE_FAILED, "kit's choice", "a database write failed; nothing changed"),
    ErrorRow("LOGIN_QUEUE_FULL", ErrorCode.LOGIN_QUEUE_FULL, "kit's choice", "too many logins waiting to be checked"),
)


class ApiError(Exception):
    """Raised by the server's rules; becomes an error envelope in exactly one place.

    ``message`` is shown to the client and must say what went wrong and what to do next.
    """

    def __init__(self, code: int, message: str, *, http_status: int = 200) -> None:
        message = fit_message(message)
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def __repr__(self) -> str:
        return f"ApiError(code={self.code!r}, message={self.message!r})"

    # Small constructors keep call sites short and the wording consistent.

    @classmethod
    def missing(cls, prop: str, what_to_do: str = "") -> "ApiError":
        hint = what_to_do or f'add "{prop}" to the request and send it again'
        return cls(ErrorCode.MISSING_PROPERTY, f'The required property "{prop}" is missing: {hint}.')

    @classmethod
    def invalid(cls, prop: str, given: str, allowed: str) -> "ApiError":
        return cls(ErrorCode.INVALID_VALUE, f'"{prop}" cannot be {given}: {allowed}.')

    @classmethod
    def too_long(cls, prop: str, size: int, limit: int) -> "ApiError":
        return cls(
            ErrorCode.TOO_LONG,
            f'"{prop}" is {size} bytes long, over its limit of {limit} bytes: send a shorter value.',
        )
