"""Where the lessons differ when they run inside the browser (JupyterLite), one line each.

The notebooks stay the same everywhere. When a lesson runs in the browser (Pyodide, or
``TUTORIAL_KIT_BROWSER=1`` for tests), its first cell shows this lesson's lines, and
:meth:`~tutorial_kit.lessons.Lesson.browser_note` gives the line for one topic (``"terminal"``,
``"restart"``, ``"port"``, ``"http"``), which the lesson's own outputs use where the topic comes up.
Edit :data:`BROWSER_NOTES` to change what the browser version says; no notebook needs an edit.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

__all__ = ["BROWSER_ENV", "BROWSER_NOTES", "LESSON_TOPICS", "in_browser", "notes_for"]

BROWSER_ENV = "TUTORIAL_KIT_BROWSER"

#: topic -> the one line the browser version shows
BROWSER_NOTES: dict[str, str] = {
    "terminal": "In the browser there is no terminal: run lesson.restart() in a cell instead of tutorial-kit restart.",
    "restart": "In the browser the server runs inside this page: a restart takes a moment and keeps your API keys.",
    "port": "In the browser the server has no network port: the URL you see is only a name inside this page.",
    "http": "In the browser, plain HTTP goes through the page's own fetch: curl and a terminal are not available.",
    "file": "In the browser, services.json lives in the browser's storage: open it from the file browser on the left.",
}

#: lesson number -> the topics where that lesson differs in the browser
LESSON_TOPICS: dict[int, tuple[str, ...]] = {
    1: ("port", "file"),
    2: ("file", "restart", "terminal"),
    3: ("restart", "http"),
    4: (),
    5: ("restart",),
    6: ("file", "terminal"),
}


def in_browser(env: Mapping[str, str]) -> bool:
    """True inside Pyodide (JupyterLite), or when ``TUTORIAL_KIT_BROWSER=1`` says so."""
    return sys.platform == "emscripten" or env.get(BROWSER_ENV) == "1"


def notes_for(lesson: int) -> list[str]:
    """The browser lines of ``lesson``, in its order of topics."""
    return [BROWSER_NOTES[topic] for topic in LESSON_TOPICS.get(lesson, ()) if topic in BROWSER_NOTES]
