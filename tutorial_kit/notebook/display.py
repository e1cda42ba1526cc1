"""Rich, deterministic display of responses, session lists and configuration differences.

Every object here has a ``_repr_html_`` (simple inline-styled HTML, no JavaScript) and a pretty
``text/plain`` form (``__repr__`` / ``_repr_pretty_``) that reads well on GitHub and compares
exactly under nbval. What a display shows is the same from run to run:

- tokens are shortened to their first 4 characters and "…" (``response.auth_token`` still holds
  the real one), passwords are always ``********``;
- with ``TUTORIAL_KIT_REPRODUCIBLE=1`` in the environment, ports in URLs (``http://127.0.0.1:PORT/api``),
  the port the client talks to and process ids are masked as well. (In that mode the server
  itself makes tokens, timestamps, hostname and hostUuid deterministic.)
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._envflag import reproducible_requested
from .._exceptions import KitUsageError
from ..client.placeholders import TOKEN_PLACEHOLDERS
from ..server.vocabulary import is_password_key, mask_token, password_mask

if TYPE_CHECKING:
    from ..client.response import Response

__all__ = [
    "ConfigDiff",
    "NoteList",
    "SessionList",
    "json_text",
    "mask_for_display",
    "reproducible_mode",
    "response_html",
    "response_text",
    "timeout_words",
]

_TOKEN_KEYS = ("authToken", "authTokens")
_URL_PORT = re.compile(r"\b((?:https?|wss?)://[^/\s:\"']+):\d+")

_FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.45"
_MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px"
_OK_BADGE = "background:#d1e7dd;color:#0f5132;border:1px solid #0f5132"
_ERR_BADGE = "background:#f8d7da;color:#842029;border:1px solid #842029"
_PLAIN_BADGE = "background:#e9ecef;color:#41464b;border:1px solid #adb5bd"
_BADGE = "display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;{colors}"
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


def reproducible_mode(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``TUTORIAL_KIT_REPRODUCIBLE`` turns reproducible mode on, read as the server reads
    it (at display time). A value that is neither yes nor no masks nothing: the server refuses it."""
    try:
        return reproducible_requested(os.environ if environ is None else environ)
    except KitUsageError:
        return False


def _collect_tokens(value: Any, found: set[str], key: str | None = None) -> None:
    """Add to ``found`` every token held under an ``authToken``/``authTokens`` key."""
    if isinstance(value, dict):
        for k, v in value.items():
            _collect_tokens(v, found, k)
    elif isinstance(value, list):
        for item in value:
            _collect_tokens(item, found, key)
    elif isinstance(value, str) and key in _TOKEN_KEYS and len(value) > 4 and value not in TOKEN_PLACEHOLDERS:
        found.add(value)


def _mask_string(text: str, tokens: set[str], reproducible: bool) -> str:
    """Shorten known tokens inside ``text``; in reproducible mode, mask URL ports too."""
    for token in tokens:
        if token in text:
            text = text.replace(token, mask_token(token))
    return _URL_PORT.sub(r"\1:PORT", text) if reproducible else text


def _mask(value: Any, key: str | None, tokens: set[str], reproducible: bool, port: int | None) -> Any:
    """The masked copy of ``value`` found under ``key`` (see :func:`mask_for_display`)."""
    if is_password_key(key) and value is not None:
        return password_mask()
    if isinstance(value, dict):
        return {k: _mask(v, k, tokens, reproducible, port) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key, tokens, reproducible, port) for v in value]
    if isinstance(value, str):
        if reproducible and key == "port" and port is not None and value == str(port):
            return "PORT"  # listServices writes ports as strings, as FairCom's example does
        return _mask_string(value, tokens, reproducible)
    if reproducible and isinstance(value, int) and not isinstance(value, bool):
        if key == "pid" or (key == "port" and value == port):
            return key.upper()
    return value


def mask_for_display(value: Any, *, url: str | None = None, reproducible: bool | None = None) -> Any:
    """Return a copy of ``value`` with tokens shortened and passwords masked.

    Every string found under ``authToken``/``authTokens`` is shortened wherever it occurs (in
    messages too). In reproducible mode ports in URLs, ``pid`` values and ``port`` values (numbers,
    or strings as listServices writes them) equal to the port of ``url`` (the server the client talks
    to) become ``PORT``/``PID``.
    """
    reproducible = reproducible_mode() if reproducible is None else reproducible
    tokens: set[str] = set()
    _collect_tokens(value, tokens)
    port = urlsplit(url).port if url else None
    return _mask(value, None, tokens, reproducible, port)


def json_text(value: Any) -> str:
    """Pretty JSON (2-space indent, key order kept, non-ASCII as is)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def timeout_words(seconds: Any) -> str:
    """``idleConnectionTimeoutSeconds`` in words: -1 is "never expires" (a permanent session)."""
    if seconds == -1:
        return "-1 (never expires)"
    if seconds == 0:
        return "0 (no idle timeout)"
    return json.dumps(seconds)


def _is_session(value: Any) -> bool:
    """True for a session object (what createSession/alterSession return)."""
    return isinstance(value, dict) and ("permanentSession" in value or "idleConnectionTimeoutSeconds" in value)


def _sessions_of(result: Any) -> list[dict[str, Any]] | None:
    """The ``sessions`` list of a describeSessions/listSessions result, or None."""
    if isinstance(result, dict) and isinstance(result.get("sessions"), list):
        return [s for s in result["sessions"] if isinstance(s, dict)]
    return None


def _session_cells(session: Mapping[str, Any]) -> list[str]:
    """The text cells of one session's summary line."""
    cells = [str(session.get("authToken", "")), str(session.get("username", ""))]
    if "description" in session:
        cells.append(json.dumps(session["description"], ensure_ascii=False))
    if "permanentSession" in session:
        cells.append("permanentSession " + json.dumps(session["permanentSession"]))
    if "idleConnectionTimeoutSeconds" in session:
        cells.append("idleConnectionTimeoutSeconds " + timeout_words(session["idleConnectionTimeoutSeconds"]))
    return cells


def _session_lines(sessions: list[dict[str, Any]], indent: str = "  ") -> list[str]:
    """One line per session, columns aligned: token, username, description, permanentSession, idle timeout."""
    rows = [_session_cells(s) for s in sessions]
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(map(len, rows), default=0))]
    return [indent + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _headline(response: Response) -> str:
    """``action: errorCode N (success|error)``, with the HTTP status when it is not 200."""
    state = "success" if response.ok else "error"
    extra = f", HTTP {response.http_status}" if response.http_status != 200 else ""
    return f"{response.action}: errorCode {response.error_code} ({state}{extra})"


def response_text(response: Response, *, reproducible: bool | None = None) -> str:
    """The ``text/plain`` form of a :class:`Response`: a headline, session facts, the JSON."""
    envelope = mask_for_display(response.envelope, url=response.url, reproducible=reproducible)
    lines = [_headline(response)]
    result = envelope.get("result")
    sessions = _sessions_of(result)
    if sessions is not None:
        lines[0] += f", {len(sessions)} session{'s' if len(sessions) != 1 else ''}"
        lines.extend(_session_lines(sessions))
    elif _is_session(result):
        lines.extend(_session_lines([result], indent="session "))
    lines.append(json_text(envelope))
    return "\n".join(lines)


def _badge(ok: bool | None, text: str) -> str:
    """A rounded label: green for success, red for an error, grey (None) for a plain value."""
    style = _BADGE.format(colors=_PLAIN_BADGE if ok is None else _OK_BADGE if ok else _ERR_BADGE)
    return f'<span style="{style}">{html.escape(text)}</span>'


def _pre(text: str) -> str:
    """Preformatted, escaped text."""
    return f'<pre style="{_MONO};margin:4px 0;white-space:pre-wrap">{html.escape(text)}</pre>'


def _permanent_cell(value: Any) -> str:
    """A table cell for permanentSession, highlighted when true."""
    if value is True:
        return f'<td style="{_CELL};background:#d1e7dd;font-weight:600">true</td>'
    return f'<td style="{_CELL}">{html.escape(json.dumps(value))}</td>'


def _session_table_html(sessions: list[dict[str, Any]]) -> str:
    """An HTML table of sessions with the columns any of them has."""
    preferred = ["authToken", "username", "description", "permanentSession", "idleConnectionTimeoutSeconds",
                 "sessionStartTimestamp", "sessionLastAccessedTimestamp"]
    columns = [c for c in preferred if any(c in s for s in sessions)]
    head = "".join(f'<th style="{_CELL}">{html.escape(c)}</th>' for c in columns)
    rows = []
    for session in sessions:
        cells = []
        for column in columns:
            value = session.get(column, "")
            if column == "permanentSession" and column in session:
                cells.append(_permanent_cell(value))
                continue
            shown = timeout_words(value) if column == "idleConnectionTimeoutSeconds" and column in session else value
            text = shown if isinstance(shown, str) else json.dumps(shown)
            cells.append(f'<td style="{_CELL};{_MONO if column == "authToken" else ""}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table style="border-collapse:collapse;margin:4px 0"><tr>{head}</tr>{"".join(rows)}</table>'


def _facts_html(session: Mapping[str, Any]) -> str:
    """permanentSession and idleConnectionTimeoutSeconds of one session, at a glance."""
    facts = []
    if "permanentSession" in session:
        value = session["permanentSession"]
        facts.append(_badge(True if value is True else None, f"permanentSession: {json.dumps(value)}"))
    if "idleConnectionTimeoutSeconds" in session:
        facts.append(
            '<span style="margin-left:6px">idleConnectionTimeoutSeconds: '
            f'<strong>{html.escape(timeout_words(session["idleConnectionTimeoutSeconds"]))}</strong></span>'
        )
    return f'<div style="margin:4px 0">{"".join(facts)}</div>'


def response_html(response: Response, *, reproducible: bool | None = None) -> str:
    """The HTML form of a :class:`Response`: errorCode badge, message, warnings, sessions, JSON."""
    envelope = mask_for_display(response.envelope, url=response.url, reproducible=reproducible)
    state = "success" if response.ok else "error"
    http_note = f" (HTTP {response.http_status})" if response.http_status != 200 else ""
    parts = [
        f'<div style="{_FONT}">',
        f"<div>{_badge(response.ok, f'errorCode {response.error_code}')} "
        f"<strong>{html.escape(response.action)}</strong> {state}{html.escape(http_note)}</div>",
    ]
    if not response.ok:
        message = html.escape(str(envelope.get("errorMessage", "")))
        parts.append(f'<div style="{_ERR_BADGE};border-width:0 0 0 4px;padding:4px 8px;margin:4px 0">{message}</div>')
    debug_info = envelope.get("debugInfo")
    warnings = debug_info.get("warnings") if isinstance(debug_info, dict) else None
    if isinstance(warnings, list) and warnings:
        items = "".join(f"<li>{html.escape(json.dumps(w, ensure_ascii=False))}</li>" for w in warnings)
        parts.append(f'<div style="color:#664d03;margin:4px 0">warnings:<ul style="margin:2px 0">{items}</ul></div>')
    result = envelope.get("result")
    sessions = _sessions_of(result)
    if sessions:
        parts.append(_session_table_html(sessions))
    elif _is_session(result):
        parts.append(_facts_html(result))
    text = json_text(envelope)
    # When sessions are summarised above (a table, or a session's facts), the JSON waits behind a click.
    fold = "" if sessions or _is_session(result) else " open"
    parts.append(f"<details{fold}><summary>JSON</summary>{_pre(text)}</details></div>")
    return "".join(parts)


class SessionList:
    """A table of sessions (from ``describeSessions`` or ``listSessions``), tokens shortened."""

    def __init__(self, sessions: Iterable[Mapping[str, Any]], *, reproducible: bool | None = None) -> None:
        self.sessions = [dict(s) for s in sessions]
        self.reproducible = reproducible

    @classmethod
    def from_response(cls, response: Response) -> SessionList:
        """The sessions of a describeSessions/listSessions :class:`Response` (empty on error)."""
        return cls(_sessions_of(response.result) or [])

    def _masked(self) -> list[dict[str, Any]]:
        """The sessions with tokens shortened (and ports/pids masked in reproducible mode)."""
        return mask_for_display(self.sessions, reproducible=self.reproducible)

    def __repr__(self) -> str:
        sessions = self._masked()
        count = f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}"
        return "\n".join([count, *_session_lines(sessions)])

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        sessions = self._masked()
        if not sessions:
            return f'<div style="{_FONT}">no sessions</div>'
        return f'<div style="{_FONT}">{_session_table_html(sessions)}</div>'


_ABSENT = "(not set)"


def _shown(mapping: Mapping[str, Any], key: str) -> str:
    """A value as JSON text, or ``(not set)`` when the mapping lacks it."""
    return json.dumps(mapping[key], ensure_ascii=False) if key in mapping else _ABSENT


class ConfigDiff:
    """Running values next to the values in the file, differences marked.

    ``ConfigDiff(running, in_file)`` takes two mappings (for instance the running
    ``jsonActionApiDefaults`` from ``listServices`` and the same section of ``services.json``).
    A property missing on one side shows as "(not set)".
    """

    def __init__(
        self,
        running: Mapping[str, Any],
        in_file: Mapping[str, Any],
        *,
        title: str = "jsonActionApiDefaults: running server vs config/services.json",
        hint: str = "differs: restart the server to use the file's value",
    ) -> None:
        self.running = dict(running)
        self.in_file = dict(in_file)
        self.title = title
        self.hint = hint

    @property
    def rows(self) -> list[tuple[str, str, str, bool]]:
        """``(property, running, file, differs)`` for every property on either side."""
        keys = list(self.running) + [k for k in self.in_file if k not in self.running]
        return [
            (k, _shown(self.running, k), _shown(self.in_file, k), _shown(self.running, k) != _shown(self.in_file, k))
            for k in keys
        ]

    @property
    def differences(self) -> list[str]:
        """The properties whose running value is not the file's value."""
        return [name for name, _, _, differs in self.rows if differs]

    def __repr__(self) -> str:
        table = [("property", "running", "file", False), *self.rows]
        widths = [max(len(str(row[i])) for row in table) for i in range(3)]
        lines = [self.title]
        for name, running, in_file, differs in table:
            line = f"  {name:<{widths[0]}}  {running:<{widths[1]}}  {in_file:<{widths[2]}}"
            lines.append((line + f"  <- {self.hint}") if differs else line.rstrip())
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        head = "".join(f'<th style="{_CELL}">{h}</th>' for h in ("property", "running", "file", ""))
        rows = []
        for name, running, in_file, differs in self.rows:
            style = "background:#fff3cd;font-weight:600" if differs else ""
            note = html.escape(self.hint) if differs else ""
            cells = [name, running, in_file]
            tds = "".join(f'<td style="{_CELL};{_MONO}">{html.escape(c)}</td>' for c in cells)
            rows.append(f'<tr style="{style}">{tds}<td style="{_CELL}">{note}</td></tr>')
        return (
            f'<div style="{_FONT}"><div><strong>{html.escape(self.title)}</strong></div>'
            f'<table style="border-collapse:collapse;margin:4px 0"><tr>{head}</tr>{"".join(rows)}</table></div>'
        )


class NoteList:
    """A titled list of short messages (lint warnings, placeholder notes) for a notebook."""

    _TONES = {"warning": "#fff3cd;color:#664d03", "info": "#cff4fc;color:#055160"}

    def __init__(self, title: str, items: Iterable[str], *, tone: str = "info") -> None:
        if tone not in self._TONES:
            raise ValueError(f"tone must be one of {sorted(self._TONES)}, not {tone!r}")
        self.title = title
        self.items = list(items)
        self.tone = tone

    def __repr__(self) -> str:
        return "\n".join([self.title, *(f"  - {item}" for item in self.items)])

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(item)}</li>" for item in self.items)
        return (
            f'<div style="{_FONT};background:{self._TONES[self.tone]};padding:4px 8px;border-radius:3px">'
            f'<strong>{html.escape(self.title)}</strong><ul style="margin:2px 0">{items}</ul></div>'
        )
