"""One line per step that is not the same in the browser, shown by ``start_lesson`` there.

Each lesson's text is written for JupyterLab on a computer (a server process, a port, files on
disk). In the browser (JupyterLite) a few steps look different; these lines say how, once, at the
top of the lesson. Lessons not named here are the same in the browser.
"""

from __future__ import annotations

__all__ = ["BROWSER_NOTES", "browser_notes"]

BROWSER_NOTES: dict[int, tuple[str, ...]] = {
    1: (
        "In the browser the kit's server runs inside this notebook's Python: no separate process and "
        "no real port. Its files are in server-home/ in the file browser on the left.",
        "Open one lesson at a time in the browser: each open notebook runs its own copy of the server, "
        "and the copy that saves last wins.",
    ),
    2: (
        "In the browser, open server-home/config/services.json from the file browser on the left, edit "
        "it there and save it (Ctrl+S); lesson.restart() then reads it from the browser's storage.",
    ),
    3: (
        "In the browser a restart ends the server's state, not a process: temporary sessions go, and API "
        "keys come back from server-home/data/kit.sqlite3 on the browser drive, as after a page reload.",
    ),
    5: (
        "In the browser only this tab can reach the kit's server: no other program on your computer can "
        "use its API keys.",
    ),
}


def browser_notes(lesson: int) -> tuple[str, ...]:
    """The lines for ``lesson`` (none when the lesson is the same in the browser)."""
    return BROWSER_NOTES.get(lesson, ())
