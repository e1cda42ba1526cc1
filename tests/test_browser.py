"""The panels in a real browser: JupyterLab + Debian's chromium, driven by the playwright package.

JupyterLab serves a temporary copy of ``notebooks/``; the test opens the widgets lesson
(``05-manage-and-secure-api-keys.ipynb``, or a small notebook of its own while that lesson does
not exist yet), runs all cells, checks that every widget rendered, then uses the session panel
and the sessions table the way a learner would: type the password, tick "permanent", create,
refresh the table, revoke that permanent session. Assertions read the widgets' own elements
(``kit-...`` CSS classes), not the page text (the cells' source holds the same words).

A screenshot goes to ``artifacts/browser/``. Needs ``/usr/bin/chromium`` (or ``chromium`` on PATH):
never ``playwright install``. Without it the test is skipped and says why.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tutorial_kit.control import ServerControl

REPO = Path(__file__).resolve().parents[1]
LESSON = "05-manage-and-secure-api-keys.ipynb"
OWN_NOTEBOOK = "kit-panels-browser-test.ipynb"
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

SETUP_CELL = """\
import tutorial_kit as kit
from tutorial_kit.control import ServerControl
server = ServerControl()
server.start()
server.set_default("enablePermanentJsonApiSessions", True)
server.restart()
client = server.client()"""
OWN_PANEL_CELLS = ["kit.panels.server_panel(server)", "kit.panels.session_panel(client)",
                   "kit.panels.sessions_table(client)", "kit.panels.playground(client)"]
PANELS = ("kit-server-panel", "kit-session-panel", "kit-sessions-table", "kit-playground")

# --- JupyterLab -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_own_notebook(path: Path) -> None:
    import nbformat

    cells = [nbformat.v4.new_markdown_cell("Panels test notebook (written by tests/test_browser.py)"),
             nbformat.v4.new_code_cell(SETUP_CELL), *map(nbformat.v4.new_code_cell, OWN_PANEL_CELLS)]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}})
    nbformat.write(nb, path)


class Lab:
    """A JupyterLab process on a free port, its token, log and the notebook to open."""

    def __init__(self, root: Path, notebook: str, env: dict[str, str], log_path: Path) -> None:
        self.port, self.token, self.notebook, self.log_path = free_port(), secrets.token_hex(16), notebook, log_path
        settings = log_path.parent / "user-settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True, exist_ok=True)  # every cell in the DOM, whatever the default becomes
        (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={self.port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.workspaces_dir={log_path.parent / 'workspaces'}",
               f"--LabApp.user_settings_dir={log_path.parent / 'user-settings'}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self) -> None:
        """Poll /api with the token until JupyterLab answers (bounded)."""
        deadline, last = time.monotonic() + WAIT, "no answer yet"
        with httpx.Client(trust_env=False, timeout=5) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
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
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: kernels go with it
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    root = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "server-home"))
    notebook = LESSON if (root / LESSON).is_file() else OWN_NOTEBOOK
    if notebook == OWN_NOTEBOOK:
        write_own_notebook(root / OWN_NOTEBOOK)
    home = tmp_path / "server-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}  # not reproducible
    env.update(TUTORIAL_KIT_HOME=str(home), JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"))
    server = Lab(root, notebook, env, tmp_path / "jupyterlab.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        ServerControl(home).stop()


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


def test_panels_work_in_jupyterlab(lab: Lab) -> None:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed (pip install -e '.[test]')")
    sync_playwright = sync_api.sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 2400})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

            def diagnose() -> str:
                shot = ARTIFACTS / "failure.png"
                try:
                    page.screenshot(path=str(shot))
                    state = page.evaluate(NOTEBOOK_STATE)
                    outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
                except Exception as exc:  # noqa: BLE001 - diagnostics only
                    state, outputs = f"(page not readable: {exc})", []
                return (f"notebook state: {json.dumps(state)}\nscreenshot: {shot}\n"
                        f"output areas: {json.dumps(outputs)[:3000]}\nbrowser console: {console[-20:]}\n"
                        f"JupyterLab log:\n{lab.log_tail()}")

            page.goto(f"{lab.base}/lab/tree/{lab.notebook}?token={lab.token}", timeout=WAIT * 1000)
            wait_until("the notebook and its kernel", lambda: (s := page.evaluate(NOTEBOOK_STATE))["ready"]
                       and s["kernel"] == "idle", diagnose)
            # saved outputs (and execution counts) go first, so "every cell has run" means this run
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
            wait_until("the saved outputs to be cleared",
                       lambda: (s := page.evaluate(NOTEBOOK_STATE))["pending"] == s["cells"], diagnose)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            state = wait_until("all cells to run", lambda: (s := page.evaluate(NOTEBOOK_STATE))["kernel"] == "idle"
                               and s["pending"] == 0 and s, diagnose)
            assert state["errors"] == [], f"cells raised errors: {state['errors']}\n{diagnose()}"
            outputs = page.locator(".jp-OutputArea-output")
            for panel in PANELS:
                wait_until(f"the {panel} widget", lambda: outputs.locator(f".{panel}").count() == 1, diagnose)
            broken = outputs.filter(has_text="Error displaying widget")
            assert broken.count() == 0, f"widgets failed to render: {broken.all_inner_texts()}\n{diagnose()}"

            session = outputs.locator(".kit-session-panel")
            session.locator(".kit-password input").fill("ADMIN")
            session.locator(".kit-permanent input[type=checkbox]").check()
            session.locator("button.kit-create").click()
            result = session.locator(".kit-result")
            wait_until("permanentSession true in the session panel",
                       lambda: result.locator(".kit-permanent-session").count() == 1
                       and result.locator(".kit-permanent-session").inner_text() == "permanentSession: true",
                       lambda: f"result: {result.inner_text()!r}\n{diagnose()}")
            assert session.locator(".kit-error").inner_text().strip() == ""
            assert session.locator(".kit-password input").input_value() == ""  # emptied after sending
            token = result.locator(".kit-token").inner_text()
            assert len(token) == 5 and token.endswith("…"), token

            table = outputs.locator(".kit-sessions-table")
            table.locator("button.kit-refresh").click()
            row = table.locator(".kit-row.kit-row-permanent").filter(
                has=page.locator(".kit-token", has_text=token))
            wait_until(f"the permanent row {token} in the sessions table", lambda: row.count() == 1,
                       lambda: f"table: {table.inner_text()!r}\n{diagnose()}")
            assert row.locator(".kit-idle").inner_text() == "never expires"
            assert "permanent" in row.locator(".kit-kind").inner_text()
            page.screenshot(path=str(ARTIFACTS / "panels.png"))
            for panel in PANELS:
                outputs.locator(f".{panel}").screenshot(path=str(ARTIFACTS / f"{panel}.png"))
            row.locator("button.kit-revoke").click()
            wait_until(f"the row {token} to go away", lambda: row.count() == 0,
                       lambda: f"table: {table.inner_text()!r}\n{diagnose()}")
            assert "revoked" in table.locator(".kit-message").inner_text()
            assert table.locator(".kit-error").inner_text().strip() == ""
            assert broken.count() == 0, f"widgets failed to render: {broken.all_inner_texts()}\n{diagnose()}"
            page.screenshot(path=str(ARTIFACTS / "after-revoke.png"))
        finally:
            browser.close()
    print(f"browser test: {lab.notebook} driven in {time.monotonic() - started:.1f} s; "
          f"screenshots in {ARTIFACTS}")
