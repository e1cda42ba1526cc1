"""The Host/Origin rule: requests from web pages are refused (HTTP and WebSocket alike).

A page in the learner's browser can send requests to a server on 127.0.0.1, and through DNS
rebinding even read the answers. :func:`foreign_request` says why a request must be refused;
both transports apply it, and only it (see ``app.py``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tornado import httputil

from .._hosts import host_header_is_loopback, is_loopback, origin_host

__all__ = ["foreign_request", "refusal_message"]


def foreign_request(headers: httputil.HTTPHeaders, loopback_only: bool) -> str | None:
    """Why a request must be refused as coming from a web page, or None.

    A page in the learner's browser can POST to a server on 127.0.0.1 (and, through DNS
    rebinding, read the answers). Browsers always name the page's origin in ``Origin`` and the
    name they resolved in ``Host``; programs (httpx, curl, FairCom's clients) send no ``Origin``.
    So: an ``Origin`` of another machine's site is refused (pages served from this computer,
    JupyterLab's for one, are not), and a loopback-only server refuses a ``Host`` that is not a
    loopback name. "Loopback" is :func:`tutorial_kit._hosts.is_loopback`: parsed, never a prefix.
    HTTP and the WebSocket handshake both apply this rule, and only this one.
    """
    host = headers.get("Host", "")
    if loopback_only and host and not host_header_is_loopback(host):  # no Host: HTTP/1.0, never a browser
        return f'the Host header names "{_shown(host)}", not this computer'
    origin = headers.get("Origin")
    if origin is not None and not is_loopback(origin_host(origin)) and not _same_origin(origin, host):
        return f"it comes from the web page {_shown(origin)}"
    return None


def _same_origin(origin: str, host: str) -> bool:
    try:
        return bool(host) and urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


def _shown(value: str) -> str:
    """A header value as quoted in a message: short, printable."""
    text = value if len(value) <= 40 else value[:37] + "..."
    return text.encode("ascii", "backslashreplace").decode().replace('"', "'")


def refusal_message(reason: str) -> str:
    """The 403 envelope's message (at most about 220 bytes: the values quoted are shortened)."""
    return (f"This server refused the request because {reason}. It answers programs on this computer, "
            "not web pages: send it from Python, curl or a notebook.")
