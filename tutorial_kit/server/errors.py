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


@dataclass(frozen=True)
class ErrorRow:
    """One row of the error table: a documented code, or the kit's choice named ``choice_name``.

    :attr:`code` is read at each use, so a change to :data:`~.kit_choices.KIT_CHOICES` reaches
    every answer the server gives from then on.
    """

    name: str
    choice_name: str | None
    documented_code: int | None
    when: str

    @property
    def source(self) -> str:
        return "documented" if self.choice_name is None else "kit's choice"

    @property
    def code(self) -> int:
        if self.choice_name is None:
            assert self.documented_code is not None
            return self.documented_code
        return int(choice(self.choice_name))


ERROR_TABLE: tuple[ErrorRow, ...] = (
    ErrorRow("OK", None, 0, "success"),
    ErrorRow("BAD_TOKEN", None, 12031, "authToken unknown, expired or deleted"),
    ErrorRow("MISSING_PROPERTY", "error.missing_property", None, "a required property is missing"),
    ErrorRow("INVALID_VALUE", "error.invalid_value", None, "not JSON, wrong type, value not allowed"),
    ErrorRow("TOO_LONG", "error.too_long", None, "a string is longer than its limit"),
    ErrorRow("BODY_TOO_LARGE", "error.body_too_large", None, "the body is over the size limit"),
    ErrorRow("UNKNOWN_API", "error.unknown_api", None, "unknown api"),
    ErrorRow("UNKNOWN_ACTION", "error.unknown_action", None, "unknown action"),
    ErrorRow("PERMANENT_DISABLED", "error.permanent_disabled", None, "permanent session asked for, flag off"),
    ErrorRow("SESSION_LIMIT", "error.session_limit", None, "a session limit is reached"),
    ErrorRow("BAD_CREDENTIALS", "error.bad_credentials", None, "wrong username/password, or blocked"),
    ErrorRow("ADMIN_REQUIRED", "error.admin_required", None, "needs administrator rights"),
    ErrorRow("ACCOUNT_EXISTS", "error.account_exists", None, "account name already exists"),
    ErrorRow("NOT_POST", "error.not_post", None, "request not POST (HTTP 405)"),
    ErrorRow("FOREIGN_REQUEST", "error.foreign_request", None, "a request from a web page (HTTP 403)"),
    ErrorRow("OTHER_USER", "error.other_user", None, "another OS user's connection to a loopback server (HTTP 403)"),
    ErrorRow("INTERNAL", "error.internal", None, "anything unexpected; details in the log only"),
    ErrorRow("DATABASE_BUSY", "error.database_busy", None, "another program held the database; nothing changed"),
    ErrorRow("DATABASE_FAILED", "error.database_failed", None, "a database write failed; nothing changed"),
    ErrorRow("LOGIN_QUEUE_FULL", "error.login_queue_full", None, "too many logins waiting to be checked"),
)
_ROWS: dict[str, ErrorRow] = {row.name: row for row in ERROR_TABLE}


class _CodeLookup(type):
    """``ErrorCode.NAME`` reads the table's row at each use (nothing is frozen at import)."""

    def __getattr__(cls, name: str) -> int:
        row = _ROWS.get(name)
        if row is None:
            raise AttributeError(f"ErrorCode has no row {name!r}: the names are {', '.join(_ROWS)}")
        return row.code

    def __dir__(cls) -> list[str]:
        return sorted(_ROWS)


class ErrorCode(metaclass=_CodeLookup):
    """Named error codes, read from :data:`ERROR_TABLE` at each use. Use these names, never bare numbers."""


class ApiError(Exception):
    """Raised by the server's rules; becomes an error envelope in exactly one place.

    ``message`` is shown to the client and must say what went wrong and what to do next.
    """

    def __init__(self, code: int, message: str) -> None:
        message = fit_message(message)
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ApiError(code={self.code!r}, message={self.message!r})"

    # Small constructors keep call sites short and the wording consistent.

    @classmethod
    def missing(cls, prop: str, what_to_do: str = "") -> ApiError:
        hint = what_to_do or f'add "{prop}" to the request and send it again'
        return cls(ErrorCode.MISSING_PROPERTY, f'The required property "{prop}" is missing: {hint}.')

    @classmethod
    def invalid(cls, prop: str, given: str, allowed: str) -> ApiError:
        return cls(ErrorCode.INVALID_VALUE, f'"{prop}" cannot be {given}: {allowed}.')

    @classmethod
    def too_long(cls, prop: str, size: int, limit: int) -> ApiError:
        return cls(
            ErrorCode.TOO_LONG,
            f'"{prop}" is {size} bytes long, over its limit of {limit} bytes: send a shorter value.',
        )
