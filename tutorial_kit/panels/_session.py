"""SessionPanel: log in with a username and password, temporary or permanent (an API key)."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..client.response import mask_token
from ..notebook.display import json_text, mask_for_display, timeout_words
from ._common import FONT, MONO, Panel, SecretInput, badge, css, masked, note_html

if TYPE_CHECKING:
    from ..client.kit_client import KitClient
    from ..client.response import Response

__all__ = ["SessionPanel", "session_result_html"]


def session_result_html(response: Response) -> str:
    """The answer to createSession at a glance: permanentSession, idle timeout, the shortened token."""
    envelope = mask_for_display(response.envelope, url=response.url)
    head = badge(f"errorCode {response.error_code}", "ok" if response.ok else "error", "kit-error-code")
    if not response.ok:
        message = html.escape(str(envelope.get("errorMessage", "")))
        body = (f"<div>{head} <strong>createSession</strong> failed</div>"
                f'<div class="kit-error-message" style="margin:3px 0">{message}</div>')
    else:
        session = envelope.get("result") if isinstance(envelope.get("result"), dict) else {}
        permanent = session.get("permanentSession")
        token = mask_token(response.auth_token) if response.auth_token else "(none)"
        body = (
            f"<div>{head} <strong>createSession</strong> success: this client now uses the new session</div>"
            '<div style="margin:3px 0">'
            + badge(f"permanentSession: {json.dumps(permanent)}", "ok" if permanent is True else "muted",
                    "kit-permanent-session")
            + ' &nbsp;idleConnectionTimeoutSeconds: <strong class="kit-idle-timeout">'
            + html.escape(timeout_words(session.get("idleConnectionTimeoutSeconds")))
            + f'</strong> &nbsp;authToken: <code class="kit-token" style="{MONO}">{html.escape(token)}</code></div>'
        )
    details = (f'<details><summary>JSON</summary><pre style="{MONO};white-space:pre-wrap;margin:2px 0">'
               f"{html.escape(json_text(envelope))}</pre></details>")
    return f'<div style="{FONT}">{body}{details}</div>'


class SessionPanel(Panel):
    """Create a session for ``client`` (``client.create_session(..., check=False)``).

    Widgets (attributes): ``username_text``, ``password_input`` (a Password field, emptied after
    each attempt so it does not linger in the widget state), ``permanent_checkbox``,
    ``create_button``, ``result_html``, ``error_html``. Data: ``last_response``.
    """

    def __init__(self, client: KitClient) -> None:
        self.client = client
        self.last_response: Response | None = None
        self.username_text = css(widgets.Text(value=client.username or "", description="username"), "kit-username")
        self.password_input = css(SecretInput(value="", description="password",
                                              placeholder="the account's password"), "kit-password")
        self.permanent_checkbox = css(widgets.Checkbox(value=False, description="permanent session (API key)",
                                                       indent=False), "kit-permanent")
        self.create_button = css(widgets.Button(description="create session", button_style="primary",
                                                icon="key"), "kit-create")
        self.result_html = css(widgets.HTML(), "kit-result")
        form = widgets.VBox([self.username_text, self.password_input,
                             widgets.HBox([self.permanent_checkbox, self.create_button])])
        super().__init__("Create a session", [form, self.result_html], "kit-session-panel")
        self.create_button.on_click(self.guard("creating the session", self._on_create))

    def _on_create(self, _button: widgets.Button) -> None:
        username, password = self.username_text.value.strip(), self.password_input.value
        self.password_input.value = ""
        if not username or not password:
            self.result_html.value = note_html("Type a username and a password first.", "warn")
            return
        self.result_html.value = note_html("sending createSession…", "info")
        response = self.client.create_session(username, password, permanent=self.permanent_checkbox.value,
                                              check=False)
        self.last_response = response
        self.result_html.value = session_result_html(response)

    def state_text(self) -> str:
        text = f"<SessionPanel: username {masked(self.username_text.value)!r}, permanent "
        text += "ticked" if self.permanent_checkbox.value else "not ticked"
        if self.last_response is not None:
            r = self.last_response
            extra = ""
            if r.ok and isinstance(r.result, dict):
                extra = f", permanentSession {json.dumps(r.result.get('permanentSession'))}"
            text += f"; last answer errorCode {r.error_code}{extra}"
        return text + ">"
