"""The six lessons in the built JupyterLite site, in headless Chromium, with no other host reachable.

The site (``build/lite/``, built once and reused) is served on 127.0.0.1; every request to any
other host is refused and fails the test. Each lesson is opened as a learner opens it (a page
load, one profile for the whole course, so the browser drive carries the state from lesson to
lesson), all its cells run, and the test looks for error outputs and widgets that did not render.
A second test does lesson 2's step 3 by hand in JupyterLab's editor, then reloads the page and
finds the edit and an API key still there. Screenshots go to ``artifacts/lite/``.
Needs ``/usr/bin/chromium`` (never ``playwright install``); without it the tests are skipped.
"""

from __future__ import annotations

import pytest

from tutorial_kit.lite.build import REPO
from tutorial_kit.lite.drive import CHROMIUM, LiteBrowser, LitePage
from tutorial_kit.lite.serve import site

ARTIFACTS = REPO / "artifacts" / "lite"
LESSONS = sorted(p.name for p in (REPO / "notebooks").glob("0*.ipynb"))
FLAG_LINE = '"enablePermanentJsonApiSessions": true'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(1500),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (no /usr/bin/chromium); "
                       "install Debian's chromium (apt-get install chromium, as .ci/run does)"),
]


@pytest.fixture(scope="module")
def browser() -> LiteBrowser:
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with LiteBrowser(site().path) as lite:
        yield lite
    assert lite.blocked == [], f"the site asked for other hosts: {sorted(set(lite.blocked))}"


def test_every_lesson_runs_in_the_browser(browser: LiteBrowser) -> None:
    assert len(LESSONS) == 6, LESSONS
    page = browser.new_page()
    for lesson in LESSONS:
        page.open(lesson)
        page.run_all()
        state = page.state()
        assert state["errors"] == [], f"{lesson}: cells raised errors: {state['errors']}\n{page.diagnose()}"
        assert page.broken_widgets() == [], f"{lesson}: widgets failed to render\n{page.diagnose()}"
        assert page.rendered_widgets() >= state["widgets"], f"{lesson}: not every widget was drawn\n{page.diagnose()}"
        page.page.screenshot(path=str(ARTIFACTS / f"{lesson[:2]}-ran.png"))
        assert browser.blocked == [], f"{lesson} asked for other hosts: {browser.blocked}"
    missing = [r for r in browser.requests if r[2] == 404 and "/api/contents/" not in r[1]]
    assert not [r for r in missing if r[1].endswith((".whl", ".mjs", ".wasm", ".zip", ".js"))], missing
    page.page.close()


def _edit_services_by_hand(page: LitePage) -> None:
    """Open server-home/config/services.json from the file browser and add the flag, typing."""
    for name in ("server-home", "config"):  # double-click the folders, as a learner does
        folder = page.page.locator(".jp-DirListing-item", has_text=name).first
        folder.wait_for(timeout=60_000)
        folder.dblclick()
    item = page.page.locator(".jp-DirListing-item", has_text="services.json")
    item.wait_for(timeout=60_000)
    page.page.screenshot(path=str(ARTIFACTS / "lesson2-1-file-browser.png"))
    item.dblclick()
    editor = page.page.locator(".jp-FileEditor .cm-content")
    editor.wait_for(timeout=60_000)
    last = page.page.locator(".jp-FileEditor .cm-line", has_text='"maxJsonApiSessionsPerUsername"')
    last.click()
    page.page.keyboard.press("End")
    page.page.keyboard.type(",")
    page.page.keyboard.press("Enter")
    page.page.keyboard.type(FLAG_LINE)
    page.page.screenshot(path=str(ARTIFACTS / "lesson2-2-edited.png"))
    page.page.keyboard.press("Control+s")
    page.page.locator(".jp-mod-current .jp-mod-dirty").wait_for(state="detached", timeout=30_000)
    page.page.screenshot(path=str(ARTIFACTS / "lesson2-3-saved.png"))


def test_lesson_2_by_hand_and_a_page_reload(browser: LiteBrowser) -> None:
    browser.fresh_context()
    page = browser.new_page()
    page.open(LESSONS[1])
    page.run_cell(0)  # start_lesson(2): the server runs, services.json exists, the flag is off
    assert "False" in page.run_code("print(lesson.server.status().file_defaults.get("
                                    "'enablePermanentJsonApiSessions') is True)")
    _edit_services_by_hand(page)
    page.command("application:close", {})  # the editor tab; the lesson is the current widget again
    status = page.run_code("print(lesson.status())")
    assert "restart needed" in status, status
    page.run_cell_with("lesson.status()")
    page.run_cell_with("lesson.restart()")
    page.run_cell_with("lesson.check_flag()", occurrence=-1)
    assert page.state()["errors"] == [], page.diagnose()
    page.page.screenshot(path=str(ARTIFACTS / "lesson2-4-restarted.png"))
    assert "True" in page.run_code("print(lesson.server.status().running_defaults['enablePermanentJsonApiSessions'])")
    key = page.run_code("print(lesson.client.create_session(permanent=True).auth_token)").strip()
    assert len(key) == 64, key

    page.open(LESSONS[1])  # a page reload: a new kernel, the same browser drive
    # (not the lesson's first cell: lesson 2 sets up a server with the flag off, on purpose)
    text = page.run_code("print(open('server-home/config/services.json').read())")
    assert FLAG_LINE in text, text
    again = page.run_code("import tutorial_kit as kit\nserver = kit.control_from_env().start()\n"
                          f"print(server.client().with_token({key!r}).ping_session(check=False).ok)")
    assert again.strip() == "True", again
    page.page.screenshot(path=str(ARTIFACTS / "lesson2-5-after-reload.png"))
    page.page.close()
