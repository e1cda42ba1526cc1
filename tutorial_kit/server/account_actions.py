"""Account actions for workshops: createAccount, alterAccount, dropAccount, listAccounts.

FairCom documents no such actions for this API; their names and codes are the kit's choice
(see ``kit_choices``). Passwords are hashed off the event loop.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .accounts import hash_password
from .backend import Backend, CallContext
from .errors import ApiError, ErrorCode
from .kit_choices import choice
from .settings import check_string

__all__ = ["ACCOUNT_ACTIONS"]

_MAX_NAME: int = choice("account_username_max_bytes")


def _password(ctx: CallContext) -> str:
    if "password" not in ctx.params:
        raise ApiError.missing("password", 'add "password" to "params"')
    return check_string("password", ctx.params["password"], 1, 1024)


def _caller(b: Backend, ctx: CallContext, action: str, *, admin: bool):  # -> AccountRow
    account = b.caller_account(ctx.session)
    if admin:
        b.accounts.require_admin(account, action)
    if account is None:
        raise ApiError(ErrorCode.BAD_TOKEN, "The session's account no longer exists: create a new session.")
    return account


async def create_account(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Create an account (administrator only)."""
    _caller(b, ctx, "createAccount", admin=True)
    if "username" not in ctx.params:
        raise ApiError.missing("username", 'add "username" and "password" to "params"')
    username = check_string("username", ctx.params["username"], 1, _MAX_NAME)
    password = _password(ctx)
    description = check_string("description", ctx.params.get("description", ""), 0, 65_500)
    b.accounts.ensure_free(username)  # before the slow hash; create() checks again after it
    password_hash = await b.run_hash(hash_password, password, address=ctx.client_ip)
    row = b.accounts.new_account(username, password_hash, description)  # checks the name again
    try:
        await b.commit(b.store.insert_account, row)
    except sqlite3.IntegrityError:  # created by another request while this one waited for the disk
        b.accounts.ensure_free(username)
        raise
    return {"username": row.username, "description": row.description}


async def alter_account(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Change a password: one's own, or (administrator) another account's."""
    caller = _caller(b, ctx, "alterAccount", admin=False)
    password = _password(ctx)
    username = ctx.params.get("username")
    if username is not None:
        username = check_string("username", username, 1, _MAX_NAME)
    target = b.accounts.target_for_alter(caller, username)
    password_hash = await b.run_hash(hash_password, password, address=ctx.client_ip)
    await b.commit(b.store.set_password_hash, target.name_key, password_hash)
    return {"username": target.username}


async def drop_account(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Delete an account and end all its sessions, permanent ones too (administrator only)."""
    _caller(b, ctx, "dropAccount", admin=True)
    if "username" not in ctx.params:
        raise ApiError.missing("username", 'add the "username" of the account to drop')
    username = check_string("username", ctx.params["username"], 1, _MAX_NAME)
    row = b.accounts.to_drop(username)
    await b.commit(b.store.delete_account, row.name_key, then=lambda: b.end_sessions_of(row.username))
    return {"username": row.username}


def list_accounts(b: Backend, ctx: CallContext) -> dict[str, Any]:
    """Every account's username and description (administrator only)."""
    _caller(b, ctx, "listAccounts", admin=True)
    return {"accounts": [{"username": r.username, "description": r.description} for r in b.store.accounts()]}


#: (name, function, is_async)
_FUNCTIONS = {
    "createAccount": (create_account, True),
    "alterAccount": (alter_account, True),
    "dropAccount": (drop_account, True),
    "listAccounts": (list_accounts, False),
}
ACCOUNT_ACTIONS = tuple((name, *_FUNCTIONS[name]) for name in choice("account_actions"))
