"""The room panel: a trainer's live view of a workshop's learners.

One row per learner: live sessions, whether they hold an API key, how many they revoked, their
last request. It reads ``describeSessions`` (and ``listAccounts`` for the names) through the
trainer's administrator client, and keeps the fingerprints of API keys between refreshes so that
revoked keys can be counted (see :func:`tutorial_kit.workshop.roster.summarize_room`). Refresh by hand,
or switch on automatic refresh.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..workshop.room import LearnerRow, RoomSnapshot, format_room, summarize_room
from ._common import FONT, Panel, badge, css

if TYPE_CHECKING:
    from ..client.kit_client import KitClient

__all__ = ["RoomPanel"]


class RoomPanel(Panel):
    """Learners' sessions and API keys, refreshed on demand or every ``interval`` seconds."""

    def __init__(self, client: KitClient, learners: Sequence[str] | None = None, interval: float = 10.0) -> None:
        self.client = client
        self.learners = list(learners) if learners is not None else None
        self.interval = interval
        self.rows: list[LearnerRow] = []
        self._snapshot = RoomSnapshot()
        self._timer: threading.Timer | None = None
        self.refresh_button = css(widgets.Button(description="refresh", icon="refresh"), "kit-room-refresh")
        self.auto_checkbox = css(widgets.Checkbox(description=f"refresh every {interval:g} s", value=False),
                                 "kit-room-auto")
        self.table_html = css(widgets.HTML(""), "kit-room-table")
        self.refresh_button.on_click(self.guard("refreshing the room", lambda _: self.refresh()))
        self.auto_checkbox.observe(self.guard("switching automatic refresh", self._on_auto), names="value")
        super().__init__("Room", [widgets.HBox([self.refresh_button, self.auto_checkbox]), self.table_html],
                         "kit-room-panel")
        self.run_guarded("reading the room", self.refresh)

    def _learner_names(self) -> list[str] | None:
        if self.learners is not None:
            return self.learners
        answer = self.client.list_accounts(check=False)
        if not answer.ok:  # a real FairCom server has no listAccounts: list whoever has a session
            return None
        own = (self.client.username or "").upper()
        return [a["username"] for a in answer.result.get("accounts", []) if a["username"].upper() != own]

    def refresh(self) -> None:
        """Read the server again and redraw the table."""
        sessions = self.client.describe_sessions().result.get("sessions", [])
        self.rows, self._snapshot = summarize_room(
            sessions, self._learner_names(), self._snapshot,
            exclude_tokens=[self.client.auth_token or ""], exclude_users=[self.client.username or ""])
        self.table_html.value = self._table()

    def _table(self) -> str:
        if not self.rows:
            how = "create accounts with <code>tutorial-kit accounts create</code>"
            return f'<div style="{FONT}">No learners yet: {how}.</div>'
        cells = "".join(
            f"<tr><td>{html.escape(r.username)}</td><td style='text-align:right'>{r.live_sessions}</td>"
            f"<td>{badge('API key', 'ok') if r.has_api_key else badge('none', 'muted')}</td>"
            f"<td style='text-align:right'>{r.revoked}</td><td>{html.escape(r.last_request or '-')}</td></tr>"
            for r in self.rows)
        head = "".join(f"<th style='text-align:left;padding-right:12px'>{h}</th>"
                       for h in ("learner", "live sessions", "holds", "revoked", "last request (UTC)"))
        return f'<table style="{FONT}"><tr>{head}</tr>{cells}</table>'

    def _on_auto(self, change: dict) -> None:
        if change["new"]:
            self._schedule()
        else:
            self.stop()

    def _schedule(self) -> None:
        self._timer = threading.Timer(self.interval, self._tick)
        self._timer.daemon = True
        self._timer.start()

    def _tick(self) -> None:
        self.run_guarded("refreshing the room", self.refresh)
        if self.auto_checkbox.value:
            self._schedule()

    def stop(self) -> None:
        """Stop automatic refresh (idempotent)."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if self.auto_checkbox.value:
            self.auto_checkbox.value = False

    def state_text(self) -> str:
        with_key = sum(r.has_api_key for r in self.rows)
        return f"<RoomPanel: {len(self.rows)} learner(s), {with_key} holding an API key>"

    def text(self) -> str:
        """The room as a plain-text table (what ``tutorial-kit room`` prints)."""
        return format_room(self.rows)
