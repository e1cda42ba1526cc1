"""The room view: what a workshop trainer sees of the learners' sessions and API keys.

:func:`room` looks at the room with ``describeSessions`` (an administrator sees every session):
per learner, the live sessions, whether one of them is permanent (an API key), and, compared with
the previous snapshot, how many API keys the learner has revoked since the first look. Snapshots
keep one-way fingerprints of the keys, never the keys. ``tutorial-kit room`` prints it;
``kit.panels.room_panel`` shows it in JupyterLab.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import JsonActionError, KitUsageError
from .._files import replace_file
from ..client.kit_client import KitClient
from ..client.response import fingerprint
from .roster import _call, admin_session

__all__ = ["LearnerRow", "RoomSnapshot", "summarize_room", "format_room", "load_snapshot", "save_snapshot", "room"]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class LearnerRow:
    """One learner in the room."""

    username: str
    live_sessions: int
    permanent_sessions: int
    revoked: int
    last_request: str | None

    @property
    def has_api_key(self) -> bool:
        """True when the learner holds at least one live permanent session."""
        return self.permanent_sessions > 0


@dataclass(frozen=True)
class RoomSnapshot:
    """Fingerprints of each learner's live API keys, and of those revoked since the first snapshot."""

    permanent: dict[str, frozenset[str]] = field(default_factory=dict)
    revoked: dict[str, frozenset[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (sorted lists)."""
        return {"version": 1,
                "permanent": {k: sorted(v) for k, v in sorted(self.permanent.items())},
                "revoked": {k: sorted(v) for k, v in sorted(self.revoked.items())}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoomSnapshot:
        """The snapshot :meth:`to_json` wrote."""
        return cls({k: frozenset(v) for k, v in data.get("permanent", {}).items()},
                   {k: frozenset(v) for k, v in data.get("revoked", {}).items()})


def _group_sessions(sessions: Sequence[Mapping[str, Any]], exclude: set[str]) -> dict[str, list[Mapping[str, Any]]]:
    by_learner: dict[str, list[Mapping[str, Any]]] = {}
    for session in sessions:
        if session.get("authToken") not in exclude:
            by_learner.setdefault(str(session.get("username", "")).upper(), []).append(session)
    return by_learner


def summarize_room(sessions: Sequence[Mapping[str, Any]], learners: Sequence[str] | None = None,
                   previous: RoomSnapshot | None = None, *, exclude_tokens: Sequence[str] = (),
                   exclude_users: Sequence[str] = ()) -> tuple[list[LearnerRow], RoomSnapshot]:
    """Rows for the room from ``describeSessions``'s session objects, and the next snapshot.

    ``learners`` fixes who is listed, in that order (a learner without sessions gets a row of
    zeros); None lists everyone seen in ``sessions`` except ``exclude_users``, by name.
    ``exclude_tokens`` (the trainer's own session) are not counted. A learner's API key that was
    in ``previous`` and is gone now counts as revoked, and stays counted in later snapshots.
    """
    previous = previous or RoomSnapshot()
    by_learner = _group_sessions(sessions, set(exclude_tokens))
    skip = {name.upper() for name in exclude_users}
    names = list(learners) if learners is not None else sorted(
        {str(s[0].get("username")) for key, s in by_learner.items() if key not in skip}, key=str.upper)
    rows, permanent, revoked = [], {}, dict(previous.revoked)
    for name in names:
        key, own = name.upper(), by_learner.get(name.upper(), [])
        keys_now = frozenset(fingerprint(str(s.get("authToken"))) for s in own if s.get("permanentSession") is True)
        gone = previous.permanent.get(key, frozenset()) - keys_now
        revoked[key] = previous.revoked.get(key, frozenset()) | gone
        permanent[key] = keys_now
        stamps = [str(s["sessionLastAccessedTimestamp"]) for s in own if s.get("sessionLastAccessedTimestamp")]
        rows.append(LearnerRow(name, len(own), len(keys_now), len(revoked[key]), max(stamps, default=None)))
    return rows, RoomSnapshot({k: v for k, v in permanent.items() if v}, {k: v for k, v in revoked.items() if v})


def format_room(rows: Sequence[LearnerRow]) -> str:
    """The rows as a plain-text table, with a one-line summary under it."""
    header = ("learner", "live sessions", "API key", "revoked", "last request (UTC)")
    body = [(r.username, str(r.live_sessions), "yes" if r.has_api_key else "-", str(r.revoked),
             r.last_request or "-") for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i in (0, 4) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in [header, *body]
    ]
    with_key = sum(r.has_api_key for r in rows)
    revoked = sum(r.revoked > 0 for r in rows)
    lines.append(f"{len(rows)} learner(s): {sum(r.live_sessions > 0 for r in rows)} with a live session, "
                 f"{with_key} holding an API key, {revoked} revoked one")
    return "\n".join(lines)


def load_snapshot(path: str | os.PathLike[str]) -> RoomSnapshot | None:
    """The snapshot saved at ``path``, or None when there is none yet."""
    try:
        return RoomSnapshot.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, AttributeError, TypeError) as err:
        raise KitUsageError(f"{path} is not a room snapshot ({err}); delete it to start a new one") from err


def save_snapshot(path: str | os.PathLike[str], snapshot: RoomSnapshot) -> None:
    """Save ``snapshot`` at ``path`` (mode 0600), replacing the previous one in one step."""
    replace_file(Path(path), json.dumps(snapshot.to_json(), indent=1) + "\n")


def _accounts_on_server(client: KitClient) -> list[str] | None:
    """Every account name, or None when the server refuses listAccounts (then: everyone with a session)."""
    try:
        result = _call(client, "listAccounts")
    except JsonActionError as err:
        log.info("listAccounts refused (%s): listing everyone who has a session", err.error_code)
        return None
    return [str(account["username"]) for account in result.get("accounts", [])]


def room(url: str, *, admin_username: str = "ADMIN", admin_password: str, verify: bool | str = True,
         learners: Sequence[str] | None = None, snapshot: str | os.PathLike[str] | None = None) -> list[LearnerRow]:
    """Look at the room on ``url``: one row per learner (see :func:`summarize_room`).

    ``learners``: who to list (a roster's usernames); None = every account but the administrator's
    (or, on a server without listAccounts, everyone with a session). ``snapshot``: a file that keeps
    the fingerprints of API keys between calls, so that revoked keys can be counted.
    """
    previous = load_snapshot(snapshot) if snapshot is not None else None
    with admin_session(url, admin_username, admin_password, verify=verify) as client:
        sessions = _call(client, "describeSessions")["sessions"]
        if learners is None:
            accounts = _accounts_on_server(client)
            learners = [n for n in accounts if n.upper() != admin_username.upper()] if accounts is not None else None
        own_token = client.auth_token or ""
    rows, current = summarize_room(sessions, learners, previous, exclude_tokens=[own_token],
                                   exclude_users=[admin_username])
    if snapshot is not None:
        save_snapshot(snapshot, current)
    return rows
