"""The kit's one exception tree.

::

    KitError                      anything the kit raises on purpose
    ├── ConfigFileError           services.json cannot be read (file, line, column, what to do)
    ├── DataFileError             the server's database is damaged, empty or held by another program
    ├── ServerControlError        the managed background server could not be started/stopped
    │   ├── RemoteServerError     a control step that only the remote server's owner can do
    │   └── HomeInUseError        another server already runs for this server home
    ├── KitTransportError         the request never got a jsonAction answer
    │   ├── ServerNotRunningError nothing listens at the URL
    │   ├── KitTLSError           the TLS handshake or certificate check failed
    │   ├── KitTimeoutError       the server did not answer in time
    │   └── NotJsonActionError    something answered, but not with a jsonAction envelope
    ├── JsonActionError           the server answered with a non-zero errorCode
    ├── LiteSiteError             the JupyterLite site could not be built, or a page of it driven
    └── KitUsageError(ValueError) the kit was called the wrong way (a bad argument, bad JSON
                                  in a cell): a learner's or programmer's mistake

Server-side protocol errors (``tutorial_kit.server.errors.ApiError``) never leave the server:
they become envelopes. ``JsonActionError`` is their mirror image on the client side.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "KitError",
    "ConfigFileError",
    "DataFileError",
    "ServerControlError",
    "RemoteServerError",
    "HomeInUseError",
    "KitTransportError",
    "ServerNotRunningError",
    "KitTLSError",
    "KitTimeoutError",
    "NotJsonActionError",
    "JsonActionError",
    "LiteSiteError",
    "KitUsageError",
]


class KitError(Exception):
    """Raised for every failure the kit reports on purpose."""


class ConfigFileError(KitError):
    """Raised when services.json is not valid JSON or has a wrong value; the server does not start.

    ``path``, ``line`` and ``column`` (1-based) locate the problem when it has a place in the text;
    ``property_path`` names the setting when the JSON is valid but a value is wrong.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        property_path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.property_path = property_path

    def __repr__(self) -> str:
        return (
            f"ConfigFileError({self.message!r}, path={self.path!r}, line={self.line!r}, "
            f"column={self.column!r}, property_path={self.property_path!r})"
        )


class DataFileError(KitError):
    """Raised when the server's database (``data/kit.sqlite3``) cannot be used; the server does not start.

    The file is never changed or replaced: the message names it and says what to do (restore it,
    or move it aside to start a fresh server). ``path`` is the file.
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class ServerControlError(KitError):
    """Raised when the managed background server cannot be started, stopped or found."""


class RemoteServerError(ServerControlError):
    """Raised when a control step (edit the file, restart) must be done on a remote server by hand."""


class HomeInUseError(ServerControlError):
    """Raised when a server home already has its server (one server per home, whoever started it).

    ``pid`` and ``url`` name the running server when its run record says so (None while it starts).
    """

    def __init__(self, message: str, *, home: str, pid: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.home = home
        self.pid = pid
        self.url = url


class KitTransportError(KitError):
    """Raised when a request got no jsonAction answer at all."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ServerNotRunningError(KitTransportError):
    """Raised when nothing listens at the server's URL."""


class KitTLSError(KitTransportError):
    """Raised when the TLS handshake or the certificate check fails."""


class KitTimeoutError(KitTransportError):
    """Raised when the server does not answer within the client's timeout."""


class NotJsonActionError(KitTransportError):
    """Raised when the server answers with something that is not a jsonAction envelope."""


class JsonActionError(KitError):
    """Raised when a jsonAction response has a non-zero errorCode (and raising was asked for)."""

    def __init__(self, message: str, *, error_code: int, error_message: str, response: Any = None) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.error_message = error_message
        self.response = response

    def __repr__(self) -> str:
        return f"JsonActionError(error_code={self.error_code!r}, error_message={self.error_message!r})"


class LiteSiteError(KitError):
    """Raised by ``make lite`` (a missing tool, a failed download) and by its browser driver."""


class KitUsageError(KitError, ValueError):
    """Raised when the kit is called the wrong way: a bad argument, or a cell that is not JSON."""
