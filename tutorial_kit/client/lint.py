"""Check a jsonAction request before it is sent, and explain what looks wrong.

:func:`lint_request` reads the request's TEXT when it has it (so that a key written twice is seen:
a JSON parser keeps only the last one, silently) or a dict. It never changes the request; it
returns :class:`LintWarning` objects whose messages say, in plain words, what the server will do
and what to write instead. It knows the admin actions of the kit's contract.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .._exceptions import KitUsageError
from ..server.errors import ErrorCode
from ..server.jsontext import JsonSpan, JsonTextError, parse_json, scan_json
from ..server.vocabulary import DEBUG_MODES, ENVELOPE_KEYS, SERVED_ACTIONS, TOKENLESS_ACTIONS, not_emulated
from .placeholders import CREDENTIAL_PLACEHOLDER, find_placeholders

__all__ = ["ADMIN_ACTIONS", "NOT_EMULATED", "LintWarning", "lint_request", "parse_request"]

#: the admin actions the kit's server answers (the protocol vocabulary's list)
ADMIN_ACTIONS = SERVED_ACTIONS
#: admin actions FairCom documents that the kit's server answers with UNKNOWN_ACTION
NOT_EMULATED = not_emulated()
_NO_TOKEN_NEEDED = frozenset(name.lower() for name in TOKENLESS_ACTIONS)
_TOP_LEVEL = ENVELOPE_KEYS
_TOLERATED = frozenset({"schema"})
_BOOLEANS = frozenset({"permanentSession", "includeBookmarks", "enablePermanentJsonApiSessions", "enabled"})
_INTEGERS = frozenset({"idleConnectionTimeoutSeconds", "idleCursorTimeoutSeconds", "lockoutAfterNFailedAttempts",
                       "lockoutWaitMinutes", "maxDaysBeforePasswordMustChange", "maxMinutesBeforeNextLogin",
                       "memoryLimit", "defaultRetentionPeriod", "maxJsonApiSessions", "maxJsonApiSessionsPerIpAddress",
                       "maxJsonApiSessionsPerUsername"})
#: a property name the kit's earlier account actions used -> FairCom's name for it, per action
_ACCOUNT_RENAMES = {("createaccount", "description"): "accountDescription",
                    ("alteraccount", "description"): "accountDescription",
                    ("dropaccounts", "username"): "usernames", ("describeaccounts", "username"): "usernames",
                    ("listaccounts", "usernames"): "partialNames"}
_DEBUG_VALUES = DEBUG_MODES

Path = tuple[Any, ...]


@dataclass(frozen=True)
class LintWarning:
    """One finding: a short ``code`` (e.g. ``duplicate-key``), a message, and its line (1-based)."""

    code: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def parse_request(text: str) -> dict[str, Any]:
    """Parse a request's JSON text; raise :class:`KitUsageError` with line and column if it is not JSON.

    A repeated key keeps its last value, as on the server. The request must be a JSON object.
    """
    try:
        value = parse_json(text).value
    except JsonTextError as exc:
        raise KitUsageError(f"The request is not valid JSON: {exc.message}") from None
    if not isinstance(value, dict):
        raise KitUsageError(f"A jsonAction request is one JSON object {{...}}, not a {type(value).__name__}.")
    return value


def _scan_keys(text: str) -> tuple[dict[Path, int], list[tuple[Path, str, int, int]]]:
    """Map each key path to its line, and list repeats as ``(object path, key, line, first line)``.

    ``text`` must be valid JSON (checked by the caller). A repeat's "first line" is that of the
    key's previous occurrence in the same object; repeats come in text order.
    """
    lines: dict[Path, int] = {}
    repeats: list[tuple[int, tuple[Path, str, int, int]]] = []  # (where the key stands, repeat)
    todo: list[tuple[Path, JsonSpan]] = [((), scan_json(text))]
    while todo:  # depth first, in text order: a later key of the same path wins, as in the parsed value
        path, span = todo.pop()
        seen: dict[str, int] = {}
        for member in span.members:
            line = text.count("\n", 0, member.key_start) + 1
            if member.key in seen:
                repeats.append((member.key_start, (path, member.key, line, seen[member.key])))
            seen[member.key] = lines[path + (member.key,)] = line
        children = [(path + (m.key,), m.value) for m in span.members]
        children += [(path + (index,), item) for index, item in enumerate(span.items)]
        todo.extend(reversed(children))
    return lines, [repeat for _, repeat in sorted(repeats, key=lambda r: r[0])]


def _line_of(lines: Mapping[Path, int], path: Path) -> int | None:
    """The line of ``path``'s key, or of its nearest enclosing key."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _name(path: Path) -> str:
    """A path as text: ``params.authTokens[0]``."""
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


def _walk(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Yield ``(path, value)`` for every property inside ``value``, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), item
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))


def _closest(word: str, choices: tuple[str, ...]) -> str | None:
    """The choice most like ``word`` (case-insensitive), or None when none is close."""
    lowered = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


class _Linter:
    """Collects warnings for one request; each check is one method."""

    def __init__(self, request: Mapping[str, Any], lines: Mapping[Path, int]) -> None:
        self.request, self.lines = request, lines
        self.warnings: list[LintWarning] = []
        action = request.get("action")
        self.action = action if isinstance(action, str) else None

    def add(self, code: str, message: str, path: Path = ()) -> None:
        """Record a warning located at ``path``'s line (when the source text is known)."""
        self.warnings.append(LintWarning(code, message, _line_of(self.lines, path)))

    def check_top_level(self) -> None:
        """Unknown top-level properties, a params that is not an object, a bad debug value."""
        for key in self.request:
            if key in _TOP_LEVEL or key in _TOLERATED:
                continue
            guess = _closest(key, _TOP_LEVEL)
            hint = f' Did you mean "{guess}"? Property names are case-sensitive.' if guess else ""
            self.add("unknown-property", f'"{key}" is not a property of a jsonAction request; '
                     f"the server ignores it.{hint}", (key,))
        params = self.request.get("params")
        if params is not None and not isinstance(params, dict):
            self.add("params-not-object", '"params" must be a JSON object {...} (or left out).', ("params",))
        debug = self.request.get("debug")
        allowed = {d.lower() for d in _DEBUG_VALUES}
        if debug is not None and (not isinstance(debug, str) or debug.lower() not in allowed):
            self.add("unknown-debug", f'"debug" is {json.dumps(debug)}; use one of '
                     f'{", ".join(map(json.dumps, _DEBUG_VALUES))}.', ("debug",))

    def check_api_and_action(self) -> bool:
        """Warn about the api and action; return True when the action is a known admin action."""
        api = self.request.get("api") or "admin"  # absent, null and "" are the default api
        if not (isinstance(api, str) and api.lower() == "admin"):
            self.add("unknown-api", f'"api" is {json.dumps(api)}, but this kit\'s server knows only "admin" '
                     "(a real FairCom server has more APIs; the checks below assume admin).", ("api",))
            return False
        if self.action is None:
            self.add("missing-action", 'The request has no "action" (a string such as "createSession"); '
                     "the server cannot tell what to do.", ("action",))
            return False
        if self.action.lower() in {a.lower() for a in ADMIN_ACTIONS}:
            return True
        documented = next((a for a in NOT_EMULATED if a.lower() == self.action.lower()), None)
        if documented:
            self.add("not-emulated", f'FairCom documents "{documented}", but this kit\'s server does not emulate it: '
                     f"it answers errorCode {ErrorCode.UNKNOWN_ACTION}. A real FairCom server runs it.", ("action",))
            return False
        guess = _closest(self.action, ADMIN_ACTIONS)
        hint = f' Did you mean "{guess}"?' if guess else f' The admin actions are: {", ".join(ADMIN_ACTIONS)}.'
        self.add("unknown-action", f'"{self.action}" is not an action of the admin API.{hint}', ("action",))
        return False

    def check_token(self) -> None:
        """A missing authToken for an action that needs one (or one put inside params)."""
        if self.action is None or self.action.lower() in _NO_TOKEN_NEEDED or self.request.get("authToken"):
            return
        params = self.request.get("params")
        if isinstance(params, dict) and "authToken" in params:
            self.add("auth-token-in-params", f'{self.action} needs "authToken" at the top level of the request, '
                     'not inside "params".', ("params", "authToken"))
            return
        self.add(
            "missing-auth-token",
            f'{self.action} needs an "authToken" (the token createSession returned) at '
            f"the top level; without it the server refuses the request (errorCode {ErrorCode.MISSING_PROPERTY}).",
            ("authToken",),
        )

    def check_credentials(self, repeats: list[tuple[Path, str, int, int]]) -> None:
        """createSession without a username or a password."""
        if self.action is None or self.action.lower() != "createsession":
            return
        params = self.request.get("params")
        params = params if isinstance(params, dict) else {}
        for key in ("username", "password"):
            if params.get(key) not in (None, ""):
                continue
            hint = ""
            if key == "password" and any(p == ("params",) and k == "username" for p, k, _, _ in repeats):
                hint = ' "username" is written twice; the second one was probably meant to be "password".'
            self.add(f"missing-{key}", f'createSession has no "{key}" in "params"; the server refuses it '
                     f"(errorCode {ErrorCode.MISSING_PROPERTY}).{hint}", ("params", key))

    def check_values(self) -> None:
        """Strings where booleans or numbers belong."""
        for path, value in _walk(self.request):
            key = path[-1]
            if key in _BOOLEANS and not isinstance(value, bool):
                if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                    literal = value.strip().lower()
                    self.add("string-boolean", f'"{key}" is the string "{value}"; write the JSON boolean '
                             f"{literal} without quotes. FairCom documents a boolean here; the kit's server "
                             "takes the string with a warning, another server may refuse it.", path)
                else:
                    self.add("not-boolean", f'"{key}" must be true or false, not {json.dumps(value)}.', path)
            elif key in _INTEGERS and isinstance(value, str) and value.strip().lstrip("-").isdigit():
                self.add("string-number", f'"{key}" is the string "{value}"; write the number {value.strip()} '
                         "without quotes. FairCom documents a number here; the kit's server takes the string with "
                         "a warning.", path)

    def check_accounts(self) -> None:
        """FairCom's account shapes: alterAccount names its account; the properties' FairCom names."""
        action = (self.action or "").lower()
        params = self.request.get("params")
        params = params if isinstance(params, dict) else {}
        if action == "alteraccount" and params.get("username") in (None, ""):
            self.add(
                "missing-username",
                'alterAccount needs "username" in "params": the account to change (your own '
                f"too); without it the server refuses the request (errorCode {ErrorCode.MISSING_PROPERTY}).",
                ("params",),
            )
        for key in params:
            better = _ACCOUNT_RENAMES.get((action, key))
            if better:
                self.add("account-property", f'{self.action} has no "{key}" property: FairCom calls it "{better}". '
                         "The server ignores it.", ("params", key))

    def check_placeholders(self) -> None:
        """Documentation placeholders left in the request."""
        for dotted, placeholder in find_placeholders(self.request):
            path = tuple(int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]", dotted) if p)
            if placeholder == CREDENTIAL_PLACEHOLDER:
                message = f'"{dotted}" is still "CHANGE", the stand-in of FairCom\'s examples; write the real value.'
            elif placeholder == "authTokenThatWasChecked":
                message = (f'"{dotted}" holds "{placeholder}", a value from a response example in FairCom\'s '
                           "tutorial; put a real token there.")
            else:
                message = (f'"{dotted}" still holds FairCom\'s placeholder "{placeholder}"; put a real token there '
                           "(fill_placeholders() or %%jsonaction --fill can do it from the client).")
            self.add("placeholder", message, path)


def lint_request(source: str | Mapping[str, Any], *, effective: Mapping[str, Any] | None = None) -> list[LintWarning]:
    """Return warnings about a request, in line order; never changes or fixes anything.

    ``source`` is the request's JSON text (line numbers and repeated keys can then be reported)
    or a dict. ``effective`` is the request as it will really be sent when that differs from the
    source (after filling placeholders or adding a token): the checks read it, line numbers still
    come from the source text. Text that is not JSON gives one ``invalid-json`` warning.
    """
    lines: dict[Path, int] = {}
    repeats: list[tuple[Path, str, int, int]] = []
    if isinstance(source, str):
        try:
            parse_json(source)
        except JsonTextError as exc:
            detail = re.sub(r"^line \d+, column \d+: ", "", exc.message)
            message = f"The request is not valid JSON (column {exc.column}): {detail}"
            return [LintWarning("invalid-json", message, exc.line)]
        try:
            parsed = parse_request(source)
        except KitUsageError as exc:
            return [LintWarning("not-an-object", str(exc), 1)]
        lines, repeats = _scan_keys(source)
    else:
        parsed = dict(source)
    linter = _Linter(parsed if effective is None else effective, lines)
    for path, key, line, first in repeats:
        where = f'"{_name(path)}"' if path else "the request"
        linter.warnings.append(LintWarning("duplicate-key", f'"{key}" appears twice in {where} (first on line '
                                           f"{first}); JSON keeps only the last one, so the first is lost.", line))
    linter.check_top_level()
    if linter.check_api_and_action():
        linter.check_token()
        linter.check_credentials(repeats)
        linter.check_accounts()
    linter.check_values()
    linter.check_placeholders()
    return sorted(linter.warnings, key=lambda w: (w.line is None, w.line or 0))
