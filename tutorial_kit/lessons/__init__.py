"""Lessons: setup cells, checks, the progress list and the exercises.

``start_lesson(n)`` is the first line of every notebook.
"""

from __future__ import annotations

from .catalog import BINDER_URL, LESSONS, MILESTONES, LessonInfo, lesson_info
from .exercises import BROKEN_REQUEST, Exercises
from .feedback import Check, Note, ProgressView
from .lesson import CHECK_SESSION_DESCRIPTION, Lesson, start_lesson

__all__ = [
    "start_lesson", "Lesson", "LESSONS", "MILESTONES", "LessonInfo", "lesson_info", "BINDER_URL",
    "Exercises", "BROKEN_REQUEST", "Check", "Note", "ProgressView", "CHECK_SESSION_DESCRIPTION",
]
