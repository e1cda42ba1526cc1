"""The admin API's actions, one function each: read the params, apply the rules, return a result.

Each function takes the :class:`Backend` and a :class:`CallContext` and returns the ``result``
object (a dict, or a :class:`SessionsResult` that renders itself fast). Errors are raised as
:class:`ApiError`. The table :data:`ACTIONS` at the end says which actions need an authToken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .account_actions import ACCOUNT_ACTIONS
from .accounts import name_key, verify_password
from .backend import Backend, CallContext
from .errors import UNKNOWN_TOKEN_WARNING, ApiError, ErrorCode
from .kit_choices import choice
from .login_rules import check_login_window
from .session_lists import SessionsResult, short_token
from .sessions import Session
from .settings import SESSION_SETTINGS, check_bool, check_settings, check_string, describe_json
from .store import AccountRow, StoredSession
from .vocabulary import TOKEN_RULES

__all__ = ["ActionSpec", "ACTIONS", "find_action"]

_CREATE_PARAMS = {"username", "password", "permanentSession", *SESSION_SETTINGS}


def _warn_unknown(ctx: CallContext, known: set[str]) -> None:
    for key in ctx.params:
        if key not in known:
            ctx.warn(ErrorCode.INVALID_VALUE, f'params.{key[:60]} is not a property of this action and was ignored')


def _credentials(ctx: CallContext) -> tuple[str, str]:
    params = ctx.params
    if "username" not in params:
        raise ApiError.missing("username", 'add "username" and "password" to "params"')
    if "password" not in params:
        hint = 'add "password" to "params"'
        if "username" in ctx.duplicate_keys:
            hint += (
                ' (your JSON repeats "username": a parser keeps only the last one, so write "password" in its place)'
            )
        raise ApiError.missing("password", hint)
    username = check_string("username", params["username"], 1, 65_500)
    password = params["password"]
    if not isinstance(password, str):
        raise ApiError.invalid("password", describe_json(password), "it must be a string")
    return username, password


async def create_session(b: Backend, ctx: CallContext) -> SessionsResult:
    """Log in; a permanent session (an API key) is on disk before this returns."""
    username, password = _credentials(ctx)
    permanent = check_bool("permanentSession", ctx.params.get("permanentSession", False), ctx.taken)
    settings = check_settings(ctx.params, ctx.taken)
    _warn_unknown(ctx, _CREATE_PARAMS)
    account = await _authenticate(b, username, password, ctx.client_ip)
    ip = ctx.client_ip
    if permanent and not b.config.permanent_sessions_enabled:
        raise ApiError(
            ErrorCode.PERMANENT_DISABLED,
            'Permanent sessions are turned off on this server. Set "enablePermanentJsonApiSessions": true '
            'in the "jsonActionApiDefaults" section of config/services.json, then restart the server: '
            "it reads that file only when it starts.",
        )
    _check_limits(b, ip, account.name_key, account.username)
    if permanent and "idleConnectionTimeoutSeconds" in settings:
        ctx.warn(
            ErrorCode.INVALID_VALUE, "a permanent session never expires: idleConnectionTimeoutSeconds is ignored (-1)"
        )
    now = b.clock()
    token = b.issue_token()
    session = Session(token, b.next_seq(), account.username, account.name_key, b.resolve_settings(settings),
                      permanent, now, now, ip, b.host)
    if permanent:  # the resolved settings: later edits of services.json do not change this session
        kept = {k: v for k, v in session.settings.items() if k != "idleConnectionTimeoutSeconds"}
        row = StoredSession(token, session.seq, account.name_key, kept, now, now, ip)
        b.sessions.hold(ip, account.name_key)  # the limits count it while it is written
        try:
            await b.commit(b.store.insert_session, row, then=lambda _: b.sessions.add(session))
        finally:
            b.sessions.hold(ip, account.name_key, -1)
    else:
        b.sessions.add(session)
    ctx.response_token = token
    return SessionsResult([session], single=True)


async def _authenticate(b: Backend, username: str, password: str, ip: str) -> AccountRow:
    """The account whose password this is, with the throttle, the lockout and the login window applied."""
    key = name_key(username)
    b.throttle.check(key, ip)
    before = b.accounts.find(username)
    if before is not None:
        b.lockout.check(before)
    stored = before.password_hash if before is not None else b.accounts.stored_hash_for(username)
    ok = await b.run_hash(verify_password, password, stored, address=ip)
    account = b.accounts.find(username)  # it may have been dropped, or given a new password, meanwhile
    b.throttle.check(key, ip)  # another request may have blocked the pair while we hashed
    if account is not None:
        b.lockout.check(account)
    if not ok or account is None or account.password_hash != stored:
        b.throttle.failed(key, ip)
        if account is not None and not ok:
            b.lockout.failed(account)
        raise ApiError(
            ErrorCode.BAD_CREDENTIALS,
            "The username or password is wrong: check both (usernames ignore case, passwords do not). "
            "A fresh kit server has the account ADMIN with the password ADMIN.",
        )
    b.throttle.succeeded(key, ip)
    b.lockout.succeeded(account)
    check_login_window(account, b.clock())
    return account


def _check_limits(b: Backend, ip: str, key: str, username: str) -> None:
    b.sessions.sweep()
    total, per_ip, per_user = b.sessions.counts(ip, key)
    checks = (
        ("maxJsonApiSessions", total, "on this server"),
        ("maxJsonApiSessionsPerIpAddress", per_ip, f"from your address {ip}"),
        ("maxJsonApiSessionsPerUsername", per_user, f"for the account {username}"),
    )
    for name, count, where in checks:
        limit = b.config.default(name)
        if count >= limit:
            raise ApiError(
                ErrorCode.SESSION_LIMIT,
                f"There are already {count} live sessions {where}, the limit set by {name} ({limit}). "
                "End sessions you no longer need with deleteSession (permanent ones too), or raise the "
                "limit in config/services.json and restart the server.",
            )


def _sees_every_session(b: Backend, caller: Session) -> bool:
    """The administrator sees every session (kit's choice); any other account only its own."""
    return b.is_admin(caller) and bool(choice("admin_sees_every_session"))


def describe_sessions(b: Backend, ctx: CallContext) -> SessionsResult:
    """Full session objects: the listed tokens, or every session the caller may see."""
    caller = ctx.session
    assert caller is not None
    admin = _sees_every_session(b, caller)
    _warn_unknown(ctx, {"authTokens"})
    tokens = ctx.params.get("authTokens")
    if tokens is None or tokens == []:  # FairCom: the default is [], which means "no filter"
        b.sessions.sweep()
        return SessionsResult(b.sessions.visible_to(caller, admin))
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise ApiError.invalid(
            "authTokens", describe_json(tokens), 'it must be an array of token strings, e.g. ["abc..."]'
        )
    found = []
    for index, token in enumerate(tokens):
        session = b.sessions.get(token)
        if session is not None and (admin or session.name_key == caller.name_key):
            found.append(session)
        else:
            ctx.warn(
                ErrorCode.BAD_TOKEN, f"authTokens[{index}] ({short_token(token)}) matches no live session you may see"
            )
    return SessionsResult(found)


def list_sessions(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Token, username and description of the sessions the caller may see."""
    caller = ctx.session
    assert caller is not None
    _warn_unknown(ctx, {"usernameFilter"})
    names = ctx.params.get("usernameFilter")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise ApiError.invalid(
            "usernameFilter", describe_json(names), 'it must be an array of usernames, e.g. ["ADMIN"]'
        )
    wanted = {name_key(n) for n in names} if names else None  # [] is the documented default: no filter
    b.sessions.sweep()
    return {
        "sessions": [  # the newest FairCom page's key order
            {"username": s.username, "description": s.settings["description"], "authToken": s.token}
            for s in b.sessions.visible_to(caller, _sees_every_session(b, caller))
            if wanted is None or s.name_key in wanted
        ]
    }


def ping_session(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Nothing to do: the envelope already checked the token and restarted its idle clock."""
    return {}


async def alter_session(b: Backend, ctx: CallContext) -> SessionsResult:
    """Change the caller's own session settings."""
    session = ctx.session
    assert session is not None
    for fixed in ("username", "password", "permanentSession"):
        if fixed in ctx.params:
            raise ApiError.invalid(
                fixed, "changed on a live session",
                "create a new session instead (createSession, with permanentSession true for an API key), "
                "then delete the old one with deleteSession",
            )
    if session.permanent and "idleConnectionTimeoutSeconds" in ctx.params:
        raise ApiError.invalid(
            "idleConnectionTimeoutSeconds", "changed on a permanent session",
            "a permanent session never expires (-1); revoke it with deleteSession when it is no longer needed",
        )
    _warn_unknown(ctx, set(SESSION_SETTINGS))
    changes = check_settings(ctx.params, ctx.taken)
    if "defaultResponseOptions" in changes and choice("merge_response_options"):
        changes["defaultResponseOptions"] = {
            **session.settings["defaultResponseOptions"],
            **changes["defaultResponseOptions"],
        }

    def apply(_: object = None) -> None:
        session.settings.update(changes)
        session.render()
        b.sessions.reschedule(session)

    if session.permanent:  # disk first: a failed write leaves the session as it was
        stored = {k: v for k, v in {**session.settings, **changes}.items() if k != "idleConnectionTimeoutSeconds"}
        await b.commit(b.store.update_session_settings, session.token, stored, then=apply)
    else:
        apply()
    return SessionsResult([session], single=True)


async def delete_session(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """End the session of the request's authToken; for a permanent one this revokes the API key.

    A permanent session is deleted from disk first and from memory second: if the database
    refuses (busy, disk full), the answer says so and the key keeps working, here and after a
    restart, until a deleteSession succeeds.
    """
    token = ctx.token or ""
    session = b.sessions.get(token)
    if session is None:
        ctx.warn(ErrorCode.BAD_TOKEN, UNKNOWN_TOKEN_WARNING)  # FairCom's documented warning
        return {}
    if session.permanent:
        await b.commit(b.store.delete_session, token, then=lambda _: b.sessions.remove(token))
    else:
        b.sessions.remove(token)
    return {}


def list_services(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """The running configuration: listeners (tls only with a valid token) and jsonActionApiDefaults.

    Each listener shows the port it is really served on (a command-line port too), as a string like
    FairCom's example, and ``enabled`` true only when the kit serves it.
    """
    show_tls = ctx.session is not None or not choice("listservices_tls_needs_token")
    listeners = []
    for listener in b.config.listeners:
        port = b.served_ports.get(listener.index, listener.port)
        item = {"serviceName": listener.service_name, "description": listener.raw.get("description", ""),
                "enabled": listener.index in b.served_ports, "port": str(port), "protocol": listener.protocol}
        item.update((k, v) for k, v in listener.raw.items() if k not in item and (k != "tls" or show_tls))
        listeners.append(item)
    return {"listeners": listeners, "jsonActionApiDefaults": b.config.defaults}


@dataclass(frozen=True)
class ActionSpec:
    """An action: its canonical name, its function, and how it treats the authToken.

    ``token``: "required" (must be valid), "optional" (checked when given), "none" (ignored),
    "named" (required, but an unknown one is not an error: deleteSession).
    """

    name: str
    func: Callable[[Backend, CallContext], Any | Awaitable[Any]]
    token: str
    is_async: bool = False


_SPECS = (
    ActionSpec("createSession", create_session, TOKEN_RULES["createSession"], is_async=True),
    ActionSpec("describeSessions", describe_sessions, TOKEN_RULES["describeSessions"]),
    ActionSpec("listSessions", list_sessions, TOKEN_RULES["listSessions"]),
    ActionSpec("pingSession", ping_session, TOKEN_RULES["pingSession"]),
    ActionSpec("alterSession", alter_session, TOKEN_RULES["alterSession"], is_async=True),
    ActionSpec("deleteSession", delete_session, TOKEN_RULES["deleteSession"], is_async=True),
    ActionSpec("listServices", list_services, TOKEN_RULES["listServices"]),
    *(ActionSpec(name, func, token, is_async=is_async) for name, func, token, is_async in ACCOUNT_ACTIONS),
)

#: lower-cased action name -> spec (actions match case-insensitively)
ACTIONS: dict[str, ActionSpec] = {spec.name.lower(): spec for spec in _SPECS}


def find_action(name: str) -> ActionSpec | None:
    return ACTIONS.get(name.lower())
