"""What every panel shares: the base class whose callbacks report their own errors, and HTML bits.

ipywidgets runs a callback inside the kernel's comm handler: an exception there goes to a log or
to a traceback that JupyterLab shows nowhere. So every callback of a panel is wrapped by
:meth:`Panel.guard`, which puts the failure into the panel's own ``error_html`` area (and the log).
"""

from __future__ import annotations

import functools
import html
import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from .._exceptions import ConfigFileError, KitError
from ..notebook.display import mask_for_display, reproducible_mode

__all__ = ["Panel", "badge", "css", "masked", "note_html", "SecretInput"]

log = logging.getLogger("tutorial_kit.panels")

FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.45"
MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px"
_TONES = {
    "ok": "background:#d1e7dd;color:#0f5132;border:1px solid #0f5132",
    "error": "background:#f8d7da;color:#842029;border:1px solid #842029",
    "warn": "background:#fff3cd;color:#664d03;border:1px solid #997404",
    "info": "background:#cff4fc;color:#055160;border:1px solid #055160",
    "muted": "background:#e9ecef;color:#41464b;border:1px solid #adb5bd",
}


def masked(value: Any) -> str:
    """``value`` as text, tokens shortened and (in reproducible mode) URL ports masked."""
    return str(mask_for_display(str(value)))


def badge(text: str, tone: str, css_class: str = "") -> str:
    """A small rounded label; ``tone`` is one of ok, error, warn, info, muted."""
    cls = f' class="{css_class}"' if css_class else ""
    return (f'<span{cls} style="display:inline-block;padding:0 8px;border-radius:10px;font-weight:600;'
            f'{_TONES[tone]}">{html.escape(text)}</span>')


def note_html(text: str, tone: str = "info", css_class: str = "") -> str:
    """A block of text with a coloured bar on its left (a message, a warning, an error)."""
    cls = f' class="{css_class}"' if css_class else ""
    colours = _TONES[tone].split(";border")[0]
    body = html.escape(text).replace("\n", "<br>")
    return (f'<div{cls} style="{FONT};{colours};border-left:4px solid currentColor;padding:3px 8px;'
            f'margin:3px 0;white-space:normal">{body}</div>')


def css(widget: widgets.Widget, *classes: str) -> Any:
    """Add CSS classes (``kit-...``) to ``widget`` so that browser tests can find it; return it."""
    for name in classes:
        widget.add_class(name)
    return widget


def error_html(what: str, exc: BaseException) -> str:
    """What went wrong while ``what``: the kit's own message, or an unexpected error with its traceback."""
    if isinstance(exc, ConfigFileError):
        text = f"{what}: services.json cannot be used.\n{exc.message}"
    elif isinstance(exc, KitError):
        text = f"{what}: {exc}"
    else:
        text = f"{what}: unexpected {type(exc).__name__}: {exc}"
    body = note_html(masked(text), "error")
    if isinstance(exc, KitError):
        return body
    trace = "".join(traceback.format_exception(exc))
    return (f'{body}<details style="{FONT}"><summary>traceback (please report it)</summary>'
            f'<pre style="{MONO};white-space:pre-wrap">{html.escape(masked(trace))}</pre></details>')


class SecretInput(widgets.Password):
    """A password field whose repr never shows what was typed."""

    def __repr__(self) -> str:
        return f"SecretInput(description={self.description!r}, value={'********' if self.value else ''!r})"


class Panel(widgets.VBox):
    """A VBox with a title, an ``error_html`` area at the bottom, and guarded callbacks.

    ``last_error`` holds the plain text of the last failure shown (None after a success).
    ``repr()`` is the panel's :meth:`state_text`; in saved-output mode (``make outputs``) it says
    "run this cell to see the panel" instead, so a saved notebook never shows someone's state.
    """

    def __init__(self, title: str, children: Sequence[widgets.Widget], css_class: str) -> None:
        heading = f'<div style="{FONT};font-weight:600;font-size:14px">{html.escape(title)}</div>'
        self.title_html = widgets.HTML(heading)
        self.error_html = css(widgets.HTML(""), "kit-error")
        self.last_error: str | None = None
        super().__init__(
            children=[self.title_html, *children, self.error_html],
            layout=widgets.Layout(border="1px solid #c8c8c8", padding="6px 10px", margin="4px 0",
                                  width="auto", max_width="900px"),
        )
        css(self, "kit-panel", css_class)

    def state_text(self) -> str:
        """A one-line state of the panel, without token, port, pid or time."""
        return f"<{type(self).__name__}>"

    def __repr__(self) -> str:
        if reproducible_mode():
            return f"<{type(self).__name__}: run this cell to see the panel>"
        return self.state_text()

    def guard(self, what: str, callback: Callable[..., None]) -> Callable[..., None]:
        """Wrap ``callback`` so that an exception shows in this panel instead of getting lost."""

        @functools.wraps(callback)
        def guarded(*args: Any) -> None:
            self.error_html.value = ""
            self.last_error = None
            try:
                callback(*args)
            except Exception as exc:  # noqa: BLE001 - shown in the panel, logged with its traceback
                log.warning("panel callback failed while %s", what, exc_info=True)
                self.last_error = f"{what}: {type(exc).__name__}: {masked(exc)}"
                self.error_html.value = error_html(what, exc)

        return guarded

    def run_guarded(self, what: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` now, reporting a failure in the panel like a callback's."""
        self.guard(what, callback)()
