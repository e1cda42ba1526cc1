"""The lessons in a real browser: JupyterLab started by ``make lab`` + Debian's chromium (playwright).

JupyterLab runs exactly as ``make lab`` starts it (the Makefile's own target, on a temporary copy
of the repository, with this checkout's ``.venv``): the repository is its root, lesson 1 the file
it opens first. Two learners' walks, one JupyterLab:

- lesson 2: run the setup cell, open ``server-home/config/services.json`` from the file browser,
  type the flag into the editor, save, restart from the lesson and see the new value; then break
  the file (a missing comma), restart, and read the short error paragraph; fix it; restart the
  kernel, run the first cell, and the check is still done.
- lesson 5: run every cell, check that every widget rendered, then use the session panel and the
  sessions table the way a learner would: create a permanent session, revoke it (the table asks
  first). Assertions read the widgets' own elements (``kit-...`` CSS classes).

Screenshots go to ``artifacts/browser/`` (and, for the closing note, to ``/work/notes/screens/``
when that folder exists). Needs ``/usr/bin/chromium`` (or ``chromium`` on PATH): never
``playwright install``. Without it the test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tutorial_kit.control.local import ServerControl

REPO = Path(__file__).resolve().parents[1]
LESSON = "notebooks/05-manage-and-secure-api-keys.ipynb"
LESSON_2 = "notebooks/02-enable-permanent-sessions.ipynb"
ARTIFACTS = REPO / "artifacts" / "browser"
WAIT = 60.0  # seconds: the bound of every wait
CHROMIUM = "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else shutil.which("chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
SKIP_REASON = ("chromium is not installed (no /usr/bin/chromium, no `chromium` on PATH); install Debian's "
               "chromium (apt-get install chromium, as .ci/run does) to run the browser test")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(300),
    pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON),
]

PANELS = ("kit-server-panel", "kit-session-panel", "kit-sessions-table", "kit-playground")
SCREENS = Path("/work/notes/screens")
LAB_FILES = ("Makefile", "pyproject.toml", "README.md")
LAB_FOLDERS = ("notebooks", "docs")

# --- JupyterLab, as `make lab` starts it ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_repository(target: Path) -> None:
    """The files `make lab` and the lessons need; mtimes kept, so make sees .venv as up to date."""
    target.mkdir()
    for name in LAB_FILES:
        shutil.copy2(REPO / name, target / name)
    for name in LAB_FOLDERS:
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))


class Lab:
    """``make lab`` on a free port (its own session), its token and log."""

    def __init__(self, root: Path, env: dict[str, str], log_path: Path) -> None:
        self.root, self.port, self.token, self.log_path = root, free_port(), secrets.token_hex(16), log_path
        settings = log_path.parent / "user-settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True, exist_ok=True)  # every cell in the DOM, whatever the default becomes
        (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        lab_args = " ".join([
            "--no-browser", f"--port={self.port}", "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}", "--LabApp.expose_app_in_browser=True",
            f"--LabApp.workspaces_dir={log_path.parent / 'workspaces'}",
            f"--LabApp.user_settings_dir={log_path.parent / 'user-settings'}"])
        cmd = ["make", "-C", str(root), "lab", f"VENV={REPO / '.venv'}", f"LAB_ARGS={lab_args}"]
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/lab/tree/{path}?reset&token={self.token}"  # a fresh workspace: only this tab

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self) -> None:
        """Poll /api with the token until JupyterLab answers (bounded)."""
        deadline, last = time.monotonic() + WAIT, "no answer yet"
        with httpx.Client(trust_env=False, timeout=5) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"make lab exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    answer = http.get(f"{self.base}/api/status", headers={"Authorization": f"token {self.token}"})
                    if answer.status_code == 200:
                        return
                    last = f"HTTP {answer.status_code}"
                except httpx.TransportError as exc:
                    last = repr(exc)
                time.sleep(0.25)
        pytest.fail(f"JupyterLab did not answer /api within {WAIT:.0f} s ({last}):\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # make, JupyterLab and its kernels
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "repository"
    copy_repository(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}  # a learner's machine
    env.update(JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"))
    server = Lab(root, env, tmp / "jupyterlab.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        ServerControl(root / "server-home").stop()


# --- the page ---------------------------------------------------------------------------------

NOTEBOOK_STATE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return {ready: false, why: 'no notebook panel yet'};
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code'
                                                 && c.model.sharedModel.getSource().trim() !== '');
  const errors = [];
  cells.forEach((c, i) => {
    const tags = (c.model.getMetadata && c.model.getMetadata('tags')) || [];
    c.model.outputs.toJSON().forEach(o => {
      if (o.output_type === 'error' && !tags.includes('raises-exception'))
        errors.push({cell: i, ename: o.ename, evalue: o.evalue});
    });
  });
  return {ready: true, kernel: kernel ? kernel.status : 'none',
          pending: cells.filter(c => c.model.executionCount === null).length,
          cells: cells.length, errors};
}"""


def wait_until(what: str, check: Callable[[], Any], diagnose: Callable[[], str]) -> Any:
    """Poll ``check`` until it returns a truthy value, at most WAIT seconds; fail with diagnostics."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out after {WAIT:.0f} s waiting for {what}\n{diagnose()}")


CELL_STATE = """(index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cell = panel.content.widgets[index];
  const outputs = cell.model.outputs ? cell.model.outputs.toJSON() : [];
  return {count: cell.model.executionCount, kernel: panel.sessionContext.session.kernel.status,
          source: cell.model.sharedModel.getSource(), outputs};
}"""
RUN_CELL = """(index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index;
  panel.content.widgets[index].model.executionCount = null;  // "has run" means: ran this time
  return window.jupyterapp.commands.execute('notebook:run-cell');
}"""
CELL_INDEX = """(source) => window.jupyterapp.shell.currentWidget.content.widgets
  .map((c, i) => [i, c.model.sharedModel.getSource().trim()]).filter(p => p[1] === source).map(p => p[0])"""


def save_screen(page: Any, name: str, locator: Any = None) -> Path:
    """A screenshot to artifacts/browser/ and, when it exists, to the notes' screens folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    (locator or page).screenshot(path=str(shot))
    if SCREENS.is_dir():
        shutil.copy2(shot, SCREENS / name)
    return shot


class Walk:
    """One page of a learner's walk: open a notebook, run a cell, read what it printed."""

    def __init__(self, page: Any, lab: Lab, console: list[str]) -> None:
        self.page, self.lab, self.console = page, lab, console

    def diagnose(self) -> str:
        shot = ARTIFACTS / "failure.png"
        try:
            self.page.screenshot(path=str(shot))
            state = self.page.evaluate(NOTEBOOK_STATE)
        except Exception as exc:  # noqa: BLE001 - diagnostics only
            state = f"(page not readable: {exc})"
        return (f"notebook state: {json.dumps(state)}\nscreenshot: {shot}\nbrowser console: {self.console[-20:]}\n"
                f"JupyterLab log:\n{self.lab.log_tail()}")

    def open(self, path: str) -> None:
        self.page.goto(self.lab.url(path), timeout=WAIT * 1000)
        self.wait_idle(f"{path} and its kernel")
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")

    def wait_idle(self, what: str) -> None:
        wait_until(what, lambda: (s := self.page.evaluate(NOTEBOOK_STATE))["ready"] and s["kernel"] == "idle",
                   self.diagnose)

    def index(self, source: str, nth: int = 0) -> int:
        found = self.page.evaluate(CELL_INDEX, source)
        assert len(found) > nth, f"no cell {source!r} (#{nth}) in the notebook"
        return found[nth]

    def run(self, index: int) -> str:
        """Run one cell, wait for it; return its outputs as text (text/plain, streams, errors)."""
        self.page.evaluate(RUN_CELL, index)
        state = wait_until(f"cell {index} to run", lambda: (c := self.page.evaluate(CELL_STATE, index))["count"]
                           is not None and c["kernel"] == "idle" and c, self.diagnose)
        parts = []
        for output in state["outputs"]:
            if output["output_type"] == "error":
                parts.append("ERROR " + "\n".join(output["traceback"]))
            elif output["output_type"] == "stream":
                parts.append("".join(output["text"]))
            else:
                parts.append("".join(output.get("data", {}).get("text/plain", "")))
        return "\n".join(parts)

    def output(self, index: int) -> Any:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def walk(lab: Lab, browser: Any) -> Iterator[Walk]:
    console: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    try:
        yield Walk(page, lab, console)
    finally:
        page.close()


def open_in_file_browser(walk: Walk, *names: str) -> None:
    """Double-click through the file browser on the left, from its root: folders, then the file."""
    page = walk.page
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:go-to-path', {path: '/'})")
    for name in names:
        item = page.locator(".jp-DirListing-item", has=page.locator(".jp-DirListing-itemText", has_text=name))
        wait_until(f"{name} in the file browser", lambda item=item: item.count() >= 1, walk.diagnose)
        item.first.dblclick()


def test_the_learner_edits_services_json_and_restarts(walk: Walk, lab: Lab) -> None:
    page = walk.page
    walk.open(LESSON_2)
    assert "Lesson 2 of 6" in walk.run(1)
    services = lab.root / "server-home" / "config" / "services.json"
    assert services.is_file(), "the lesson's server lives in the repository's server-home/"
    notebook_tab = page.locator(".lm-TabBar-tab", has_text="02-enable-permanent-sessions").first

    open_in_file_browser(walk, "server-home", "config", "services.json")
    editor = page.locator(".jp-FileEditor .cm-content")
    wait_until("services.json in the editor", lambda: editor.count() == 1 and "jsonActionApiDefaults"
               in editor.inner_text(), walk.diagnose)
    anchor = editor.locator(".cm-line", has_text='"jsonActionApiDefaults"')
    anchor.click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type('"enablePermanentJsonApiSessions": true,')
    page.keyboard.press("Control+s")
    wait_until("the file to be saved", lambda: json.loads(services.read_text())["jsonActionApiDefaults"]
               .get("enablePermanentJsonApiSessions") is True, walk.diagnose)
    save_screen(page, "services-json-edited.png", page.locator(".jp-FileEditor").first)

    notebook_tab.click()
    restart, check = walk.index("lesson.restart()"), walk.index("lesson.check_flag()", 1)
    assert "read services.json again" in walk.run(restart)
    shown = walk.run(check)
    assert "done" in shown and "true in services.json and in the running server" in shown, shown

    # a mistake in the file: the comma typed above goes missing
    page.locator(".lm-TabBar-tab", has_text="services.json").first.click()
    editor.locator(".cm-line", has_text='"enablePermanentJsonApiSessions"').click()
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.press("Control+s")
    wait_until("the broken file to be saved",
               lambda: '"enablePermanentJsonApiSessions": true\n' in services.read_text(), walk.diagnose)
    notebook_tab.click()
    shown = walk.run(restart)
    assert shown.startswith("ERROR ") and "Traceback" not in shown and "tutorial_kit/" not in shown, shown
    assert "services.json has a mistake" in shown and "line " in shown and "column " in shown, shown
    assert "lesson.restart() again" in shown and len(shown.splitlines()) <= 4, shown
    save_screen(page, "error-paragraph.png", walk.output(restart))

    page.locator(".lm-TabBar-tab", has_text="services.json").first.click()
    editor.locator(".cm-line", has_text='"enablePermanentJsonApiSessions"').click()
    page.keyboard.press("End")
    page.keyboard.type(",")
    page.keyboard.press("Control+s")
    wait_until("the fixed file to be saved", lambda: '"enablePermanentJsonApiSessions": true,' in services.read_text(),
               walk.diagnose)
    notebook_tab.click()
    assert "read services.json again" in walk.run(restart)

    # a kernel restart: the first cell again, then the check still passes
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    walk.wait_idle("the restarted kernel")
    walk.run(1)
    assert "done" in walk.run(check)
    assert not [m for m in walk.console if m.startswith("pageerror")], walk.console


def test_panels_work_in_jupyterlab(walk: Walk) -> None:
    page, started = walk.page, time.monotonic()
    walk.open(LESSON)
    wait_until("the saved outputs to be cleared",
               lambda: (s := page.evaluate(NOTEBOOK_STATE))["pending"] == s["cells"], walk.diagnose)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    state = wait_until("all cells to run", lambda: (s := page.evaluate(NOTEBOOK_STATE))["kernel"] == "idle"
                       and s["pending"] == 0 and s, walk.diagnose)
    assert state["errors"] == [], f"cells raised errors: {state['errors']}\n{walk.diagnose()}"
    outputs = page.locator(".jp-OutputArea-output")
    for panel in PANELS:
        wait_until(
            f"the {panel} widget",
            lambda panel=panel: outputs.locator(f".{panel}").count() == 1,
            lambda panel=panel: (
                f"{panel}: {page.locator('.' + panel).count()} in the page, texts of the last outputs: "
                f"{outputs.all_inner_texts()[-6:]}\n{walk.diagnose()}"
            ),
        )
    broken = outputs.filter(has_text="Error displaying widget")
    assert broken.count() == 0, f"widgets failed to render: {broken.all_inner_texts()}\n{walk.diagnose()}"

    session = outputs.locator(".kit-session-panel")
    session.locator(".kit-password input").fill("ADMIN")
    session.locator(".kit-permanent input[type=checkbox]").check()
    session.locator("button.kit-create").click()
    result = session.locator(".kit-result")
    wait_until("permanentSession true in the session panel",
               lambda: result.locator(".kit-permanent-session").count() == 1
               and result.locator(".kit-permanent-session").inner_text() == "permanentSession: true",
               lambda: f"result: {result.inner_text()!r}\n{walk.diagnose()}")
    assert session.locator(".kit-error").inner_text().strip() == ""
    assert session.locator(".kit-password input").input_value() == ""  # emptied after sending
    token = result.locator(".kit-token").inner_text()
    assert len(token) == 5 and token.endswith("…"), token

    table = outputs.locator(".kit-sessions-table")
    table.locator("button.kit-refresh").click()
    row = table.locator(".kit-row.kit-row-permanent").filter(has=page.locator(".kit-token", has_text=token))
    wait_until(f"the permanent row {token} in the sessions table", lambda: row.count() == 1,
               lambda: f"table: {table.inner_text()!r}\n{walk.diagnose()}")
    assert row.locator(".kit-idle").inner_text() == "never expires"
    assert "permanent" in row.locator(".kit-kind").inner_text()
    assert row.locator(".kit-started").inner_text().strip() and row.locator(".kit-description").count() == 1
    save_screen(page, "panels.png")
    for panel in PANELS:
        save_screen(page, f"{panel}.png", outputs.locator(f".{panel}"))
    row.locator("button.kit-revoke").click()
    wait_until("the table to ask before revoking", lambda: row.locator("button.kit-revoke-confirm").count() == 1,
               lambda: f"table: {table.inner_text()!r}\n{walk.diagnose()}")
    assert "cannot be brought back" in table.locator(".kit-message").inner_text()
    row.locator("button.kit-revoke-confirm").click()
    wait_until(f"the row {token} to go away", lambda: row.count() == 0,
               lambda: f"table: {table.inner_text()!r}\n{walk.diagnose()}")
    assert "revoked" in table.locator(".kit-message").inner_text()
    assert table.locator(".kit-error").inner_text().strip() == ""
    assert broken.count() == 0, f"widgets failed to render: {broken.all_inner_texts()}\n{walk.diagnose()}"
    save_screen(page, "after-revoke.png")
    print(f"browser test: {LESSON} driven in {time.monotonic() - started:.1f} s; screenshots in {ARTIFACTS}")
