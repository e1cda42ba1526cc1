"""ServerPanel: the server's state, the permanent-session flag in the file and in the running server.

A thin view over a control (:class:`~tutorial_kit.control.local.ServerControl` or
:class:`~tutorial_kit.control.local.RemoteControl`): ``status()`` fills it, the switch calls
``set_default`` and the button calls ``restart()``. With a remote server the switch and the
button are disabled and the panel shows what to do by hand (``control.explain``).
"""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as widgets

from .._exceptions import ConfigFileError
from ..control.remote import RemoteControl
from ..control.status import FLAG, ServerStatus
from ._common import FONT, MONO, Panel, badge, css, masked, note_html

__all__ = ["ServerPanel"]

_CELL = "padding:2px 10px;border-bottom:1px solid #ddd;text-align:left"


def _value(defaults: dict[str, Any] | None, key: str, missing: str) -> str:
    if defaults is None:
        return missing
    return json.dumps(defaults[key], ensure_ascii=False) if key in defaults else "(absent)"


class ServerPanel(Panel):
    """Running or not, URL, enablePermanentJsonApiSessions in services.json vs the running server.

    Widgets (attributes): ``status_html`` (state and the side-by-side table), ``flag_switch``
    (ToggleButton: the flag's value in services.json), ``restart_button``, ``refresh_button``,
    ``message_html`` (what the last action did), ``explain_html`` (remote mode: steps by hand),
    ``error_html``. Data: ``status`` (the last :class:`ServerStatus`), ``start_error`` (the
    message of the last failed start, e.g. a broken services.json; None once a start worked).
    """

    def __init__(self, control: Any) -> None:
        self.control = control
        self.remote = isinstance(control, RemoteControl)
        self.status: ServerStatus | None = None
        self.start_error: str | None = None
        self._syncing = False
        self.status_html = css(widgets.HTML(), "kit-status")
        self.flag_switch = css(widgets.ToggleButton(description="", tooltip=f"{FLAG} in services.json",
                                                    layout=widgets.Layout(width="auto")), "kit-flag-switch")
        self.restart_button = css(widgets.Button(description="restart server", icon="refresh",
                                                 button_style="warning"), "kit-restart")
        self.refresh_button = css(widgets.Button(description="refresh", icon="eye",
                                                 tooltip="read the status again"), "kit-refresh")
        self.message_html = css(widgets.HTML(), "kit-message")
        self.explain_html = css(widgets.HTML(), "kit-explain")
        buttons = widgets.HBox([self.flag_switch, self.restart_button, self.refresh_button])
        super().__init__("Server", [self.status_html, buttons, self.message_html, self.explain_html],
                         "kit-server-panel")
        self.flag_switch.observe(self.guard("editing services.json", self._on_switch), names="value")
        self.restart_button.on_click(self.guard("restarting the server", self._on_restart))
        self.refresh_button.on_click(self.guard("reading the server's status", lambda _b: self.refresh()))
        if self.remote:
            self.flag_switch.disabled = self.restart_button.disabled = True
            self.explain_html.value = self._explain()
        self.run_guarded("reading the server's status", self.refresh)

    # --- callbacks (a few lines each) ---------------------------------------------------------

    def _on_switch(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            result = self.control.set_default(FLAG, bool(change["new"]))
            self.message_html.value = note_html(masked(result.text), "warn" if result.changed else "info")
        finally:
            self.refresh()

    def _on_restart(self, _button: widgets.Button) -> None:
        self.restart_button.disabled = True
        self.message_html.value = note_html("restarting…", "info")
        try:
            self.control.restart()
            self.start_error = None
            self.message_html.value = note_html(
                "The server restarted and read services.json again. Temporary sessions ended; "
                "permanent sessions (API keys) survive.", "ok")
        except ConfigFileError as exc:
            self.start_error = exc.message
            self.message_html.value = ""
        finally:
            self.restart_button.disabled = self.remote
            self.refresh()

    # --- view ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Ask the control for its status and show it."""
        self.status = self.control.status()
        self._render()

    def _switch_value(self) -> Any:
        """The flag the switch shows: in services.json (remote mode: in the running server)."""
        s = self.status
        if s is None:
            return False
        source = s.running_defaults if self.remote else s.file_defaults
        return (source or {}).get(FLAG, False)

    def _render(self) -> None:
        s = self.status
        assert s is not None
        self._syncing = True
        try:
            on = self._switch_value() is True
            self.flag_switch.value = on
            where = "running server" if self.remote else "services.json"
            self.flag_switch.description = f"permanent sessions in {where}: {'on' if on else 'off'}"
            self.flag_switch.icon = "toggle-on" if on else "toggle-off"
            self.flag_switch.button_style = "success" if on else ""
        finally:
            self._syncing = False
        self.flag_switch.disabled = self.remote or s.file_error is not None
        self.restart_button.description = "restart server" if s.running else "start server"
        self.status_html.value = self._status_html()

    def _status_html(self) -> str:
        s = self.status
        assert s is not None
        if s.running:
            url = html.escape(masked(s.url))
            head = badge("running", "ok", "kit-running") + f' at <code style="{MONO}">{url}</code>'
        else:
            head = badge("not running", "error", "kit-not-running")
            head += " nothing answers at " + html.escape(masked(s.url)) if s.url else " press “start server”"
        parts = [f'<div style="{FONT}"><div>{head}</div>{self._flag_table()}']
        if s.restart_needed:
            parts.append(f"<div>{badge('restart needed', 'warn', 'kit-restart-needed')} services.json differs "
                         "from what the running server uses; it reads the file only when it starts.</div>")
        elif s.running and s.file_defaults is not None and s.running_defaults is not None:
            parts.append(f"<div>{badge('in sync', 'ok', 'kit-in-sync')} the running server uses what "
                         "services.json says.</div>")
        if self.start_error:  # the server's own message (file, line, column) says it all
            parts.append(note_html(masked(f"The server did not start: {self.start_error}"), "error",
                                   "kit-start-error"))
        elif s.file_error:
            parts.append(note_html(masked(f"services.json cannot be read: {s.file_error}"), "error",
                                   "kit-file-error"))
        return "".join(parts) + "</div>"

    def _flag_table(self) -> str:
        """The flag (and any other key that differs) in services.json and in the running server."""
        s = self.status
        assert s is not None
        keys = [FLAG, *(k for k in s.restart_keys if k != FLAG)]
        if self.remote:
            file_missing = "on the server's machine"
        else:
            file_missing = "cannot be read" if s.file_error else "(no file)"
        rows = "".join(
            f'<tr><td style="{_CELL};{MONO}">{html.escape(k)}</td>'
            f'<td style="{_CELL};{MONO}">{html.escape(_value(s.file_defaults, k, file_missing))}</td>'
            f'<td style="{_CELL};{MONO}">{html.escape(_value(s.running_defaults, k, "(not running)"))}</td></tr>'
            for k in keys
        )
        return (f'<table style="border-collapse:collapse;margin:4px 0"><tr><th style="{_CELL}"></th>'
                f'<th style="{_CELL}">services.json</th><th style="{_CELL}">running server</th></tr>{rows}</table>')

    def _explain(self) -> str:
        text = self.control.explain("set_default") + "\n\n" + self.control.explain("restart")
        return note_html(masked(text), "info")

    def state_text(self) -> str:
        s = self.status
        if s is None:
            return "<ServerPanel: status unknown (see the panel's error)>"
        if self.remote:
            text = "<ServerPanel: remote, " + ("running" if s.running else "not answering")
        else:
            text = "<ServerPanel: " + ("running" if s.running else "not running")
        flags = []
        if s.file_defaults is not None:
            flags.append("file=" + _value(s.file_defaults, FLAG, ""))
        if s.running_defaults is not None:
            flags.append("running=" + _value(s.running_defaults, FLAG, ""))
        if flags:
            text += ", flag " + " ".join(flags)
        if s.file_error:
            text += ", services.json broken"
        elif s.restart_needed:
            text += ", restart needed"
        if self.start_error:
            text += ", last start failed"
        return text + ">"
