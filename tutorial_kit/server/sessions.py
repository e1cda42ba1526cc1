"""Live sessions: the session object, idle expiry and the three session limits.

A :class:`LiveSessions` holds every live session, temporary and permanent, in creation order. It
knows nothing of HTTP or SQLite: the actions decide what to store. Each session keeps its JSON
text rendered around the last-access time (from its first use on, so that loading 10,000 permanent
sessions at start renders nothing), so describing 10,000 sessions is a string join.
"""

from __future__ import annotations

import functools
import heapq
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .kit_choices import choice

__all__ = ["HostInfo", "Session", "LiveSessions", "format_timestamp", "extend_json", "SESSION_KEYS"]

#: The session object's keys, in the order every answer uses (the seed is the reference).
SESSION_KEYS = (
    "authToken", "username", "description", "defaultDatabaseName", "defaultOwnerName",
    "defaultBinaryFormat", "defaultVariantFormat", "defaultStringFormat", "defaultFixedLengthCharFormat",
    "defaultResponseOptions", "idleConnectionTimeoutSeconds", "idleCursorTimeoutSeconds", "defaultApi",
    "defaultDebug", "transformBufferInitialBytes", "permanentSession", "sessionStartTimestamp",
    "sessionLastAccessedTimestamp", "defaultRetentionPolicy", "defaultRetentionUnit",
    "defaultRetentionPeriod", "serverVersion", "hostname", "hostUuid", "hostIpAddresses",
    "hostServerNamePort", "hostSQLPort",
)

_TS_CACHE: dict[int, str] = {}  # a pure cache: the formatted text of recent seconds
_TO_FIELDS = time.gmtime if choice("timestamp_zone") == "UTC" else time.localtime
#: one compact encoder for every session (json.dumps with separators builds a new one per call)
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode
_LAST_ACCESS_KEY = ',"sessionLastAccessedTimestamp":"'


def format_timestamp(when: float) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` in UTC, no fraction, no zone (cached per second)."""
    second = int(when)
    text = _TS_CACHE.get(second)
    if text is None:
        if len(_TS_CACHE) > 4096:
            _TS_CACHE.clear()
        text = _TS_CACHE[second] = time.strftime("%Y-%m-%dT%H:%M:%S", _TO_FIELDS(second))
    return text


@dataclass(frozen=True)
class HostInfo:
    """What every session object says about the server and its running configuration."""

    hostname: str
    host_uuid: str
    ip_addresses: tuple[str, ...]
    retention_policy: str
    retention_unit: str
    retention_period: int
    server_version: str = ""
    server_name_port: str = "FAIRCOMS"
    sql_port: int = 6597

    def to_dict(self) -> dict[str, Any]:
        """The session object's last keys, which describe the host: the same in every session."""
        return {
            "defaultRetentionPolicy": self.retention_policy,
            "defaultRetentionUnit": self.retention_unit,
            "defaultRetentionPeriod": self.retention_period,
            "serverVersion": self.server_version,
            "hostname": self.hostname,
            "hostUuid": self.host_uuid,
            "hostIpAddresses": list(self.ip_addresses),
            "hostServerNamePort": self.server_name_port,
            "hostSQLPort": self.sql_port,
        }

    @functools.cached_property
    def json_tail(self) -> str:
        """:meth:`to_dict` as compact JSON text that continues an object: ``,"default...":...}``."""
        return "," + _COMPACT(self.to_dict())[1:]


@dataclass(eq=False)
class Session:
    """One live session. ``settings`` holds the session settings (:data:`settings.SESSION_SETTINGS`), resolved."""

    token: str
    seq: int
    username: str
    name_key: str
    settings: dict[str, Any]
    permanent: bool
    started: float
    last_access: float
    client_ip: str
    host: HostInfo
    _head: str = field(default="", repr=False)
    _tail: str = field(default="", repr=False)

    @property
    def idle_timeout(self) -> int:
        return self.settings["idleConnectionTimeoutSeconds"]

    def to_dict(self) -> dict[str, Any]:
        """The session object, keys in the contract's order."""
        out = self._own_dict()
        out["sessionLastAccessedTimestamp"] = format_timestamp(self.last_access)
        out.update(self.host.to_dict())
        return out

    def _own_dict(self) -> dict[str, Any]:
        """The keys before sessionLastAccessedTimestamp: what the session itself says."""
        s = self.settings
        return {
            "authToken": self.token,
            "username": self.username,
            "description": s["description"],
            "defaultDatabaseName": s["defaultDatabaseName"],
            "defaultOwnerName": s["defaultOwnerName"],
            "defaultBinaryFormat": s["defaultBinaryFormat"],
            "defaultVariantFormat": s["defaultVariantFormat"],
            "defaultStringFormat": s["defaultStringFormat"],
            "defaultFixedLengthCharFormat": s["defaultFixedLengthCharFormat"],
            "defaultResponseOptions": s["defaultResponseOptions"],
            "idleConnectionTimeoutSeconds": -1 if self.permanent else s["idleConnectionTimeoutSeconds"],
            "idleCursorTimeoutSeconds": s["idleCursorTimeoutSeconds"],
            "defaultApi": s["defaultApi"],
            "defaultDebug": s["defaultDebug"],
            "transformBufferInitialBytes": 0,
            "permanentSession": self.permanent,
            "sessionStartTimestamp": format_timestamp(self.started),
        }

    def render(self) -> None:
        """Render the compact JSON around the last-access time (call after any change).

        :meth:`to_json` renders on first use, so a session nobody describes is never rendered.
        """
        self._head = _COMPACT(self._own_dict())[:-1] + _LAST_ACCESS_KEY
        self._tail = '"' + self.host.json_tail

    def to_json(self) -> str:
        """The session object as compact JSON text, with the current last-access time."""
        if not self._head:
            self.render()
        return self._head + format_timestamp(self.last_access) + self._tail


def extend_json(out: list[str], sessions: Iterable[Session]) -> None:
    """Append the compact JSON of ``sessions``, comma-separated, to ``out`` as pieces.

    The caller joins ``out`` once: describing 10,000 sessions then builds no string per session,
    only the one answer (each session's own text is rendered once, around its last-access time).
    """
    extend, cache = out.extend, _TS_CACHE
    comma = ""
    for session in sessions:
        if not session._head:
            session.render()
        second = int(session.last_access)
        extend((comma, session._head, cache.get(second) or format_timestamp(second), session._tail))
        comma = ","


class LiveSessions:
    """Every live session, with exact counts for the limits and idle expiry."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._by_token: dict[str, Session] = {}
        self._per_ip: Counter[str] = Counter()
        self._per_user: Counter[str] = Counter()
        self._deadlines: list[tuple[float, str]] = []  # (expiry time, token) of temporary sessions
        self._reserved: Counter[str] = Counter()  # places held for sessions being written to disk
        self.dirty_permanent: dict[str, float] = {}  # last-access times not yet on disk

    def __len__(self) -> int:
        return len(self._by_token)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._by_token.values()))

    def add(self, session: Session) -> None:
        self._by_token[session.token] = session
        self._per_ip[session.client_ip] += 1
        self._per_user[session.name_key] += 1
        if not session.permanent and session.idle_timeout > 0:
            heapq.heappush(self._deadlines, (session.last_access + session.idle_timeout, session.token))

    def remove(self, token: str) -> Session | None:
        session = self._by_token.pop(token, None)
        if session is not None:
            self._per_ip[session.client_ip] -= 1
            self._per_user[session.name_key] -= 1
            self.dirty_permanent.pop(token, None)
        return session

    def get(self, token: str) -> Session | None:
        """The live session for ``token``, or None (an idle-expired one is removed first)."""
        session = self._by_token.get(token)
        if session is not None and self._expired(session, self.clock()):
            self.remove(token)
            return None
        return session

    def touch(self, session: Session) -> None:
        """Restart the session's idle clock."""
        session.last_access = now = self.clock()
        if session.permanent:
            self.dirty_permanent[session.token] = now

    def _expired(self, session: Session, now: float) -> bool:
        timeout = session.idle_timeout
        return not session.permanent and timeout > 0 and now - session.last_access > timeout

    def sweep(self) -> list[Session]:
        """Remove every temporary session whose idle time has run out; return them."""
        now, gone = self.clock(), []
        while self._deadlines and self._deadlines[0][0] < now:
            _, token = heapq.heappop(self._deadlines)
            session = self._by_token.get(token)
            if session is None or session.permanent:
                continue
            if self._expired(session, now):
                gone.append(self.remove(token))
            elif session.idle_timeout > 0:
                heapq.heappush(self._deadlines, (session.last_access + session.idle_timeout, token))
        return [s for s in gone if s is not None]

    def reschedule(self, session: Session) -> None:
        """Call after a session's idle timeout changed."""
        if not session.permanent and session.idle_timeout > 0:
            heapq.heappush(self._deadlines, (session.last_access + session.idle_timeout, session.token))

    def counts(self, client_ip: str, name_key: str) -> tuple[int, int, int]:
        """(all sessions, sessions from this address, sessions of this account), places held included."""
        held = self._reserved
        return (len(self._by_token) + held[""], self._per_ip[client_ip] + held["ip:" + client_ip],
                self._per_user[name_key] + held["user:" + name_key])

    def hold(self, client_ip: str, name_key: str, count: int = 1) -> None:
        """Hold a place in the limits for a session that is being written to disk (``count=-1`` frees it)."""
        for key in ("", "ip:" + client_ip, "user:" + name_key):
            self._reserved[key] += count

    def of_account(self, name_key: str) -> list[Session]:
        return [s for s in self._by_token.values() if s.name_key == name_key]

    def visible_to(self, caller: Session, is_admin: bool) -> Iterable[Session]:
        """Sessions the caller may see, in creation order."""
        if is_admin:
            return list(self._by_token.values())
        return self.of_account(caller.name_key)
