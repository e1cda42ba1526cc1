"""The ``listeners`` of services.json: which the kit serves, and which it keeps without serving.

A real FairCom services.json lists MQTT, WebSocket and other listeners besides http8080 and
https8443 (sources: ``action.listServices``, ``fact.services_file``). The kit serves the first
enabled listener of each protocol it knows (``http``, ``https``); every other listener is kept as
written, shown by listServices with ``"enabled": false``, and named in the one warning at start.
An https listener whose certificate file does not exist is not served either, as long as another
listener is (kit's choice ``https_without_certificate_file``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .kit_choices import choice
from .values import BadValue, Warn, coerce_bool, coerce_int

__all__ = ["Listener", "ListenerProblem", "read_listeners", "CERTIFICATE_KEYS"]

_KEYS = ("serviceName", "description", "port", "protocol", "enabled", "tls")
#: FairCom's name for the certificate file first (fact.listener_tls), then the contract's
CERTIFICATE_KEYS = ("certificateFilename", "serverCertificateFilename")


class ListenerProblem(Exception):
    """A listener the kit cannot read: ``where`` is its property path, ``problem`` what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where} {problem}")
        self.where = where
        self.problem = problem


@dataclass(frozen=True)
class Listener:
    """One listener from services.json. ``served``: the kit listens on it; ``why_not``: else why."""

    index: int
    service_name: str
    port: int
    protocol: str
    enabled: bool
    certificate_file: str | None
    certificate_key: str
    raw: dict[str, Any] = field(repr=False)
    served: bool = False
    why_not: str = ""


def _certificate(where: str, item: dict[str, Any], warnings: list[str]) -> tuple[str | None, str]:
    tls = item.get("tls", {})
    if not isinstance(tls, dict):
        raise ListenerProblem(f"{where}.tls", "must be an object")
    key = next((k for k in CERTIFICATE_KEYS if k in tls), CERTIFICATE_KEYS[0])
    warnings.extend(f'unknown property "{where}.tls.{k}" is ignored' for k in tls
                    if k not in CERTIFICATE_KEYS and item.get("protocol") == "https")
    cert = tls.get(key)
    return (cert if isinstance(cert, str) else None), key


def _one(index: int, item: Any, warnings: list[str], warn: Warn) -> Listener:
    where = f"listeners[{index}]"
    if not isinstance(item, dict):
        raise ListenerProblem(where, "must be an object")
    protocol = item.get("protocol", "http")
    if not isinstance(protocol, str) or not protocol:
        raise ListenerProblem(f"{where}.protocol", f'must be a string such as "http", not {json.dumps(protocol)}')
    if protocol in choice("served_protocols"):
        warnings.extend(f'unknown property "{where}.{key}" is ignored' for key in item if key not in _KEYS)
    try:
        port = coerce_int(item.get("port"), f"{where}.port", 0, 65535, warn)
    except BadValue as bad:
        raise ListenerProblem(f"{where}.port", f"must be an integer from 0 to 65535, not {bad.given}") from None
    try:
        enabled = coerce_bool(item.get("enabled", True), f"{where}.enabled", warn)
    except BadValue as bad:
        raise ListenerProblem(f"{where}.enabled", f"must be true or false (no quotes), not {bad.given}") from None
    cert, key = _certificate(where, item, warnings) if protocol == "https" else (None, CERTIFICATE_KEYS[0])
    if protocol == "https" and enabled and cert is None:
        raise ListenerProblem(f"{where}.tls.{key}", "must name the PEM file (certificate and key)")
    name = item.get("serviceName", f"listener{index}")
    return Listener(index, str(name), port, protocol, enabled, cert, key, item)


def _decide(listeners: list[Listener], home: Path) -> list[Listener]:
    """Mark the listeners the kit serves; say why it does not serve the others."""
    out, taken = [], set()
    for item in listeners:
        why = ""
        if not item.enabled:
            why = "disabled in the file"
        elif item.protocol not in choice("served_protocols"):
            why = f'the kit does not speak "{item.protocol}"'
        elif item.protocol in taken:
            why = f"the kit serves one {item.protocol} listener (the first enabled one)"
        elif item.protocol == "https" and not (home / (item.certificate_file or "")).is_file():
            why = f"its certificate file {item.certificate_file} does not exist"
        out.append(Listener(**{**item.__dict__, "served": not why, "why_not": why}))
        if not why:
            taken.add(item.protocol)
    served = [item for item in out if item.served]
    missing_cert = [item for item in out if item.why_not.startswith("its certificate file")]
    if not served and missing_cert:  # nothing else to serve: the certificate problem is the error
        first = missing_cert[0]
        return [Listener(**{**item.__dict__, "served": item is first, "why_not": "" if item is first else item.why_not})
                for item in out]
    return out


def read_listeners(items: Any, home: Path, warnings: list[str], warn: Warn) -> list[Listener]:
    """Read ``listeners``; ``warnings`` gets unknown keys, ``warn`` the strings taken as numbers."""
    if not isinstance(items, list):
        raise ListenerProblem("listeners", "must be an array of listener objects")
    return _decide([_one(index, item, warnings, warn) for index, item in enumerate(items)], home)
