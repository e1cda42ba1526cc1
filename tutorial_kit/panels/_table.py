"""SessionsTable: describeSessions as a table, one revoke button per session.

Each row shows the token (shortened), user, description, kind, idle timeout and start time.
Revoking asks first: "revoke" turns into "yes, revoke" / "keep", because a revoked API key cannot
be brought back. The table describes sessions with the client's own token. A client without one gets no hidden
login: the table says "create a session first" and offers a ``log in`` button (a temporary
session with the client's username and password) when the client has credentials.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..client.response import mask_token
from ._common import FONT, MONO, Panel, badge, css, masked, note_html

if TYPE_CHECKING:
    from ..client.kit_client import KitClient
    from ..client.response import Response

__all__ = ["SessionRow", "SessionsTable"]

#: column title and width
_COLUMNS = (("token", "6em"), ("user", "8em"), ("description", "13em"), ("kind", "8.5em"),
            ("idle timeout", "8.5em"), ("started", "11.5em"), ("", "15em"))


def _cell(content: str, width: str, css_class: str = "") -> widgets.HTML:
    cell = widgets.HTML(f'<span style="{FONT}">{content}</span>', layout=widgets.Layout(width=width))
    return css(cell, css_class) if css_class else cell


def idle_words(seconds: Any) -> str:
    """idleConnectionTimeoutSeconds for the table: -1 is "never expires"."""
    if seconds == -1:
        return "never expires"
    if seconds == 0:
        return "no idle timeout"
    return f"{seconds} s" if isinstance(seconds, int) else str(seconds)


class SessionRow:
    """One session of the table: ``token`` (the full token, used by revoke, never displayed),
    ``username``, ``permanent``, ``own`` (the client's current session), ``revoke_button`` (asks
    first), ``confirm_button`` and ``cancel_button`` (shown while asking) and ``box`` (the row's HBox)."""

    def __init__(self, session: dict[str, Any], *, own: bool) -> None:
        self.session = session
        self.token = str(session.get("authToken", ""))
        self.username = str(session.get("username", ""))
        self.permanent = session.get("permanentSession") is True
        self.own = own
        kind = badge("permanent", "ok", "kit-badge-permanent") if self.permanent else \
            badge("temporary", "muted", "kit-badge-temporary")
        mine = ' <span title="the session this client uses">(this client)</span>' if own else ""
        widths = [w for _, w in _COLUMNS]
        button = widgets.Layout(width="7em")
        self.revoke_button = css(widgets.Button(description="revoke", icon="trash", button_style="danger",
                                                tooltip="deleteSession with this token (asks first)",
                                                layout=button), "kit-revoke")
        self.confirm_button = css(widgets.Button(description="yes, revoke", button_style="danger",
                                                 tooltip="send deleteSession now", layout=button), "kit-revoke-confirm")
        self.cancel_button = css(widgets.Button(description="keep", tooltip="do not revoke", layout=button),
                                 "kit-revoke-cancel")
        self.asking = False
        self.actions = widgets.HBox([self.revoke_button], layout=widgets.Layout(width=widths[6]))
        description = session.get("description", "")
        self.cells = [
            _cell(f'<code style="{MONO}">{html.escape(mask_token(self.token))}</code>', widths[0], "kit-token"),
            _cell(html.escape(self.username) + mine, widths[1], "kit-user"),
            _cell(html.escape(masked(description)) if description else '<span style="color:#777">(none)</span>',
                  widths[2], "kit-description"),
            _cell(kind, widths[3], "kit-kind"),
            _cell(html.escape(idle_words(session.get("idleConnectionTimeoutSeconds"))), widths[4], "kit-idle"),
            _cell(html.escape(str(session.get("sessionStartTimestamp", ""))), widths[5], "kit-started"),
        ]
        self.box = css(widgets.HBox([*self.cells, self.actions]), "kit-row")
        if self.permanent:
            self.box.add_class("kit-row-permanent")

    def ask(self, asking: bool) -> None:
        """Show "yes, revoke" and "keep" instead of "revoke" (or back)."""
        self.asking = asking
        self.actions.children = [self.confirm_button, self.cancel_button] if asking else [self.revoke_button]

    def close(self) -> None:
        """Close the row's widgets (their front-end views go away)."""
        for widget in (*self.cells, self.revoke_button, self.confirm_button, self.cancel_button, self.actions,
                       self.box):
            widget.close()

    def __repr__(self) -> str:
        kind = "permanent" if self.permanent else "temporary"
        return f"<SessionRow {mask_token(self.token)} {self.username} {kind}>"


class SessionsTable(Panel):
    """describeSessions as a table: token (shortened), user, description, kind, idle timeout, start.

    Widgets (attributes): ``refresh_button``, ``login_button`` (shown when the client has no
    session), ``message_html``, ``rows_box``, ``rows`` (a list of :class:`SessionRow`, each with
    its ``revoke_button``), ``error_html``. Data: ``last_response`` (the last describeSessions).
    """

    def __init__(self, client: KitClient) -> None:
        self.client = client
        self.rows: list[SessionRow] = []
        self.last_response: Response | None = None
        self.summary = "not read yet"
        self.refresh_button = css(widgets.Button(description="refresh", icon="refresh"), "kit-refresh")
        self.login_button = css(widgets.Button(description="log in", icon="sign-in",
                                               tooltip="createSession with the client's username and password",
                                               layout=widgets.Layout(display="none")), "kit-login")
        self.message_html = css(widgets.HTML(), "kit-message")
        self.header = widgets.HBox([_cell(f"<strong>{t}</strong>", w) for t, w in _COLUMNS],
                                   layout=widgets.Layout(border_bottom="1px solid #c8c8c8"))
        self.rows_box = css(widgets.VBox([]), "kit-rows")
        super().__init__("Sessions (describeSessions)",
                         [widgets.HBox([self.refresh_button, self.login_button]), self.message_html,
                          self.rows_box], "kit-sessions-table")
        self.refresh_button.on_click(self.guard("reading the sessions", lambda _b: self.refresh()))
        self.login_button.on_click(self.guard("logging in", self._on_login))
        self.run_guarded("reading the sessions", self.refresh)

    # --- callbacks ----------------------------------------------------------------------------

    def _on_login(self, _button: widgets.Button) -> None:
        self.client.create_session()
        self.refresh()

    def _on_ask(self, row: SessionRow) -> None:
        for other in self.rows:
            other.ask(other is row)
        what = "An API key cannot be brought back once revoked." if row.permanent else "The session ends."
        self.message_html.value = note_html(f"Revoke {mask_token(row.token)}? {what}", "warn", "kit-asking")

    def _on_keep(self, row: SessionRow) -> None:
        row.ask(False)
        self.message_html.value = note_html(f"kept {mask_token(row.token)}.", "info")

    def _on_revoke(self, row: SessionRow) -> None:
        response = self.client.delete_session(row.token, check=False)
        if response.ok:
            what = "the API key no longer works" if row.permanent else "the session ended"
            text = f"revoked {mask_token(row.token)}: {what}."
            if row.own:
                text += " It was this client's own session: the client has none now."
            self.refresh()
            self.message_html.value = note_html(text, "ok") + self.message_html.value
        else:
            self.message_html.value = note_html(
                masked(f"deleteSession failed: errorCode {response.error_code}: {response.error_message}"), "error")

    # --- view ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Describe the sessions again (with the client's token) and rebuild the rows."""
        self.summary = "could not read the sessions (see the panel)"
        if not self.client.auth_token:
            self.last_response = None
            self._set_rows([])
            self.message_html.value = note_html(
                "This client has no session to describe sessions with: create a session first "
                "(the session panel, or client.create_session()), then press refresh.", "info", "kit-no-session")
            can_login = bool(self.client.username and self.client.password)
            self.login_button.layout.display = None if can_login else "none"
            self.summary = "no session to describe with (create a session first)"
            return
        self.login_button.layout.display = "none"
        response = self.client.describe_sessions(check=False)
        self.last_response = response
        if not response.ok:
            self._set_rows([])
            self.message_html.value = note_html(masked(
                f"describeSessions failed: errorCode {response.error_code}: {response.error_message}"), "error")
            self.summary = f"describeSessions errorCode {response.error_code}"
            return
        sessions = response.result.get("sessions", []) if isinstance(response.result, dict) else []
        self._set_rows([s for s in sessions if isinstance(s, dict)])
        permanent = sum(row.permanent for row in self.rows)
        self.summary = f"{len(self.rows)} session(s), {permanent} permanent"
        self.message_html.value = (f'<div style="{FONT}">{len(self.rows)} session(s), {permanent} permanent '
                                   "(as this client sees them)</div>")

    def _set_rows(self, sessions: list[dict[str, Any]]) -> None:
        old, self.rows = self.rows, [SessionRow(s, own=s.get("authToken") == self.client.auth_token)
                                     for s in sessions]
        for row in self.rows:
            row.revoke_button.on_click(self.guard("asking before revoking", lambda _b, r=row: self._on_ask(r)))
            row.confirm_button.on_click(self.guard("revoking the session", lambda _b, r=row: self._on_revoke(r)))
            row.cancel_button.on_click(self.guard("keeping the session", lambda _b, r=row: self._on_keep(r)))
        self.rows_box.children = [self.header, *(row.box for row in self.rows)] if self.rows else []
        for row in old:  # after they left the box: their views go away with them
            row.close()

    def state_text(self) -> str:
        return f"<SessionsTable: {self.summary}>"
