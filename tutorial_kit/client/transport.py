"""From httpx's transport failures to the kit's exception tree, and TLS settings for httpx."""

from __future__ import annotations

import socket
import ssl
from os import PathLike

import httpx

from .._exceptions import KitTimeoutError, KitTLSError, KitTransportError, KitUsageError, ServerNotRunningError
from .._hosts import is_loopback  # the kit's one loopback rule (no proxy is used for these)

__all__ = ["is_loopback", "ssl_context", "transport_error"]

_START_HINT = ("start it with `tutorial-kit serve`, or in a lesson run its first cell again "
               "(or `lesson.server.start()`)")


def ssl_context(verify: bool | str | PathLike[str] | ssl.SSLContext) -> bool | ssl.SSLContext:
    """Turn ``verify`` into what httpx takes: a CA file path becomes an SSLContext."""
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    try:
        return ssl.create_default_context(cafile=str(verify))
    except (OSError, ssl.SSLError) as exc:
        raise KitUsageError(f"verify={str(verify)!r} is not a readable CA file (PEM): {exc}") from exc


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """True when ``exc`` or an exception in its cause/context chain is a ``kind``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _caused_by_ssl(exc: BaseException) -> bool:
    """True when a connect failure came from TLS (a certificate, a handshake)."""
    text = str(exc)
    return _caused_by(exc, ssl.SSLError) or "SSL" in text or "CERTIFICATE" in text.upper()


def transport_error(exc: httpx.TransportError, url: str) -> KitTransportError:
    """Translate an httpx transport failure into the kit's exception tree, with what to do."""
    if isinstance(exc, httpx.TimeoutException):
        return KitTimeoutError(
            f"{url} did not answer in time ({type(exc).__name__}); the server may be busy or stuck. "
            "Check that it runs, or pass a larger timeout= to KitClient.",
            url=url,
        )
    if isinstance(exc, httpx.ConnectError) and _caused_by_ssl(exc):
        return KitTLSError(
            f"TLS with {url} failed: {exc}. For a server with a self-signed test certificate pass "
            "verify='path/to/ca.pem' (its CA file) or, for a local test server only, verify=False. "
            "If the server speaks plain HTTP, use an http:// URL.",
            url=url,
        )
    if isinstance(exc, httpx.ConnectError):
        where = "its host name cannot be resolved" if _caused_by(exc, socket.gaierror) else "nothing is listening"
        return ServerNotRunningError(
            f"No server answers at {url} ({where}). Is the server running? If not, {_START_HINT}.",
            url=url,
        )
    return KitTransportError(
        f"The request to {url} got no jsonAction answer ({type(exc).__name__}: {exc}). "
        "Is this the URL of a jsonAction server (http:// vs https://)?",
        url=url,
    )
