"""Whose behaviour a lesson shows: FairCom documents it, or it is the kit's choice.

A lesson's markdown marks each such place with one of two short lines, always written the same
way (``tests/test_notebooks_saved.py`` checks every marker in the notebooks against these
functions, the kit's-choice table and the sources table):

    > 📘 **FairCom documents this:** [createSession](https://documentation.faircom.com/...)
    > 🔧 **Kit's choice** (`error.permanent_disabled`): a real FairCom server may differ.
    > [Where to check](../docs/real-server.md)

The kit's-choice rows are those of :data:`tutorial_kit.server.kit_choices.KIT_CHOICES`; a FairCom
marker links pages of :data:`tutorial_kit.server.sources.SOURCES` (a row's page, or one of the other
pages it lists).
"""

from __future__ import annotations

import re

from ..server.kit_choices import KIT_CHOICES
from ..server.sources import SOURCES

__all__ = ["CHECK_LINK", "FAIRCOM_MARK", "KIT_MARK", "SOURCE_PAGES", "faircom_links", "faircom_marker",
           "kit_choice_marker", "kit_row_of", "markers_in", "source_link"]

FAIRCOM_MARK = "> 📘 **FairCom documents this:**"
KIT_MARK = "> 🔧 **Kit's choice**"
#: where a learner checks a kit's choice against a real server (relative to notebooks/)
CHECK_LINK = "../docs/real-server.md"
#: every FairCom page the sources table names: the only pages a FairCom marker links
SOURCE_PAGES = frozenset(url for source in SOURCES.values() for url in (source.url, *source.also))
_KIT_LINE = re.compile(r"^> 🔧 \*\*Kit's choice\*\* \(`([^`]+)`\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def kit_choice_marker(row: str) -> str:
    """The marker line for the kit's-choice row ``row`` (KeyError if the table has no such row)."""
    KIT_CHOICES[row]  # noqa: B018 - a marker names a real row
    return f"{KIT_MARK} (`{row}`): a real FairCom server may differ. [Where to check]({CHECK_LINK})"


def source_link(title: str, row: str) -> tuple[str, str]:
    """``(title, url)`` of the page of the sources table's row ``row`` (KeyError if there is none)."""
    return title, SOURCES[row].url


def faircom_marker(*pages: tuple[str, str]) -> str:
    """The marker line for behaviour FairCom's pages document: ``(title, url)`` per page.

    Each url must be a page of the sources table (ValueError otherwise): the lessons cite the pages
    the kit follows, nothing else. :func:`source_link` gives a row's page.
    """
    if not pages:
        raise ValueError("a FairCom marker links at least one page")
    for _, url in pages:
        if url not in SOURCE_PAGES:
            raise ValueError(f"{url} is no page of tutorial_kit/server/sources.py: add its row there first")
    links = ", ".join(f"[{title}]({url})" for title, url in pages)
    return f"{FAIRCOM_MARK} {links}"


def markers_in(markdown: str) -> list[str]:
    """Every marker line in a markdown text."""
    return [line for line in markdown.splitlines() if line.startswith((FAIRCOM_MARK, KIT_MARK))]


def kit_row_of(line: str) -> str | None:
    """The kit's-choice row a marker line names, or None for a FairCom marker."""
    match = _KIT_LINE.match(line)
    return match.group(1) if match else None


def faircom_links(line: str) -> list[tuple[str, str]]:
    """``(title, url)`` of every link of a FairCom marker line."""
    return _LINK.findall(line[len(FAIRCOM_MARK):]) if line.startswith(FAIRCOM_MARK) else []
