"""Accounts: password hashing, the account book over the store, the login throttle and the login
queue.

Passwords are kept only as salted scrypt hashes. Hashing is slow on purpose, so the server runs
:func:`hash_password` and :func:`verify_password` off its event loop, through a
:class:`LoginQueue` that is bounded per client address and in total and serves the addresses in
turn: a flood from one address cannot delay everyone else's login, and the work of a client that
has gone is dropped. Where ``hashlib`` has no scrypt (Pyodide, in the browser) new hashes are
PBKDF2-HMAC-SHA256 (:mod:`.pbkdf2`, the kit's choice ``password_hash_fallback``); both kinds
verify wherever their function exists. Usernames ignore case (``admin`` logs in as ``ADMIN``);
passwords do not.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import secrets
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import ApiError, ErrorCode
from .kit_choices import choice
from .pbkdf2 import pbkdf2_sha256
from .store import AccountRow, Store

__all__ = ["hash_password", "verify_password", "name_key", "AccountBook", "LoginThrottle", "LoginQueue"]

log = logging.getLogger(__name__)

T = TypeVar("T")

ADMIN = "ADMIN"


def name_key(username: str) -> str:
    """The case-insensitive key of a username."""
    return username.upper()


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return ``scrypt$n$r$p$salt$hash`` for ``password`` (slow: call it off the event loop);
    ``pbkdf2_sha256$iterations$salt$hash`` where hashlib has no scrypt."""
    encode = base64.b64encode
    secret = password.encode("utf-8", "surrogatepass")
    if not hasattr(hashlib, "scrypt"):
        fallback = choice("password_hash_fallback")
        salt = salt if salt is not None else secrets.token_bytes(fallback["salt_bytes"])
        digest = pbkdf2_sha256(secret, salt, fallback["iterations"], fallback["dklen"])
        return f"pbkdf2_sha256${fallback['iterations']}${encode(salt).decode()}${encode(digest).decode()}"
    params = choice("password_hash")
    salt = salt if salt is not None else secrets.token_bytes(params["salt_bytes"])
    digest = hashlib.scrypt(
        secret, salt=salt, n=params["n"], r=params["r"], p=params["p"], dklen=params["dklen"], maxmem=64 * 1024 * 1024,
    )
    return f"scrypt${params['n']}${params['r']}${params['p']}${encode(salt).decode()}${encode(digest).decode()}"


def _derive(password: bytes, fields: list[str], expected_length: int) -> bytes | None:
    """The key the stored fields ask for, or None when this Python cannot compute it."""
    if fields[0] == "pbkdf2_sha256" and len(fields) == 4:
        return pbkdf2_sha256(password, base64.b64decode(fields[2]), int(fields[1]), expected_length)
    if fields[0] == "scrypt" and len(fields) == 6 and hasattr(hashlib, "scrypt"):
        _, n, r, p, salt_b64, _ = fields
        return hashlib.scrypt(password, salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p),
                              dklen=expected_length, maxmem=64 * 1024 * 1024)
    return None


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches the stored hash (constant-time comparison)."""
    fields = stored.split("$")
    try:
        expected = base64.b64decode(fields[-1])
        digest = _derive(password.encode("utf-8", "surrogatepass"), fields, len(expected))
    except ValueError:
        return False
    return digest is not None and hmac.compare_digest(digest, expected)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, checked when a username does not exist, so that a wrong
    username takes as long as a wrong password and names cannot be probed by timing."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass
class LoginThrottle:
    """Blocks a (username, client address) pair after repeated wrong logins.

    The ``failures``-th wrong login within ``window`` seconds blocks that pair for ``block``
    seconds. Attempts during a block neither count nor extend it. Other addresses are unaffected,
    so one address cannot lock an account out for everybody. Pairs whose failures are older than
    the window, and blocks that have ended, are forgotten (checked once per window), so wrong
    logins under ever new names do not grow the table without end.
    """

    clock: Callable[[], float]
    failures: int = choice("login_throttle_failures")
    window: float = choice("login_throttle_window_seconds")
    block: float = choice("login_throttle_block_seconds")
    _recent: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    _blocked_until: dict[tuple[str, str], float] = field(default_factory=dict)
    _pruned_at: float | None = None

    def __len__(self) -> int:
        """How many (username, address) pairs the throttle remembers."""
        return len(self._recent) + len(self._blocked_until)

    def prune(self, now: float) -> None:
        """Forget failures older than the window and blocks that have ended."""
        self._pruned_at = now
        self._recent = {pair: times for pair, times in self._recent.items() if now - times[-1] < self.window}
        self._blocked_until = {pair: until for pair, until in self._blocked_until.items() if until > now}

    def check(self, key: str, address: str) -> None:
        """Raise 12033 if the pair is blocked now."""
        until = self._blocked_until.get((key, address))
        if until is None:
            return
        now = self.clock()
        if now >= until:
            del self._blocked_until[(key, address)]
            return
        wait = max(1, int(until - now + 0.999))
        raise ApiError(
            ErrorCode.BAD_CREDENTIALS,
            f"Too many wrong passwords for this username from your address: logins are blocked for "
            f"{wait} more second(s). Wait, then try again with the right password.",
        )

    def failed(self, key: str, address: str) -> None:
        """Record a wrong login; block the pair when it reaches the limit."""
        now = self.clock()
        if self._pruned_at is None or not 0 <= now - self._pruned_at < self.window:
            self.prune(now)
        pair = (key, address)
        recent = [t for t in self._recent.get(pair, []) if now - t < self.window]
        recent.append(now)
        if len(recent) >= self.failures:
            self._blocked_until[pair] = now + self.block
            self._recent.pop(pair, None)
        else:
            self._recent[pair] = recent

    def succeeded(self, key: str, address: str) -> None:
        self._recent.pop((key, address), None)


class LoginQueue:
    """Slow password work (scrypt), at most ``workers`` at a time, the client addresses served in turn.

    At most ``per_address`` checks wait or run for one address and ``total`` in all; one more is
    refused at once with 12015 and a message that says to wait. A check whose client has gone
    (its request was cancelled) leaves the queue without being computed.
    """

    def __init__(self, executor: Executor, workers: int, per_address: int, total: int) -> None:
        self.executor = executor
        self.workers = workers
        self.per_address = per_address
        self.total = total
        self._running = 0
        self._held: Counter[str] = Counter()  # waiting or running, per address
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    def __len__(self) -> int:
        """Checks waiting or running."""
        return sum(self._held.values())

    async def run(self, address: str, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` on the executor, in turn; ApiError 12015 when the queue is full."""
        self._admit(address)
        self._held[address] += 1
        try:
            await self._turn(address)
            try:
                return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)
            finally:
                self._running -= 1
                self._wake()
        finally:
            self._held[address] -= 1
            if not self._held[address]:
                del self._held[address]

    def _admit(self, address: str) -> None:
        if self._held[address] >= self.per_address:
            raise ApiError(ErrorCode.LOGIN_QUEUE_FULL,
                           f"{self.per_address} logins from your address are already being checked: wait for "
                           "their answers, then try again.")
        if len(self) >= self.total:
            raise ApiError(ErrorCode.LOGIN_QUEUE_FULL,
                           f"The server is already checking {self.total} logins: try again in a few seconds.")

    async def _turn(self, address: str) -> None:
        """Return when a worker is free for this address (first come, addresses in turn)."""
        if self._running < self.workers and not self._waiting:
            self._running += 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(address, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # given a worker just as the client left: pass it on
                self._running -= 1
                self._wake()
            log.debug("a password check was dropped before it ran: its client has gone")
            raise

    def _wake(self) -> None:
        while self._running < self.workers and self._waiting:
            address, waiting = next(iter(self._waiting.items()))
            turn = waiting.popleft()
            if waiting:
                self._waiting.move_to_end(address)  # the next address's turn
            else:
                del self._waiting[address]
            if not turn.cancelled():
                self._running += 1
                turn.set_result(None)


class AccountBook:
    """Account rules over the store. Hash work is passed in already done (see the actions)."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    def ensure_admin(self, password_hash: str | None = None) -> None:
        """Create ADMIN/ADMIN on a fresh server; ``password_hash``: that password's hash if it was
        computed already (see :meth:`~.backend.Backend.listening`), else it is computed here."""
        if self.store.account(ADMIN) is None:
            password_hash = password_hash or hash_password(ADMIN)
            self.store.insert_account(AccountRow(ADMIN, ADMIN, password_hash, "", True,
                                                 password_changed=self.clock()))

    def admin_password_is_default(self) -> bool:
        """True while ADMIN's password is still ADMIN (one slow check: call it at start only)."""
        row = self.store.account(ADMIN)
        return row is not None and verify_password(ADMIN, row.password_hash)

    def find(self, username: str) -> AccountRow | None:
        return self.store.account(name_key(username))

    def stored_hash_for(self, username: str) -> str:
        """The hash to verify against: the account's, or a dummy one for unknown names."""
        row = self.find(username)
        return row.password_hash if row is not None else _dummy_hash()

    def require_admin(self, caller: AccountRow | None, action: str) -> None:
        if caller is None or not caller.is_admin:
            raise ApiError(
                ErrorCode.ADMIN_REQUIRED,
                f"{action} needs administrator rights: send it with an authToken from a session of the ADMIN account.",
            )

    def ensure_free(self, username: str) -> None:
        """Raise 12020 if an account has this name, in any case."""
        if self.store.account(name_key(username)) is not None:
            raise ApiError(
                ErrorCode.ACCOUNT_EXISTS,
                f'An account named "{username}" already exists (names ignore case): choose another username.',
            )

    def new_account(self, username: str, password_hash: str, description: str,
                    properties: dict[str, Any]) -> AccountRow:
        """The row createAccount stores (the server writes it off the loop, with Backend.commit)."""
        self.ensure_free(username)  # again: another createAccount may have taken the name while we hashed
        return AccountRow(name_key(username), username, password_hash, description, False, properties, self.clock())

    def create(self, username: str, password_hash: str, description: str, properties: dict[str, Any]) -> AccountRow:
        row = self.new_account(username, password_hash, description, properties)
        self.store.insert_account(row)
        return row

    def existing(self, username: str) -> AccountRow:
        """The account called ``username``; 12012 naming it when there is none."""
        row = self.find(username)
        if row is None:
            raise ApiError.invalid("username", f'"{username}"', "no account has that name; see listAccounts")
        return row

    def drop(self, row: AccountRow) -> None:
        """Delete the account and its permanent sessions (the caller has refused ADMIN already)."""
        assert not row.is_admin, "the administrator account is never dropped"
        self.store.delete_account(row.name_key)
