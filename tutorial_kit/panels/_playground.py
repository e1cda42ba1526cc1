"""Playground: pick an action, edit its request, see the linter's warnings, send it, see the answer.

It starts on ``pingSession``, which changes nothing on the server; the ``createSession`` template
asks for a temporary session: a new permanent session (an API key that never expires) is made
only when the learner writes ``"permanentSession": true`` in the request.

Templates use FairCom's documentation placeholders (``replaceWithAuthTokenFromCreateSession``,
``"CHANGE"`` for createSession's credentials). With "fill placeholders" ticked, the send fills
them from the client (:func:`~tutorial_kit.client.placeholders.fill_placeholders`) and says so; a
request without placeholders is sent exactly as typed (``call_text``), so the server sees a key
written twice too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._exceptions import KitUsageError
from ..client.lint import ADMIN_ACTIONS, lint_request, parse_request
from ..client.placeholders import fill_placeholders
from ..notebook.display import NoteList, response_html
from ._common import FONT, Panel, css

if TYPE_CHECKING:
    from ..client.kit_client import KitClient
    from ..client.response import Response

__all__ = ["Playground", "TEMPLATES", "template"]

_TOKEN = "replaceWithAuthTokenFromCreateSession"

#: action -> (params or None, authToken placeholder or None)
TEMPLATES: dict[str, tuple[dict[str, Any] | None, str | None]] = {
    "createSession": ({"username": "CHANGE", "password": "CHANGE", "description": "made in the playground"}, None),
    "describeSessions": ({"authTokens": ["replaceWithTheAuthTokensYouWantToCheck"]}, _TOKEN),
    "listSessions": ({}, "anAuthorizationTokenFromTheServer"),
    "pingSession": (None, "anAuthorizationTokenFromTheServer"),
    "alterSession": ({"description": "changed in the playground"}, "replaceWithValidAuthtoken"),
    "deleteSession": (None, _TOKEN),
    "listServices": (None, None),
    # the account actions in FairCom's shapes (accountDescription, usernames, partialNames)
    "createAccount": ({"username": "learner1", "password": "CHANGE", "accountDescription": "a learner"}, _TOKEN),
    "alterAccount": ({"username": "learner1", "password": "CHANGE"}, _TOKEN),
    "dropAccounts": ({"usernames": ["learner1"]}, _TOKEN),
    "dropAccount": ({"username": "learner1"}, _TOKEN),
    "listAccounts": ({"partialNames": ["learner"]}, _TOKEN),
    "describeAccounts": ({"usernames": ["learner1"]}, _TOKEN),
}


def template(action: str) -> str:
    """The request text the playground starts from for ``action`` (FairCom's key order)."""
    params, token = TEMPLATES.get(action, (None, _TOKEN))
    request: dict[str, Any] = {"api": "admin", "action": action}
    if params is not None:
        request["params"] = params
    if token is not None:
        request["authToken"] = token
    return json.dumps(request, indent=2)


class Playground(Panel):
    """Send any admin request through ``client``, with lint warnings shown before sending.

    Widgets (attributes): ``action_dropdown``, ``request_text`` (Textarea), ``fill_checkbox``,
    ``send_button``, ``lint_html``, ``answer_html``, ``error_html``. Data: ``last_response``,
    ``warnings`` (the current lint warnings).
    """

    def __init__(self, client: KitClient, action: str = "pingSession") -> None:
        self.client = client
        self.last_response: Response | None = None
        self.warnings: list[Any] = []
        self.action_dropdown = css(widgets.Dropdown(options=list(ADMIN_ACTIONS), value=action,
                                                    description="action"), "kit-action")
        self.request_text = css(widgets.Textarea(value=template(action), rows=10,
                                                 layout=widgets.Layout(width="100%", max_width="640px")),
                                "kit-request")
        self.fill_checkbox = css(widgets.Checkbox(value=True, indent=False,
                                                  description="fill FairCom's placeholders from the client"),
                                 "kit-fill")
        self.send_button = css(widgets.Button(description="send", icon="paper-plane", button_style="primary"),
                               "kit-send")
        self.lint_html = css(widgets.HTML(), "kit-lint")
        self.answer_html = css(widgets.HTML(), "kit-answer")
        super().__init__("Playground", [self.action_dropdown, self.request_text,
                                        widgets.HBox([self.send_button, self.fill_checkbox]),
                                        self.lint_html, self.answer_html], "kit-playground")
        self.action_dropdown.observe(self.guard("loading the template", self._on_action), names="value")
        self.request_text.observe(self.guard("checking the request", lambda _c: self.lint()), names="value")
        self.fill_checkbox.observe(self.guard("checking the request", lambda _c: self.lint()), names="value")
        self.send_button.on_click(self.guard("sending the request", self._on_send))
        self.run_guarded("checking the request", self.lint)

    def _effective(self, text: str) -> tuple[dict[str, Any] | None, list[str]]:
        """The request as it will be sent (placeholders filled) and the fill notes; None if not JSON."""
        try:
            request = parse_request(text)
        except KitUsageError:
            return None, []
        if not self.fill_checkbox.value:
            return request, []
        filled, notes = fill_placeholders(request, self.client)
        return filled, notes

    def _on_action(self, change: dict[str, Any]) -> None:
        self.request_text.value = template(change["new"])

    def lint(self) -> None:
        """Check the request text (as it will be sent) and show the warnings."""
        text = self.request_text.value
        effective, _notes = self._effective(text)
        self.warnings = lint_request(text, effective=effective)
        if not self.warnings:
            self.lint_html.value = f'<div style="{FONT};color:#0f5132">lint: no warnings</div>'
        else:
            self.lint_html.value = NoteList("lint warnings (before sending)", map(str, self.warnings),
                                            tone="warning")._repr_html_()

    def _on_send(self, _button: widgets.Button) -> None:
        text = self.request_text.value
        self.lint()
        request, notes = self._effective(text)
        if request is not None and request != self._parsed_or_none(text):
            response = self.client.call(request)  # placeholders filled: send the filled request
        else:
            response = self.client.call_text(text)  # exactly as typed (repeated keys and all)
        self.last_response = response
        filled = NoteList("placeholders", notes)._repr_html_() if notes else ""
        self.answer_html.value = filled + response_html(response)

    @staticmethod
    def _parsed_or_none(text: str) -> dict[str, Any] | None:
        try:
            return parse_request(text)
        except KitUsageError:
            return None

    def state_text(self) -> str:
        count = len(self.warnings)
        text = f"<Playground: {self.action_dropdown.value}, {count} lint warning{'s' * (count != 1)}"
        if self.last_response is not None:
            text += f"; last answer errorCode {self.last_response.error_code}"
        return text + ">"
