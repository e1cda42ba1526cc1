"""Workshop tooling: accounts for a room of learners.

Two jobs for a trainer, both done through the jsonAction API of a running server (the kit's own
or a shared one that the whole room uses):

- :func:`provision` creates one account per learner with ``createAccount`` and writes a roster,
  a CSV file (``username,password``) readable by its owner only. Passwords come from
  :mod:`secrets` and are easy to read out loud (``k7mp-q2xz-r8wd-4hnc``).
- the room view (who holds an API key, who revoked one) lives in :mod:`tutorial_kit.workshop.room`.
- :func:`set_admin_password` gives ``ADMIN`` of a kit server home its own password, in the
  home's database: the server refuses to listen on a network address while it is ``ADMIN``.

The administrator's password is taken from an environment variable and never logged or shown.
``createAccount``, ``listAccounts`` and ``alterAccount`` are FairCom's account actions, sent in the
shapes of FairCom's account pages (``tutorial_kit.server.sources``), so provisioning works against
the kit's server and a real FairCom server alike. Resetting a password (``existing="reset"``) ends
the account's sessions in the kit (kit's choice ``password_change_ends_sessions``).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import JsonActionError, KitUsageError, ServerControlError
from .._files import replace_file
from ..client.kit_client import KitClient
from ..server.account_props import USERNAME_MAX_BYTES
from ..server.errors import ErrorCode

__all__ = [
    "PASSWORD_ALPHABET", "EXISTING_POLICIES", "Account", "ProvisionResult",
    "generate_password", "learner_names", "read_names", "check_names", "admin_password", "tls_verify",
    "default_url", "write_roster", "read_roster", "admin_session", "create_accounts", "provision",
    "set_admin_password",
]

log = logging.getLogger(__name__)

#: lowercase letters and digits without the look-alikes 0/o, 1/l/i
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
DEFAULT_PASSWORD_ENV = "TUTORIAL_KIT_PASSWORD"
FRESH_ADMIN_PASSWORD = "ADMIN"  # a fresh kit server's administrator password (change it for a shared server)
DEFAULT_DESCRIPTION = "workshop learner (tutorial-kit accounts create)"
EXISTING_POLICIES = ("fail", "skip", "reset")
_MAX_NAME_BYTES: int = USERNAME_MAX_BYTES  # FairCom's createAccount limit


@dataclass(frozen=True)
class Account:
    """One learner's login, as written to the roster."""

    username: str
    password: str = field(repr=False)


# --- names, passwords and settings ---------------------------------------------------------

def generate_password(groups: int = 4, size: int = 4) -> str:
    """A random password of ``groups`` groups of ``size`` characters, joined by ``-`` (~79 bits)."""
    return "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(size)) for _ in range(groups))


def learner_names(count: int, prefix: str = "learner") -> list[str]:
    """``learner01`` ... ``learner30``: numbered names, zero-padded to at least two digits."""
    if count < 1:
        raise KitUsageError(f"--count must be at least 1, not {count}")
    width = max(2, len(str(count)))
    return [f"{prefix}{number:0{width}d}" for number in range(1, count + 1)]


def read_names(path: str | os.PathLike[str]) -> list[str]:
    """Usernames from a text file: one a line; blank lines and lines starting with ``#`` are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise KitUsageError(f"cannot read the names file {path}: {err.strerror or err}") from err
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def check_names(names: Sequence[str]) -> list[str]:
    """Return ``names`` if each is a usable, unique account name; raise KitUsageError naming the first bad one."""
    if not names:
        raise KitUsageError("no usernames: give --count N or a --names file with one name a line")
    seen: set[str] = set()
    for name in names:
        if any(ch.isspace() for ch in name) or "," in name:
            raise KitUsageError(f"username {name!r} contains a space or a comma; use letters, digits, '_' or '-'")
        if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
            raise KitUsageError(f"username {name!r} is longer than {_MAX_NAME_BYTES} bytes; choose a shorter one")
        if name.upper() in seen:  # account names are not case-sensitive
            raise KitUsageError(f"username {name!r} appears twice (names are not case-sensitive)")
        seen.add(name.upper())
    return list(names)


def admin_password(env: Mapping[str, str], variable: str | None = None) -> str:
    """The administrator's password from ``variable`` (default ``TUTORIAL_KIT_PASSWORD``).

    Without ``variable`` and with ``TUTORIAL_KIT_PASSWORD`` unset, a fresh kit server's ``ADMIN``.
    A variable named explicitly must be set: a silent fallback would hide a typo.
    """
    if variable is None:
        return env.get(DEFAULT_PASSWORD_ENV) or FRESH_ADMIN_PASSWORD
    if not env.get(variable):
        raise KitUsageError(f"the environment variable {variable} (--admin-password-env) is not set or empty; "
                            f"set it to the administrator's password, e.g. read -s {variable}; export {variable}")
    return env[variable]


def tls_verify(env: Mapping[str, str], ca_file: str | None = None, insecure: bool = False) -> bool | str:
    """How to check an https server: ``ca_file``/``TUTORIAL_KIT_CA_FILE``, else False when told, else True."""
    if insecure:
        return False
    if ca_file or env.get("TUTORIAL_KIT_CA_FILE"):
        return ca_file or env["TUTORIAL_KIT_CA_FILE"]
    return env.get("TUTORIAL_KIT_VERIFY", "1").strip().lower() not in {"0", "false", "no", "off"}


def default_url(env: Mapping[str, str]) -> str:
    """``TUTORIAL_KIT_URL``, else the URL of the kit's own background server for this home."""
    if env.get("TUTORIAL_KIT_URL", "").strip():
        return env["TUTORIAL_KIT_URL"].strip()
    from ..control.local import ServerControl, default_home

    home = default_home(env)
    try:
        return ServerControl(home, env=env).url
    except ServerControlError as err:
        raise KitUsageError(f"no --url given, TUTORIAL_KIT_URL is not set, and the kit's server for {home} is "
                            "not running: pass --url http://HOST:PORT/api of the server to use") from err


MIN_ADMIN_PASSWORD = 8


def set_admin_password(home: str | os.PathLike[str], password: str) -> Path:
    """Give ADMIN of the server home ``home`` the password ``password``; return the database file.

    Written straight into ``<home>/data/kit.sqlite3`` (created if the home is new), so no server
    needs to run, and none may yet listen on the network with ADMIN/ADMIN. A server already
    running on this home checks the new password from its next login on.
    """
    if len(password) < MIN_ADMIN_PASSWORD or password.upper() == FRESH_ADMIN_PASSWORD:
        raise KitUsageError(f"choose an administrator password of at least {MIN_ADMIN_PASSWORD} characters, "
                            "not ADMIN (e.g. one from tutorial_kit.workshop.roster.generate_password())")
    import dataclasses
    import time

    from ..server.accounts import ADMIN, AccountBook, hash_password
    from ..server.store import Store

    path = Path(home) / "data" / "kit.sqlite3"
    store = Store(path)
    try:
        AccountBook(store, time.time).ensure_admin()
        before = store.account(ADMIN)
        assert before is not None
        after = dataclasses.replace(before, password_hash=hash_password(password), password_changed=time.time())
        if not store.update_account(before, after):
            raise KitUsageError(f"ADMIN was changed by a running server at the same moment: run this again ({path})")
    finally:
        store.close()
    log.info("ADMIN's password was changed in %s", path)
    return path


# --- the roster ------------------------------------------------------------------------------

def write_roster(path: str | os.PathLike[str], accounts: Sequence[Account]) -> Path:
    """Write ``username,password`` rows to ``path`` (mode 0600), replacing it in one step."""
    target = Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["username", "password"])
    writer.writerows([account.username, account.password] for account in accounts)
    replace_file(target, buffer.getvalue())
    log.info("wrote the roster of %d account(s) to %s", len(accounts), target)
    return target


def read_roster(path: str | os.PathLike[str]) -> list[Account]:
    """The accounts of a roster written by :func:`write_roster`."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise KitUsageError(f"cannot read the roster {path}: {err.strerror or err}") from err
    if rows and not {"username", "password"} <= set(rows[0]):
        raise KitUsageError(f"{path} is not a roster: its first line must be 'username,password'")
    return [Account(row["username"], row["password"]) for row in rows]


# --- talking to the server ---------------------------------------------------------------------

def _call(client: KitClient, action: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """One admin action with debug off (a real FairCom server echoes passwords in debugInfo)."""
    return (
        client.call(action, dict(params) if params is not None else None, debug="none", **kwargs)
        .raise_for_error()
        .result
    )


@contextmanager
def admin_session(url: str, username: str, password: str, *, verify: bool | str = True,
                  timeout: float = 30.0) -> Iterator[KitClient]:
    """A client logged in as the administrator; the session is deleted again on exit."""
    with KitClient(url, username=username, password=password, verify=verify, timeout=timeout) as client:
        _call(client, "createSession", {"username": username, "password": password}, auth_token=None)
        try:
            yield client
        finally:
            answer = client.call("deleteSession", debug="none")
            if not answer.ok:
                log.warning("could not end the administrator session: %s", answer.error_message)


def _create_one(client: KitClient, name: str, description: str, existing: str,
                password_factory: Callable[[], str]) -> Account | None:
    password = password_factory()
    try:
        _call(client, "createAccount", {"username": name, "password": password, "accountDescription": description})
        return Account(name, password)
    except JsonActionError as err:
        if err.error_code == ErrorCode.UNKNOWN_ACTION:
            raise KitUsageError(
                f"{client.url} answered createAccount with {ErrorCode.UNKNOWN_ACTION} (unknown action): "
                "this server does not offer FairCom's account actions; create the accounts with its own tools"
            ) from err
        if err.error_code == ErrorCode.ACCOUNT_EXISTS and existing == "fail":
            err.add_note("to leave existing accounts alone use existing='skip', to give them new passwords "
                         "existing='reset' (--existing skip|reset on the command line)")
        if err.error_code != ErrorCode.ACCOUNT_EXISTS or existing == "fail":
            raise
    if existing == "skip":
        log.info("account %s exists already: skipped", name)
        return None
    _call(client, "alterAccount", {"username": name, "password": password})
    log.info("account %s exists already: its password was reset", name)
    return Account(name, password)


def create_accounts(client: KitClient, names: Sequence[str], *, description: str = DEFAULT_DESCRIPTION,
                    existing: str = "fail", password_factory: Callable[[], str] = generate_password,
                    ) -> Iterator[Account]:
    """Create ``names`` one by one, yielding each account as soon as the server has it.

    ``existing`` says what to do with a name that is taken: ``"fail"`` (raise JsonActionError),
    ``"skip"`` (leave it, yield nothing) or ``"reset"`` (give it a new password with alterAccount).
    """
    if existing not in EXISTING_POLICIES:
        raise KitUsageError(f"existing={existing!r}: choose one of {', '.join(EXISTING_POLICIES)}")
    for name in names:
        account = _create_one(client, name, description, existing, password_factory)
        if account is not None:
            yield account


@dataclass(frozen=True)
class ProvisionResult:
    """What :func:`provision` did: the accounts in the roster, the names skipped, and the roster."""

    accounts: tuple[Account, ...]
    skipped: tuple[str, ...]
    roster: Path


def provision(url: str, names: Sequence[str], roster: str | os.PathLike[str], *, admin_username: str = "ADMIN",
              admin_password: str, verify: bool | str = True, description: str = DEFAULT_DESCRIPTION,
              existing: str = "fail", overwrite: bool = False) -> ProvisionResult:
    """Create an account for each of ``names`` on ``url`` and write their roster.

    The roster is refused before anything is created if it exists (unless ``overwrite``). When a
    creation fails half-way, the accounts made until then are still written to the roster, and
    the exception carries a note saying so.
    """
    names, roster_path = check_names(names), Path(roster)
    if roster_path.exists() and not overwrite:
        raise KitUsageError(f"{roster_path} exists: it may hold the only copy of earlier passwords. "
                            "Choose another --roster file, or pass --force to replace it.")
    if not roster_path.parent.is_dir():
        raise KitUsageError(f"the folder of the roster {roster_path} does not exist")
    created: list[Account] = []
    try:
        with admin_session(url, admin_username, admin_password, verify=verify) as client:
            created.extend(create_accounts(client, names, description=description, existing=existing))
    except Exception as err:
        if created:
            write_roster(roster_path, created)
            err.add_note(f"the {len(created)} account(s) created before this are in {roster_path}")
        raise
    write_roster(roster_path, created)
    made = {account.username.upper() for account in created}
    return ProvisionResult(tuple(created), tuple(n for n in names if n.upper() not in made), roster_path)
