"""The sources table: every action has a FairCom page, and every row names only FairCom pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutorial_kit.server import kit_choices
from tutorial_kit.server.actions import ACTIONS
from tutorial_kit.server.sources import SOURCES, is_faircom_page, page

SERVER = Path(kit_choices.__file__).parent


def test_every_action_of_the_server_has_a_sources_row() -> None:
    missing = [spec.name for spec in ACTIONS.values() if f"action.{spec.name}" not in SOURCES]
    assert missing == []


def test_every_action_row_is_an_action_of_the_server() -> None:
    names = {spec.name for spec in ACTIONS.values()}
    stale = [key for key in SOURCES if key.startswith("action.") and key.removeprefix("action.") not in names]
    assert stale == []


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_every_row_names_faircom_pages_and_says_what_it_takes(key: str) -> None:
    row = SOURCES[key]
    assert key.startswith(("action.", "fact.")), key
    for url in (row.url, *row.also):
        assert is_faircom_page(url), url
        assert url == url.strip() and " " not in url
    assert row.url not in row.also
    assert len(row.fact) > 20, "say what the kit takes from the page"


def test_is_faircom_page_refuses_other_sites() -> None:
    assert is_faircom_page("https://docs.faircom.com/docs/en/UUID-1.html")
    assert is_faircom_page("https://documentation.faircom.com/en_US/account-api-actions/alteraccount")
    for url in ("http://docs.faircom.com/docs/en/x.html", "https://faircom.com.example.org/x",
                "https://example.com/docs.faircom.com", "https://docs.faircom.com/", "docs.faircom.com/x"):
        assert not is_faircom_page(url), url


def test_rows_the_code_names_exist() -> None:
    """Every ``sources: <row>`` or ``page("<row>")`` mentioned in the server's code is a row."""
    named: set[str] = set()
    for path in SERVER.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        named.update(re.findall(r"sources: ?``?((?:action|fact)\.\w+)", text))
        named.update(re.findall(r"page\([\"']((?:action|fact)\.\w+)[\"']\)", text))
    assert named, "the code names its sources"
    assert sorted(named - set(SOURCES)) == []


def test_page_returns_the_rows_url() -> None:
    assert page("action.cloneAccount") == SOURCES["action.cloneAccount"].url
