"""Whose behaviour a lesson shows: FairCom documents it, or it is the kit's choice.

A lesson's markdown marks each such place with one of two short lines, always written the same
way (``tests/test_lesson_markers.py`` checks every marker in the notebooks against these
functions and the kit's-choice table):

    > 📘 **FairCom documents this:** [createSession](https://docs.faircom.com/...)
    > 🔧 **Kit's choice** (`error.permanent_disabled`): a real FairCom server may differ. [Where to check](../docs/real-server.md)

The kit's-choice rows are those of :data:`tutorial_kit.server.kit_choices.KIT_CHOICES`.
"""

from __future__ import annotations

import re

from ..server.kit_choices import KIT_CHOICES

__all__ = ["CHECK_LINK", "FAIRCOM_MARK", "KIT_MARK", "faircom_marker", "kit_choice_marker", "markers_in"]

FAIRCOM_MARK = "> 📘 **FairCom documents this:**"
KIT_MARK = "> 🔧 **Kit's choice**"
#: where a learner checks a kit's choice against a real server (relative to notebooks/)
CHECK_LINK = "../docs/real-server.md"
_KIT_LINE = re.compile(r"^> 🔧 \*\*Kit's choice\*\* \(`([^`]+)`\)")


def kit_choice_marker(row: str) -> str:
    """The marker line for the kit's-choice row ``row`` (KeyError if the table has no such row)."""
    KIT_CHOICES[row]  # noqa: B018 - a marker names a real row
    return f"{KIT_MARK} (`{row}`): a real FairCom server may differ. [Where to check]({CHECK_LINK})"


def faircom_marker(*pages: tuple[str, str]) -> str:
    """The marker line for behaviour FairCom's pages document: ``(title, url)`` per page."""
    links = ", ".join(f"[{title}]({url})" for title, url in pages)
    return f"{FAIRCOM_MARK} {links}"


def markers_in(markdown: str) -> list[str]:
    """Every marker line in a markdown text."""
    return [line for line in markdown.splitlines() if line.startswith((FAIRCOM_MARK, KIT_MARK))]


def kit_row_of(line: str) -> str | None:
    """The kit's-choice row a marker line names, or None for a FairCom marker."""
    match = _KIT_LINE.match(line)
    return match.group(1) if match else None
