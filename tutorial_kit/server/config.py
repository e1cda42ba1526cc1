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
from .listeners import Listener, ListenerProblem, read_listeners
from .settings import RESPONSE_OPTIONS, SESSION_SETTINGS
from .values import MAX_INT, BadValue, coerce_bool, coerce_choice, coerce_int

__all__ = [
    "RunningConfig",
    "DEFAULT_SERVICES",
    "SEED_DEFAULTS",
    "load_config",
    "parse_services_text",
    "write_default_file",
]

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
            "tls": {"certificateFilename": "./web/fccert.pem"},
        },
    ],
    "apiRoot": "./api",
    "jsonActionApiDefaults": SEED_DEFAULTS,
}

_TEXT_CHOICES = {  # jsonActionApiDefaults that are not session settings
    "defaultRetentionPolicy": ("autoPurge", "neverPurge"),
    "defaultRetentionUnit": ("minute", "hour", "day", "week", "month", "year"),
}
_INT_RANGES = {
    "defaultRetentionPeriod": (1, MAX_INT),
    "maxJsonApiSessions": (1, MAX_INT),
    "maxJsonApiSessionsPerIpAddress": (1, MAX_INT),
    "maxJsonApiSessionsPerUsername": (1, MAX_INT),
}
_KIT_TOP = ("listeners", "apiRoot", "jsonActionApiDefaults")
#: sections of a real FairCom services.json the kit keeps without using (sources: fact.services_file);
#: any other object or array that is not a misspelling of the kit's keys is treated the same way
_FAIRCOM_TOP = ("apis", "applicationRoot", "applications", "mqtt")


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
        """The listener the kit serves for ``protocol`` ("http" or "https"), if any."""
        return next((item for item in self.listeners if item.protocol == protocol and item.served), None)


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
        raise ConfigFileError(
            f"{path}: the file is not UTF-8 text ({err.reason}); save it as UTF-8.", path=str(path)
        ) from None
    except NotRegularFileError as err:
        raise ConfigFileError(
            f"{path}: {err.strerror}. Put the services.json file there (or delete the path, and "
            "the server writes a fresh one when it starts).",
            path=str(path),
        ) from None
    except OSError as err:
        raise ConfigFileError(f"{path}: cannot read the file ({err.strerror}).", path=str(path)) from None
    parsed = parse_services_text(path, text, "Fix the file, then start the server again.")
    warnings = [f"{path}: the key \"{key}\" appears twice; the last one is used" for key in parsed.duplicate_keys]
    return _check(path, parsed.value, warnings)


def _fail(path: Path, prop: str, problem: str) -> ConfigFileError:
    return ConfigFileError(
        f"{path}: {prop} {problem}. Fix the file, then start the server again.", path=str(path), property_path=prop
    )


def _close(key: str, names: tuple[str, ...] | list[str]) -> str:
    import difflib  # here: only a file with an unknown key needs it

    found = difflib.get_close_matches(key, list(names), n=1, cutoff=0.8)
    return f' (did you mean "{found[0]}"?)' if found else ""


def _check(path: Path, data: Any, warnings: list[str]) -> RunningConfig:
    if not isinstance(data, dict):
        raise _fail(path, "the top level", "must be a JSON object ({...})")
    notes: list[str] = []  # a string taken as a number or boolean
    unused: list[str] = []  # FairCom sections the kit keeps but does not use
    for key, value in data.items():
        if key in _KIT_TOP:
            continue
        hint = _close(key, _KIT_TOP)
        if hint or (key not in _FAIRCOM_TOP and not isinstance(value, (dict, list))):
            warnings.append(f'{path}: unknown property "{key}" is ignored{hint}')
        else:
            unused.append(f'"{key}"')
    try:
        listeners = read_listeners(data.get("listeners", DEFAULT_SERVICES["listeners"]), path.parent.parent,
                                   warnings, notes.append)
    except ListenerProblem as err:
        raise _fail(path, err.where, err.problem) from None
    api_root = data.get("apiRoot", "./api")
    if not isinstance(api_root, str):
        raise _fail(path, "apiRoot", "must be a string")
    defaults = data.get("jsonActionApiDefaults", {})
    if not isinstance(defaults, dict):
        raise _fail(path, "jsonActionApiDefaults", "must be an object ({...})")
    defaults = _check_defaults(path, defaults, warnings, notes)
    warnings += [f"{path}: {note}" for note in notes]
    not_served = [f"listener {item.service_name} ({item.why_not})" for item in listeners
                  if item.enabled and not item.served] + unused
    if not_served:
        warnings.append(f"{path}: kept in the file but not served by this kit: " + "; ".join(not_served))
    for message in warnings:
        log.warning("%s", message)
    return RunningConfig(str(path), tuple(listeners), api_root, defaults, tuple(warnings))


def _check_default(where: str, key: str, value: Any, notes: list[str]) -> Any:
    """One jsonActionApiDefaults value, checked (a string "4" or "true" is taken, noted in ``notes``)."""
    if key in SESSION_SETTINGS or key in _TEXT_CHOICES:
        kind, rule = SESSION_SETTINGS.get(key, ("choice", _TEXT_CHOICES.get(key)))
        if kind == "choice":
            return coerce_choice(value, rule)
        if kind == "string":
            low, high = rule
            if not isinstance(value, str) or not low <= len(value.encode()) <= high:
                raise BadValue(json.dumps(value)[:60], f"it must be a string of {low} to {high} bytes")
            return value
        if kind == "int":
            low, high = rule
            return coerce_int(value, where, low, high, notes.append)
        return _check_response_options(where, value, notes)
    if key in _INT_RANGES:
        return coerce_int(value, where, *_INT_RANGES[key], notes.append)
    return coerce_bool(value, where, notes.append)  # enablePermanentJsonApiSessions


def _check_defaults(path: Path, defaults: dict[str, Any], warnings: list[str], notes: list[str]) -> dict[str, Any]:
    """The running jsonActionApiDefaults: the file's known values, checked; unknown ones warned about."""
    known = [*SESSION_SETTINGS, *_TEXT_CHOICES, *_INT_RANGES, "enablePermanentJsonApiSessions"]
    out: dict[str, Any] = {}
    for key, value in defaults.items():
        where = f"jsonActionApiDefaults.{key}"
        if key not in known or key == "description":
            warnings.append(f'{path}: unknown property "{where}" is ignored{_close(key, known)}')
            out[key] = copy.deepcopy(value)
            continue
        try:
            out[key] = _check_default(where, key, value, notes)
        except _OptionProblem as bad:
            raise _fail(path, bad.where, f"cannot be {bad.given}: {bad.allowed}") from None
        except BadValue as bad:
            raise _fail(path, where, f"cannot be {bad.given}: {bad.allowed}") from None
    return out


def _check_response_options(where: str, value: Any, notes: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadValue(json.dumps(value)[:60], "it must be an object")
    out = {}
    for key, item in value.items():
        if key not in RESPONSE_OPTIONS:
            notes.append(f'unknown property "{where}.{key}" is ignored')
            continue
        allowed = RESPONSE_OPTIONS[key]
        try:
            out[key] = (
                coerce_bool(item, f"{where}.{key}", notes.append) if allowed is None else coerce_choice(item, allowed)
            )
        except BadValue as bad:
            raise _OptionProblem(f"{where}.{key}", bad.given, bad.allowed) from None
    return out


class _OptionProblem(BadValue):
    """A bad value inside defaultResponseOptions, with its own property path."""

    def __init__(self, where: str, given: str, allowed: str) -> None:
        super().__init__(given, allowed)
        self.where = where
