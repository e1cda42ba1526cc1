"""An account's own login rules, from FairCom's account properties, checked at createSession.

- ``enableDatetime`` / ``disableDatetime``: the first and last moment the account may log in.
- ``lockoutAfterNFailedAttempts``: that many wrong passwords in a row lock the account (from any
  address) for ``lockoutWaitMinutes``; the right password is refused too until the time is up.

These are on top of the kit's own throttle (:class:`accounts.LoginThrottle`, per address), which
applies to every account. Dates are UTC, like the session timestamps (kit's choice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from .account_props import parse_account_datetime
from .errors import ApiError, ErrorCode
from .kit_choices import choice
from .store import AccountRow

__all__ = ["AccountLockout", "check_login_window"]



def _epoch(moment: dt.datetime) -> float:
    return moment.replace(tzinfo=dt.UTC).timestamp()


def check_login_window(row: AccountRow, now: float) -> None:
    """Raise 12033 if ``now`` is before the account's enableDatetime or after its disableDatetime."""
    enable, disable = row.properties.get("enableDatetime"), row.properties.get("disableDatetime")
    if enable:
        start, _ = parse_account_datetime(enable)
        if now < _epoch(start):
            raise ApiError(ErrorCode.BAD_CREDENTIALS,
                           f'This account may log in from {enable} (UTC, its enableDatetime) on. Wait until then, '
                           "or ask an administrator to change it with alterAccount.")
    if disable:
        end, date_only = parse_account_datetime(disable)
        last = _epoch(end + dt.timedelta(days=1)) if date_only else _epoch(end) + 1  # a date: that whole day
        if now >= last:
            raise ApiError(ErrorCode.BAD_CREDENTIALS,
                           f"This account could log in until {disable} (UTC, its disableDatetime) and is now disabled. "
                           "Ask an administrator to change its disableDatetime with alterAccount.")


@dataclass
class AccountLockout:
    """Consecutive wrong passwords per account, and the accounts locked out because of them.

    Kept in memory (kit's choice): a restart of the server ends every lockout.
    """

    clock: Callable[[], float]
    _failures: dict[str, int] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def check(self, row: AccountRow) -> None:
        """Raise 12033 while ``row`` is locked out."""
        until = self._locked_until.get(row.name_key)
        if until is None:
            return
        now = self.clock()
        if now >= until:
            del self._locked_until[row.name_key]
            return
        minutes = max(1, int((until - now + 59) // 60))
        raise ApiError(ErrorCode.BAD_CREDENTIALS,
                       f"This account is locked after {row.properties.get('lockoutAfterNFailedAttempts')} wrong "
                       f"passwords in a row (its lockoutAfterNFailedAttempts). Try again in {minutes} minute(s), "
                       "or ask an administrator.")

    def failed(self, row: AccountRow) -> None:
        """Count a wrong password; lock the account when it has a limit and reached it."""
        limit = row.properties.get("lockoutAfterNFailedAttempts", 0)
        if not limit:
            return
        count = self._failures.get(row.name_key, 0) + 1
        if count >= limit:
            wait = row.properties.get("lockoutWaitMinutes", choice("account_lockout_default_wait_minutes"))
            self._locked_until[row.name_key] = self.clock() + 60 * wait
            self._failures.pop(row.name_key, None)
        else:
            self._failures[row.name_key] = count

    def succeeded(self, row: AccountRow) -> None:
        self._failures.pop(row.name_key, None)

    def forget(self, key: str) -> None:
        """Clear the account's count and lock (its rules changed, or it was dropped)."""
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)
