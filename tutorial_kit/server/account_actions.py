"""FairCom's account actions: createAccount, alterAccount, dropAccounts (and dropAccount),
listAccounts, describeAccounts; the role actions (and manageService) answer that the kit does
not emulate them.

Shapes follow FairCom's account pages (:mod:`sources`, rows ``action.createAccount`` ...); what
those pages leave open is in :mod:`kit_choices`. Passwords are hashed off the event loop (through
the login queue); an alterAccount that hashed a new password checks, when it writes, that the
account is still the one it read (a dropAccounts at the same moment makes it fail, never answer
success). Every write goes through ``Backend.commit``: disk first (off the loop), memory second.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

from .account_props import (
    ACCOUNT_PROPERTIES,
    DESCRIPTION_MAX_BYTES,
    LOOKUP_MAX_BYTES,
    PASSWORD_MAX_BYTES,
    USERNAME_MAX_BYTES,
    account_object,
    merged,
    read_properties,
    warn_stored_only,
)
from .accounts import hash_password, name_key
from .backend import Backend, CallContext
from .errors import DROP_MISSING_WARNING_CODE, ApiError, ErrorCode, drop_missing_warning
from .kit_choices import choice
from .settings import check_string, describe_json
from .sources import page
from .store import AccountRow, Store
from .vocabulary import TOKEN_RULES

__all__ = ["ACCOUNT_ACTIONS"]

_NAME_BYTES, _LOOKUP_BYTES = USERNAME_MAX_BYTES, LOOKUP_MAX_BYTES
_PASSWORD_BYTES, _DESCRIPTION_BYTES = PASSWORD_MAX_BYTES, DESCRIPTION_MAX_BYTES
_PARAMS = {"username", "password", "accountDescription", *ACCOUNT_PROPERTIES}


def _caller(b: Backend, ctx: CallContext, action: str, *, admin: bool) -> AccountRow:
    account = b.caller_account(ctx.session)
    if admin:
        b.accounts.require_admin(account, action)
    if account is None:
        raise ApiError(ErrorCode.BAD_TOKEN, "The session's account no longer exists: create a new session.")
    return account


def _warn_unknown(ctx: CallContext, known: set[str]) -> None:
    for key in ctx.params:
        if key not in known:
            hint = ' (FairCom\'s name for it is "accountDescription")' if key == "description" else ""
            ctx.warn(
                ErrorCode.INVALID_VALUE, f"params.{key[:60]} is not a property of this action and was ignored{hint}"
            )


def _names(ctx: CallContext, prop: str) -> list[str]:
    """An optional array of usernames (default []), each 1 to 64 bytes."""
    value = ctx.params.get(prop)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ApiError.invalid(prop, describe_json(value), 'it must be an array of username strings, e.g. ["ADMIN"]')
    return [check_string(f"{prop}[{i}]", name, 1, _LOOKUP_BYTES) for i, name in enumerate(value)]


def _or_empty(value: Any) -> Any:
    """FairCom: omitted or null means the default, ""."""
    return "" if value is None else value


async def create_account(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Create an account (administrator only)."""
    _caller(b, ctx, "createAccount", admin=True)
    if ctx.params.get("username") is None:
        raise ApiError.missing("username", 'add "username" (1 to 31 bytes) to "params"')
    username = check_string("username", ctx.params["username"], 1, _NAME_BYTES)
    password = check_string("password", _or_empty(ctx.params.get("password")), 0, _PASSWORD_BYTES)
    description = check_string(
        "accountDescription", _or_empty(ctx.params.get("accountDescription")), 0, _DESCRIPTION_BYTES
    )
    props = {k: v for k, v in read_properties(ctx.params, ctx.taken).items() if v is not None}
    _warn_unknown(ctx, _PARAMS)
    warn_stored_only(props, lambda m: ctx.warn(choice("warning.account_property"), m))
    if not password:
        ctx.warn(
            choice("warning.account_property"),
            f'{username} has an empty password: anyone can log in as it with "password": "". Set one with alterAccount',
        )
    b.accounts.ensure_free(username)  # before the slow hash; new_account() checks again after it
    password_hash = await b.run_hash(hash_password, password, address=ctx.client_ip)
    row = b.accounts.new_account(username, password_hash, description, props)
    try:
        await b.commit(b.store.insert_account, row)
    except sqlite3.IntegrityError:  # created by another request while this one waited for the disk
        b.accounts.ensure_free(username)
        raise
    return {}


def _changes(b: Backend, ctx: CallContext, caller: AccountRow) -> dict[str, Any]:
    """The account properties to change; an account changing its own may change only some."""
    props = read_properties(ctx.params, ctx.taken)
    if not caller.is_admin:
        others = [p for p in (*props, *(["accountDescription"] if "accountDescription" in ctx.params else []))
                  if p not in choice("alter_own_account_properties")]
        if others:
            b.accounts.require_admin(caller, f"Changing your own {others[0]}")
    return props


async def alter_account(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Change an account: one's own password and description, or (administrator) any of any account."""
    caller = _caller(b, ctx, "alterAccount", admin=False)
    if ctx.params.get("username") is None:
        raise ApiError.missing("username", 'add the "username" of the account to change (your own, for instance)')
    username = check_string("username", ctx.params["username"], 1, _LOOKUP_BYTES)
    if name_key(username) != caller.name_key:
        b.accounts.require_admin(caller, "Changing another account")
    before = b.accounts.existing(username)
    props = _changes(b, ctx, caller)
    _warn_unknown(ctx, _PARAMS)
    warn_stored_only(props, lambda m: ctx.warn(choice("warning.account_property"), m))
    after = before
    description = ctx.params.get("accountDescription")
    if description is not None:
        after = dataclasses.replace(
            after, description=check_string("accountDescription", description, 0, _DESCRIPTION_BYTES)
        )
    after = dataclasses.replace(after, properties=merged(before.properties, props))
    password = ctx.params.get("password")
    if password is not None:
        password = check_string("password", password, 0, _PASSWORD_BYTES)
        after = dataclasses.replace(
            after,
            password_hash=await b.run_hash(hash_password, password, address=ctx.client_ip),
            password_changed=b.clock(),
        )
    ends = password is not None and choice("password_change_ends_sessions")

    def applied(written: bool) -> None:  # memory, once the disk has it
        if written:
            b.lockout.forget(before.name_key)
            if ends:
                b.end_sessions_of(before.username, keep=ctx.token)

    if not await b.commit(_write_account, b.store, before, after, ctx.token if ends else _KEEP_ALL, then=applied):
        raise ApiError(ErrorCode.INVALID_VALUE, f'The account "{before.username}" was dropped or changed by another '
                       "request while this one was being prepared: nothing was changed. Check it, then try again.")
    return {}


_KEEP_ALL = object()  # _write_account: end no session


def _write_account(store: Store, before: AccountRow, after: AccountRow, keep: Any) -> bool:
    """alterAccount's write, in one transaction: the account, and (a new password) the account's
    other API keys deleted; False, and nothing written, if the account changed meanwhile."""
    with store.atomic():
        if not store.update_account(before, after):
            return False
        if keep is not _KEEP_ALL:
            store.delete_sessions_of(after.name_key, keep=keep)
    return True


async def drop_accounts(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Drop accounts and end all their sessions, permanent ones too (administrator only)."""
    _caller(b, ctx, "dropAccounts", admin=True)
    names = _names(ctx, "usernames")
    if ctx.params.get("username") is not None:  # dropAccount, as FairCom's list of actions names it
        names.append(check_string("username", ctx.params["username"], 1, _LOOKUP_BYTES))
    _warn_unknown(ctx, {"usernames", "username"})
    rows = [b.accounts.find(name) for name in names]
    if any(row is not None and row.is_admin for row in rows):
        raise ApiError.invalid(
            "usernames", '"ADMIN"', "the administrator account cannot be dropped; nothing was dropped"
        )
    found = [row for row in rows if row is not None]
    for name, row in zip(names, rows, strict=True):
        if row is None:
            ctx.warn(DROP_MISSING_WARNING_CODE, drop_missing_warning(name_key(name)))

    def dropped(_: object) -> None:  # memory, once the disk has it
        for row in found:
            b.lockout.forget(row.name_key)
            b.end_sessions_of(row.username)

    if found:  # one transaction: all of them (with their API keys), or none
        await b.commit(b.store.delete_accounts, [row.name_key for row in found], then=dropped)
    return {}


def list_accounts(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Every account, or those whose names start with one of ``partialNames`` (administrator only)."""
    _caller(b, ctx, "listAccounts", admin=choice("list_accounts_admin_only"))
    prefixes = [name_key(p) for p in _names(ctx, "partialNames")]
    _warn_unknown(ctx, {"partialNames"})
    rows = [r for r in b.store.accounts() if not prefixes or any(r.name_key.startswith(p) for p in prefixes)]
    return {"accounts": [account_object(r) for r in rows]}


def describe_accounts(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """The listed accounts the caller may see (the administrator: any), or the caller's own."""
    caller = _caller(b, ctx, "describeAccounts", admin=False)
    names = _names(ctx, "usernames")
    _warn_unknown(ctx, {"usernames"})
    if not names and choice("describe_accounts_default_own"):
        return {choice("describe_accounts_result_key"): [account_object(caller)]}
    found = []
    for index, name in enumerate(names):
        row = b.accounts.find(name)
        if row is not None and (caller.is_admin or row.name_key == caller.name_key):
            found.append(account_object(row))
        else:
            ctx.warn(choice("warning.not_found"), f"usernames[{index}] matches no account you may see")
    return {choice("describe_accounts_result_key"): found}


def _not_emulated(action: str, why: str) -> Any:
    def refuse(b: Backend, ctx: CallContext) -> dict[str, Any]:
        raise ApiError(ErrorCode.UNKNOWN_ACTION,
                       f'This kit teaches sessions and {why}, so "{action}" is not emulated here. FairCom '
                       f"documents it at {page('action.' + action)}")
    refuse.__doc__ = f"{action}: documented by FairCom, not emulated (12008 naming its page)."
    return refuse


#: (name, function, token rule, is_async) for the action table in :mod:`actions`
ACCOUNT_ACTIONS: tuple[tuple[str, Any, str, bool], ...] = (
    ("createAccount", create_account, TOKEN_RULES["createAccount"], True),
    ("alterAccount", alter_account, TOKEN_RULES["alterAccount"], True),
    ("dropAccounts", drop_accounts, TOKEN_RULES["dropAccounts"], True),
    ("dropAccount", drop_accounts, TOKEN_RULES["dropAccount"], True),
    ("listAccounts", list_accounts, TOKEN_RULES["listAccounts"], False),
    ("describeAccounts", describe_accounts, TOKEN_RULES["describeAccounts"], False),
    *((name, _not_emulated(name, "has no roles"), "none", False) for name in choice("roles_not_emulated")),
    *(
        (name, _not_emulated(name, "serves only listServices"), "none", False)
        for name in choice("services_not_emulated")
    ),
)
