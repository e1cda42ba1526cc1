"""Which host names are this computer: the one loopback rule of the kit (server and helper).

A loopback host is an IP literal in ``127.0.0.0/8``, the IPv6 address ``::1``, or the name
``localhost``; nothing else. A name that merely starts with ``127.`` (``127.evil.example``) is
a name like any other: DNS can point it anywhere. Names are parsed, never matched by prefix.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback", "host_header_is_loopback", "origin_host"]

_V4_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_V6_LOOPBACK = ipaddress.IPv6Address("::1")


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, an address in 127.0.0.0/8 and ``::1`` (brackets allowed: ``[::1]``)."""
    if not host:
        return False
    name = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if name.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in _V4_LOOPBACK
    return address == _V6_LOOPBACK and address.scope_id is None


def host_header_is_loopback(value: str) -> bool:
    """True if an HTTP ``Host`` header (``name``, ``name:port``, ``[v6]:port``) names this computer."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1:]
        if end < 0 or (rest and not _is_port(rest)):
            return False
        return is_loopback(value[:end + 1])
    name, colon, port = value.rpartition(":")
    if not colon:
        return is_loopback(value)
    if ":" in name or not _is_port(":" + port):  # an unbracketed IPv6 address is not a Host value
        return False
    return is_loopback(name)


def _is_port(text: str) -> bool:
    """``":8080"``-style suffix: a colon and 1-5 ASCII digits."""
    digits = text[1:]
    return text.startswith(":") and 0 < len(digits) <= 5 and digits.isascii() and digits.isdigit()


def origin_host(origin: str) -> str | None:
    """The host name of an ``Origin`` header (``scheme://host[:port]``), or None if it has none."""
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return parts.hostname
