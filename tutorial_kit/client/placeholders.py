"""Fill the placeholders of FairCom's documentation examples from a client's state, on request.

FairCom's example requests hold made-up values that a reader must replace before sending:

===========================================  ====================================================
placeholder                                  where FairCom's pages use it
===========================================  ====================================================
``replaceWithAuthTokenFromCreateSession``    most action pages: the token ``createSession`` gave
``replaceWithTheAuthTokensYouWantToCheck``   the permanent-session tutorial: ``authTokens`` to check
``authTokenThatWasChecked``                  the tutorial's *response* example (not a request value)
``replaceWithValidAuthtoken``                the ``alterSession`` page
``anAuthorizationTokenFromTheServer``        the ``listSessions`` and ``pingSession`` pages
``replaceWithAnotherValidAuthtoken``         an older ``describeSessions`` page: a second session to check
``CHANGE``                                   ``createSession``: ``username`` and ``password``
===========================================  ====================================================

:func:`fill_placeholders` replaces them explicitly (nothing is filled behind a learner's back) and
says what it did in a list of notes, tokens shortened and passwords masked. A token placeholder's
meaning comes from where it stands: the top-level ``authToken`` is the caller's token;
``params.authTokens`` lists the sessions to check.

:func:`fill_placeholders_text` does the same on the text of a request as FairCom printed it, for
examples that are not valid JSON or repeat a key: it replaces only the placeholder strings and
leaves every other character where it was.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ..server.vocabulary import is_password_key, mask_token, password_mask

if TYPE_CHECKING:
    from .kit_client import KitClient

__all__ = [
    "ALL_PLACEHOLDERS",
    "CREDENTIAL_PLACEHOLDER",
    "FillResult",
    "TOKEN_PLACEHOLDERS",
    "TextFillResult",
    "fill_placeholders",
    "fill_placeholders_text",
    "find_placeholders",
]

TOKEN_PLACEHOLDERS: dict[str, str] = {
    "replaceWithAuthTokenFromCreateSession": "the token that createSession returned",
    "replaceWithTheAuthTokensYouWantToCheck": "the tokens of the sessions describeSessions should check",
    "authTokenThatWasChecked": "a value from a response example; a request does not carry it",
    "replaceWithValidAuthtoken": "the token that createSession returned",
    "anAuthorizationTokenFromTheServer": "the token that createSession returned",
    "replaceWithAnotherValidAuthtoken": "the token of another session describeSessions should check",
}
CREDENTIAL_PLACEHOLDER = "CHANGE"
ALL_PLACEHOLDERS = frozenset(TOKEN_PLACEHOLDERS) | {CREDENTIAL_PLACEHOLDER}


class FillResult(NamedTuple):
    """The filled request (a new dict; the input is untouched) and what was replaced."""

    request: dict[str, Any]
    notes: list[str]


def find_placeholders(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Return ``(path, placeholder)`` for every documentation placeholder in ``value``.

    Paths look like ``authToken``, ``params.authTokens[0]``, ``params.username``.
    """
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(find_placeholders(item, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(find_placeholders(item, f"{path}[{index}]"))
    elif isinstance(value, str) and value in ALL_PLACEHOLDERS:
        found.append((path, value))
    return found


class TextFillResult(NamedTuple):
    """The filled text of a request and what was replaced."""

    text: str
    notes: list[str]


class _Sources(NamedTuple):
    """Each fill-in value and where it comes from."""
    auth_token: tuple[str | None, str]
    check_tokens: tuple[list[str], str]
    username: tuple[str | None, str]
    password: tuple[str | None, str]


def _sources(
    client: KitClient | None,
    auth_token: str | None,
    check_tokens: str | list[str] | None,
    username: str | None,
    password: str | None,
) -> _Sources:
    """Pick each value and say where it came from: an argument wins over the client's state."""
    client_token = client.auth_token if client is not None else None
    token = (auth_token, "given") if auth_token else (client_token, "the token this client received last")
    if check_tokens:
        checks = ([check_tokens] if isinstance(check_tokens, str) else list(check_tokens), "given")
    else:
        fallback = client_token or auth_token
        origin = "the token this client received last" if client_token else "the given authToken"
        checks = ([fallback] if fallback else [], origin)
    user = (username, "given") if username else (client.username if client else None, "the client's username")
    secret = (password, "given") if password else (client.password if client else None, "the client's password")
    return _Sources(token, checks, user, secret)


def _fill_auth_token(request: dict[str, Any], src: _Sources, notes: list[str]) -> None:
    """Fill a placeholder in the top-level authToken with the caller's token."""
    placeholder = request.get("authToken")
    if placeholder not in TOKEN_PLACEHOLDERS:
        return
    token, origin = src.auth_token
    if not token:
        notes.append(f'authToken: left "{placeholder}" as is: there is no token yet; run createSession first')
        return
    request["authToken"] = token
    notes.append(f'authToken: "{placeholder}" -> "{mask_token(token)}" ({origin})')


def _fill_check_tokens(params: dict[str, Any], src: _Sources, notes: list[str]) -> None:
    """Fill placeholders in params.authTokens with the tokens to check."""
    items = params.get("authTokens")
    if not isinstance(items, list) or not any(i in TOKEN_PLACEHOLDERS for i in items if isinstance(i, str)):
        return
    tokens, origin = src.check_tokens
    if not tokens:
        notes.append("params.authTokens: left the placeholders as they are: there is no token yet; "
                     "run createSession first or pass the tokens to check")
        return
    filled: list[Any] = []
    replaced = 0
    for item in items:
        if isinstance(item, str) and item in TOKEN_PLACEHOLDERS:
            if replaced == 0:
                filled.extend(tokens)
            replaced += 1
        else:
            filled.append(item)
    params["authTokens"] = filled
    shown = ", ".join(f'"{mask_token(t)}"' for t in tokens)
    what = "the placeholder" if replaced == 1 else f"{replaced} placeholders"
    notes.append(f"params.authTokens: {what} -> [{shown}] ({origin})")


def _fill_credentials(params: dict[str, Any], src: _Sources, notes: list[str]) -> None:
    """Fill createSession's ``CHANGE`` username and password."""
    for key, (value, origin) in (("username", src.username), ("password", src.password)):
        if params.get(key) != CREDENTIAL_PLACEHOLDER:
            continue
        if value is None:
            notes.append(f'params.{key}: left "CHANGE" as is: the client has no {key}; pass {key}=...')
            continue
        params[key] = value
        shown = password_mask() if is_password_key(key) else f'"{value}"'
        notes.append(f'params.{key}: "CHANGE" -> {shown} ({origin})')


def fill_placeholders(
    request: Mapping[str, Any],
    client: KitClient | None = None,
    *,
    auth_token: str | None = None,
    check_tokens: str | list[str] | None = None,
    username: str | None = None,
    password: str | None = None,
) -> FillResult:
    """Replace FairCom's documentation placeholders in ``request``; return ``(request, notes)``.

    - top-level ``authToken`` placeholder: ``auth_token``, else ``client.auth_token``;
    - placeholders in ``params.authTokens``: ``check_tokens`` (one or a list), else the client's
      token (the first placeholder becomes the whole list, further placeholders are dropped);
    - ``"CHANGE"`` as ``createSession``'s ``params.username``/``params.password``: ``username``/
      ``password``, else the client's.

    Any other placeholder is left as it is and a note says where it is. The input is not changed.
    """
    if not isinstance(request, Mapping):
        raise TypeError(f"fill_placeholders() needs a request dict, not {type(request).__name__}")
    filled = copy.deepcopy(dict(request))
    src = _sources(client, auth_token, check_tokens, username, password)
    notes: list[str] = []
    _fill_auth_token(filled, src, notes)
    params = filled.get("params")
    if isinstance(params, dict):
        _fill_check_tokens(params, src, notes)
        action = filled.get("action")
        if isinstance(action, str) and action.lower() == "createsession":
            _fill_credentials(params, src, notes)
    for path, placeholder in find_placeholders(filled):
        if not any(note.startswith(path.split("[")[0] + ":") for note in notes):
            notes.append(f'{path}: left "{placeholder}" as is: put the value you mean there yourself')
    return FillResult(filled, notes)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def fill_placeholders_text(
    text: str,
    client: KitClient | None = None,
    *,
    auth_token: str | None = None,
    check_tokens: str | list[str] | None = None,
    username: str | None = None,
    password: str | None = None,
) -> TextFillResult:
    """Fill the placeholders in the *text* of a request; return ``(text, notes)``.

    The same rules as :func:`fill_placeholders`, read from the text: a placeholder after
    ``"authToken":`` is the caller's token; the placeholders in the array after ``"authTokens":``
    become the tokens to check, one each, in order (the last token repeats if there are more
    placeholders than tokens); ``"CHANGE"`` after ``"username":`` or ``"password":`` in a
    ``createSession`` request is the credential. Only those strings change, so a request that is
    not valid JSON, or repeats a key, reaches the server with its mistake intact.
    """
    src = _sources(client, auth_token, check_tokens, username, password)
    is_create = re.search(r'"action"\s*:\s*"createSession"', text, re.IGNORECASE) is not None
    notes: list[str] = []
    pieces: list[str] = []
    last_key: str | None = None
    in_checks = False
    checks_used = 0
    pos = 0
    for match in _STRING.finditer(text):
        between = text[pos:match.start()]
        if in_checks and "]" in between:
            in_checks = False
        pieces.append(between)
        pos = match.end()
        value = json.loads(match.group())
        after = text[pos:pos + 40].lstrip()
        if after.startswith(":"):
            last_key = value
            in_checks = value == "authTokens"
            pieces.append(match.group())
            continue
        new = _text_value(value, last_key, in_checks, checks_used, is_create, src, notes)
        if in_checks and value in TOKEN_PLACEHOLDERS:
            checks_used += 1
        pieces.append(match.group() if new is None else json.dumps(new))
    pieces.append(text[pos:])
    return TextFillResult("".join(pieces), notes)


def _text_value(value: str, key: str | None, in_checks: bool, used: int, is_create: bool,
                src: _Sources, notes: list[str]) -> str | None:
    """The value that replaces one placeholder string of a request's text, or None to keep it."""
    if in_checks and value in TOKEN_PLACEHOLDERS:
        tokens, origin = src.check_tokens
        if not tokens:
            notes.append(f'params.authTokens: left "{value}" as is: there is no token yet')
            return None
        token = tokens[min(used, len(tokens) - 1)]
        notes.append(f'params.authTokens[{used}]: "{value}" -> "{mask_token(token)}" ({origin})')
        return token
    if key == "authToken" and value in TOKEN_PLACEHOLDERS:
        auth_token, origin = src.auth_token
        if not auth_token:
            notes.append(f'authToken: left "{value}" as is: there is no token yet; run createSession first')
            return None
        notes.append(f'authToken: "{value}" -> "{mask_token(auth_token)}" ({origin})')
        return auth_token
    if is_create and value == CREDENTIAL_PLACEHOLDER and key in ("username", "password"):
        secret, origin = src.username if key == "username" else src.password
        if secret is None:
            notes.append(f'params.{key}: left "CHANGE" as is: pass {key}=...')
            return None
        shown = password_mask() if is_password_key(key) else f'"{secret}"'
        notes.append(f'params.{key}: "CHANGE" -> {shown} ({origin})')
        return secret
    if value in ALL_PLACEHOLDERS:
        notes.append(f'{key or "?"}: left "{value}" as is: put the value you mean there yourself')
    return None
