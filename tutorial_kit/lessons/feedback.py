"""What checks and the progress list show: small display objects with HTML and stable text.

In saved-output mode (``TUTORIAL_KIT_REPRODUCIBLE=1``, which ``make outputs`` and the notebook
tests set) the progress list shows "run this cell to see your progress" instead of someone's
ticks, so that a lesson opened in JupyterLab never shows progress its reader did not make.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..notebook.display import reproducible_mode

__all__ = ["Check", "Note", "ProgressView", "SAVED_PROGRESS"]

_OK, _NOT_YET = "✔", "✘"
_MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px"
SAVED_PROGRESS = "Course progress: run this cell to see your progress."


@dataclass(frozen=True)
class Check:
    """The outcome of one lesson check: done, or what is still wrong."""

    ok: bool
    title: str
    detail: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        head = f"{_OK} {self.title}: done" if self.ok else f"{_NOT_YET} {self.title}: not yet"
        return head + (f"\n  {self.detail}" if self.detail else "")

    def _repr_html_(self) -> str:
        colour = "#1e7b34" if self.ok else "#b3261e"
        word = "done" if self.ok else "not yet"
        detail = f"<div style='margin-left:1.6em'>{html.escape(self.detail)}</div>" if self.detail else ""
        return (f"<div style='border-left:4px solid {colour};padding:4px 10px;margin:4px 0'>"
                f"<b style='color:{colour}'>{_OK if self.ok else _NOT_YET} {html.escape(self.title)}: {word}</b>"
                f"{detail}</div>")


@dataclass(frozen=True)
class Note:
    """A short message from the kit (what a setup step did, or what to do by hand).

    ``code`` (optional) is shown under the text as it is: monospaced, indentation kept (JSON).
    """

    text: str
    tone: str = "info"
    code: str = ""

    def __repr__(self) -> str:
        return self.text + (f"\n\n{self.code}" if self.code else "")

    def _repr_html_(self) -> str:
        colour = {"info": "#3b6bc9", "warning": "#b26a00"}.get(self.tone, "#3b6bc9")
        body = html.escape(self.text).replace("\n", "<br>")
        code = (f"<pre style='{_MONO};margin:6px 0 2px;white-space:pre;overflow-x:auto'>"
                f"{html.escape(self.code)}</pre>") if self.code else ""
        return f"<div style='border-left:4px solid {colour};padding:4px 10px;margin:4px 0'>{body}{code}</div>"


@dataclass(frozen=True)
class ProgressView:
    """The course's milestones, ticked from the server's state."""

    rows: tuple[tuple[str, int, bool], ...]  # (label, lesson, done)
    current_lesson: int | None = None

    def __repr__(self) -> str:
        if reproducible_mode():
            return SAVED_PROGRESS
        done = sum(1 for _, _, ok in self.rows if ok)
        lines = [f"Course progress: {done} of {len(self.rows)}"]
        lines += [f"  [{'x' if ok else ' '}] {label} (lesson {lesson})" for label, lesson, ok in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if reproducible_mode():
            return f"<div><b>{html.escape(SAVED_PROGRESS)}</b></div>"
        items = []
        for label, lesson, ok in self.rows:
            mark = f"<span style='color:#1e7b34'>{_OK}</span>" if ok else "<span style='color:#999'>○</span>"
            weight = "bold" if lesson == self.current_lesson else "normal"
            items.append(f"<li style='list-style:none;font-weight:{weight}'>{mark} {html.escape(label)}"
                         f" <span style='color:#777'>(lesson {lesson})</span></li>")
        done = sum(1 for _, _, ok in self.rows if ok)
        return (f"<div><b>Course progress: {done} of {len(self.rows)}</b>"
                f"<ul style='margin:4px 0;padding-left:8px'>{''.join(items)}</ul></div>")
