"""Where the lessons differ when they run inside the browser (JupyterLite), one line each.

The notebooks stay the same everywhere. When a lesson runs in the browser (Pyodide, or
``TUTORIAL_KIT_BROWSER=1`` for tests), its first cell shows this lesson's lines, and
:meth:`~tutorial_kit.lessons.Lesson.browser_note` gives the line for one topic (``"terminal"``,
``"restart"``, ``"port"``, ``"http"``), which the lesson's own outputs use where the topic comes up.
Edit :data:`BROWSER_NOTES` to change what the browser version says; no notebook needs an edit.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BROWSER_ENV", "BROWSER_NOTES", "LESSON_TOPICS", "in_browser", "notes_for"]

BROWSER_ENV = "TUTORIAL_KIT_BROWSER"

#: topic -> the one line the browser version shows
BROWSER_NOTES: dict[str, str] = {
    "terminal": "In the browser there is no terminal: where the lesson says tutorial-kit restart, run "
                "lesson.restart() in a cell.",
    "restart": "In the browser a restart ends the server's state inside this page, not a process: temporary "
               "sessions end, and API keys come back from server-home/data/kit.sqlite3, as after a page reload.",
    "port": "In the browser the kit's server runs inside this page's Python: its URL names no real port, "
            "and only this tab can reach it.",
    "http": "In the browser httpx reaches the kit's server inside this page; curl and a terminal are not available.",
    "file": "In the browser, services.json is on the browser's drive: open server-home/config/services.json from "
            "the file browser on the left, edit it there and save it (Ctrl+S).",
    "tabs": "Open one lesson at a time in the browser: each open notebook runs its own copy of the server, "
            "and the copy that saves last wins.",
}

#: lesson number -> the topics where that lesson differs in the browser
LESSON_TOPICS: dict[int, tuple[str, ...]] = {
    1: ("port", "file", "tabs"),
    2: ("file", "restart", "terminal"),
    3: ("restart", "http"),
    4: (),
    5: ("restart",),
    6: ("file", "terminal"),
}


def in_browser(env: Mapping[str, str]) -> bool:
    """True inside Pyodide (JupyterLite), or when ``TUTORIAL_KIT_BROWSER=1`` says so
    (the one test, :func:`tutorial_kit.browser.in_browser`, which also picks the control)."""
    from ..browser import in_browser as browser_mode

    return browser_mode(env)


def notes_for(lesson: int) -> list[str]:
    """The browser lines of ``lesson``, in its order of topics."""
    return [BROWSER_NOTES[topic] for topic in LESSON_TOPICS.get(lesson, ()) if topic in BROWSER_NOTES]
