"""services.json: the file a first start writes, and the checked configuration a start reads.

The server reads the file once, at start (and so at restart). What it read is a
:class:`RunningConfig`; editing the file afterwards changes nothing until the next start, just as
on a real FairCom server. A broken file stops the start with a :class:`ConfigFileError` that names
the file, the line and column (invalid JSON) or the property path (a wrong value).
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._exceptions import ConfigFileError
from .._files import NotRegularFileError, read_regular_file, replace_file
from .jsontext import JsonTextError, ParsedJson, parse_json
from .kit_choices import choice

__all__ = ["RunningConfig", "DEFAULT_SERVICES", "SEED_DEFAULTS", "load_config", "parse_services_text", "write_default_file"]

log = logging.getLogger(__name__)

#: The seed tutorial's jsonActionApiDefaults, without enablePermanentJsonApiSessions (off).
SEED_DEFAULTS: dict[str, Any] = {
    "defaultApi": "hub",
    "defaultBinaryFormat": "hex",
    "defaultDatabaseName": "faircom",
    "defaultDebug": "max",
    "defaultOwnerName": "admin",
    "defaultResponseOptions": {"binaryFormat": "hex", "dataFormat": "objects", "numberFormat": "number"},
    "idleConnectionTimeoutSeconds": 3600,
    "idleCursorTimeoutSeconds": 600,
    "defaultRetentionPolicy": "autoPurge",
    "defaultRetentionUnit": "week",
    "defaultRetentionPeriod": 4,
    "maxJsonApiSessions": 1024,
    "maxJsonApiSessionsPerIpAddress": 50,
    "maxJsonApiSessionsPerUsername": 50,
}

DEFAULT_SERVICES: dict[str, Any] = {
    "listeners": [
        {
            "serviceName": "http8080",
            "description": "HTTP port for the jsonAction APIs",
            "port": 8080,
            "protocol": "http",
            "enabled": True,
        },
        {
            "serviceName": "https8443",
            "description": "HTTPS port for the jsonAction APIs (needs a certificate)",
            "port": 8443,
            "protocol": "https",
            "enabled": False,
            "tls": {"serverCertificateFilename": "./web/fccert.pem"},
        },
    ],
    "apiRoot": "./api",
    "jsonActionApiDefaults": SEED_DEFAULTS,
}

_MAX_INT = 2_147_483_647
_STRING_CHOICES = {
    "defaultApi": ("admin", "db", "hub", "mq", "transform"),
    "defaultBinaryFormat": ("base64", "hex", "byteArray"),
    "defaultDebug": ("none", "max"),
    "defaultVariantFormat": ("json", "binary", "string", "variantObject"),
    "defaultRetentionPolicy": ("autoPurge", "neverPurge"),
    "defaultRetentionUnit": ("minute", "hour", "day", "week", "month", "year"),
}
_FREE_STRINGS = ("defaultDatabaseName", "defaultOwnerName")
_INT_RANGES = {
    "idleConnectionTimeoutSeconds": (0, _MAX_INT),
    "idleCursorTimeoutSeconds": (0, _MAX_INT),
    "defaultRetentionPeriod": (1, _MAX_INT),
    "maxJsonApiSessions": (1, _MAX_INT),
    "maxJsonApiSessionsPerIpAddress": (1, _MAX_INT),
    "maxJsonApiSessionsPerUsername": (1, _MAX_INT),
}
_RESPONSE_OPTIONS = {
    "binaryFormat": ("base64", "hex", "byteArray"),
    "dataFormat": ("default", "arrays", "objects"),
    "numberFormat": ("number", "string"),
    "variantFormat": ("json", "binary", "string", "variantObject"),
}


@dataclass(frozen=True)
class Listener:
    """One enabled or disabled listener from services.json."""

    service_name: str
    port: int
    protocol: str
    enabled: bool
    certificate_file: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class RunningConfig:
    """The configuration a server started with. Never changes while the server runs."""

    path: str
    listeners: tuple[Listener, ...]
    api_root: str
    defaults: dict[str, Any]  # jsonActionApiDefaults as written, for listServices
    warnings: tuple[str, ...]

    def default(self, name: str) -> Any:
        """The running default for ``name``: the file's value, else the seed's value."""
        if name in self.defaults:
            return self.defaults[name]
        return SEED_DEFAULTS.get(name)

    @property
    def permanent_sessions_enabled(self) -> bool:
        return self.defaults.get("enablePermanentJsonApiSessions") is True

    def listener(self, protocol: str) -> Listener | None:
        """The first enabled listener for ``protocol`` ("http" or "https")."""
        return next((item for item in self.listeners if item.protocol == protocol and item.enabled), None)


def write_default_file(path: Path) -> None:
    """Write the first-start services.json (atomically; the flag is left out, so it is off)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, json.dumps(DEFAULT_SERVICES, indent=2) + "\n", mode=0o644)


def parse_services_text(path: Path, text: str, what_to_do: str) -> ParsedJson:
    """Parse a services.json text; an empty or invalid one becomes a located ConfigFileError."""
    if not text.strip():
        raise ConfigFileError(
            f"{path}: the file is empty. Delete it and the server writes a fresh one when it starts, "
            "or write the JSON object the server expects.", path=str(path), line=1, column=1)
    try:
        return parse_json(text)
    except JsonTextError as err:
        raise ConfigFileError(f"{path}: {err.message}. {what_to_do}", path=str(path),
                              line=err.line, column=err.column) from None


def load_config(path: Path) -> RunningConfig:
    """Read and check ``path``, writing the default file first if it does not exist."""
    if not path.exists():
        write_default_file(path)
        log.info("wrote a fresh %s (enablePermanentJsonApiSessions is off)", path)
    try:
        # a BOM (Windows editors) is dropped, as servicesfile does; a FIFO or a device is refused
        text = read_regular_file(path, choice("services_json_max_bytes")).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigFileError(f"{path}: the file is not UTF-8 text ({err.reason}); save it as UTF-8.", path=str(path)) from None
    except NotRegularFileError as err:
        raise ConfigFileError(f"{path}: {err.strerror}. Put the services.json file there (or delete the path, and "
                              "the server writes a fresh one when it starts).", path=str(path)) from None
    except OSError as err:
        raise ConfigFileError(f"{path}: cannot read the file ({err.strerror}).", path=str(path)) from None
    parsed = parse_services_text(path, text, "Fix the file, then start the server again.")
    warnings = [f"{path}: the key \"{key}\" appears twice; the last one is used" for key in parsed.duplicate_keys]
    return _check(path, parsed.value, warnings)


def _fail(path: Path, prop: str, problem: str) -> ConfigFileError:
    return ConfigFileError(f"{path}: {prop} {problem}. Fix the file, then start the server again.", path=str(path), property_path=prop)


def _check(path: Path, data: Any, warnings: list[str]) -> RunningConfig:
    if not isinstance(data, dict):
        raise _fail(path, "the top level", "must be a JSON object ({...})")
    known_top = {"listeners", "apiRoot", "jsonActionApiDefaults"}
    warnings += [f'{path}: unknown property "{key}" is ignored' for key in data if key not in known_top]
    listeners = _check_listeners(path, data.get("listeners", DEFAULT_SERVICES["listeners"]), warnings)
    api_root = data.get("apiRoot", "./api")
    if not isinstance(api_root, str):
        raise _fail(path, "apiRoot", "must be a string")
    defaults = data.get("jsonActionApiDefaults", {})
    if not isinstance(defaults, dict):
        raise _fail(path, "jsonActionApiDefaults", "must be an object ({...})")
    warnings += _check_defaults(path, defaults)
    for message in warnings:
        log.warning("%s", message)
    return RunningConfig(str(path), tuple(listeners), api_root, copy.deepcopy(defaults), tuple(warnings))


_LISTENER_KEYS = ("serviceName", "description", "port", "protocol", "enabled", "tls")


def _check_listeners(path: Path, items: Any, warnings: list[str]) -> list[Listener]:
    if not isinstance(items, list):
        raise _fail(path, "listeners", "must be an array of listener objects")
    out = []
    for index, item in enumerate(items):
        where = f"listeners[{index}]"
        if not isinstance(item, dict):
            raise _fail(path, where, "must be an object")
        warnings += [f'{path}: unknown property "{where}.{key}" is ignored' for key in item if key not in _LISTENER_KEYS]
        name = item.get("serviceName", f"listener{index}")
        port = item.get("port")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise _fail(path, f"{where}.port", f"must be an integer from 0 to 65535, not {json.dumps(port)}")
        protocol = item.get("protocol", "http")
        if protocol not in ("http", "https"):
            raise _fail(path, f"{where}.protocol", f'must be "http" or "https", not {json.dumps(protocol)}')
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise _fail(path, f"{where}.enabled", f"must be true or false (no quotes), not {json.dumps(enabled)}")
        cert = None
        if protocol == "https":
            tls = item.get("tls", {})
            cert = tls.get("serverCertificateFilename") if isinstance(tls, dict) else None
            if isinstance(tls, dict):
                warnings += [f'{path}: unknown property "{where}.tls.{key}" is ignored'
                             for key in tls if key != "serverCertificateFilename"]
            if enabled and not isinstance(cert, str):
                raise _fail(path, f"{where}.tls.serverCertificateFilename", "must name the PEM file (certificate and key)")
        out.append(Listener(str(name), port, protocol, enabled, cert, item))
    return out


def _check_defaults(path: Path, defaults: dict[str, Any]) -> list[str]:
    warnings = []
    for key, value in defaults.items():
        where = f"jsonActionApiDefaults.{key}"
        if key in _STRING_CHOICES:
            if value not in _STRING_CHOICES[key]:
                allowed = ", ".join(f'"{v}"' for v in _STRING_CHOICES[key])
                raise _fail(path, where, f"must be one of {allowed}, not {json.dumps(value)}")
        elif key in _FREE_STRINGS:
            if not isinstance(value, str) or not 1 <= len(value.encode()) <= 64:
                raise _fail(path, where, f"must be a string of 1 to 64 bytes, not {json.dumps(value)}")
        elif key in _INT_RANGES:
            low, high = _INT_RANGES[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise _fail(path, where, f"must be an integer from {low} to {high}, not {json.dumps(value)}")
        elif key == "enablePermanentJsonApiSessions":
            if not isinstance(value, bool):
                raise _fail(path, where, f"must be true or false without quotes, not {json.dumps(value)}")
        elif key == "defaultResponseOptions":
            warnings += _check_response_options(path, where, value)
        else:
            warnings.append(f'{path}: unknown property "{where}" is ignored')
    return warnings


def _check_response_options(path: Path, where: str, value: Any) -> list[str]:
    if not isinstance(value, dict):
        raise _fail(path, where, "must be an object")
    warnings = []
    for key, item in value.items():
        allowed = _RESPONSE_OPTIONS.get(key)
        if allowed is None:
            warnings.append(f'{path}: unknown property "{where}.{key}" is ignored')
        elif item not in allowed:
            names = ", ".join(f'"{v}"' for v in allowed)
            raise _fail(path, f"{where}.{key}", f"must be one of {names}, not {json.dumps(item)}")
    return warnings
