"""Driving the built site in headless Chromium (Playwright), for the browser test and the benchmark.

:class:`LiteBrowser` serves the site on 127.0.0.1 (:class:`~.serve.StaticSite`), starts
Debian's Chromium (``/usr/bin/chromium``; never a browser that Playwright downloads) and routes
every request: the site's own go through, every other host is refused and recorded in
:attr:`LiteBrowser.blocked`. Two settings are added to the page's configuration on the way, for
the driver only (the built files are not changed): ``exposeAppInBrowser`` (so that the driver
can read the notebook's state) and every cell kept in the page (``windowingMode: none``).

:class:`LitePage` opens a notebook (``lab/index.html?path=...``), waits for its kernel, runs its
cells, reads their outputs and errors, and runs code in the kernel. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._exceptions import LiteSiteError
from .serve import StaticSite

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "LiteBrowser", "LitePage", "DriveError", "pss_bytes"]

CHROMIUM = "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else shutil.which("chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
DRIVER_SETTINGS = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}

NOTEBOOK_STATE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return {ready: false, why: 'no notebook panel yet'};
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code'
                                                 && c.model.sharedModel.getSource().trim() !== '');
  const errors = [];
  let widgets = 0;
  cells.forEach((c, i) => {
    const tags = (c.model.getMetadata && c.model.getMetadata('tags')) || [];
    c.model.outputs.toJSON().forEach(o => {
      if (o.output_type === 'error' && !tags.includes('raises-exception'))
        errors.push({cell: i, ename: o.ename, evalue: o.evalue});
      if (o.data && o.data['application/vnd.jupyter.widget-view+json']) widgets += 1;
    });
  });
  return {ready: true, path: panel.context.path, kernel: kernel ? kernel.status : 'none',
          pending: cells.filter(c => c.model.executionCount === null).length,
          cells: cells.length, errors, widgets};
}"""

RUN_CODE = """async (code) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const out = [];
  const future = kernel.requestExecute({code, store_history: false});
  future.onIOPub = (msg) => {
    const c = msg.content;
    if (msg.header.msg_type === 'stream') out.push(c.text);
    if (msg.header.msg_type === 'execute_result' || msg.header.msg_type === 'display_data')
      out.push((c.data && c.data['text/plain']) || '');
    if (msg.header.msg_type === 'error') out.push('ERROR ' + c.ename + ': ' + c.evalue);
  };
  await future.done;
  return out.join('');
}"""


class DriveError(LiteSiteError):
    """The page did not reach the state the driver waited for (with what it saw)."""


def pss_bytes(root_pid: int, names: tuple[str, ...]) -> int:
    """Proportional set size of ``root_pid``'s descendant processes called one of ``names``
    (shared pages counted once, split among their users), from ``/proc/<pid>/smaps_rollup``."""
    children: dict[int, list[int]] = {}
    comm: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            comm[int(entry.name)] = (entry / "comm").read_text().strip()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, stack = 0, list(children.get(root_pid, []))
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        if any(comm.get(pid, "").startswith(n) for n in names):
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
            except OSError:
                continue
    return total


def wait_for(what: str, check: Callable[[], Any], timeout: float, diagnose: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise DriveError(f"timed out after {timeout:.0f} s waiting for {what}\n{diagnose()}")


class LitePage:
    """One browser tab on the site."""

    def __init__(self, browser: LiteBrowser, page: Any) -> None:
        self.browser = browser
        self.page = page
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def state(self) -> dict[str, Any]:
        return self.page.evaluate(NOTEBOOK_STATE)

    def diagnose(self) -> str:
        try:
            state = json.dumps(self.state())
        except Exception as exc:  # noqa: BLE001 - diagnostics only
            state = f"(page not readable: {exc})"
        return f"notebook state: {state}\nbrowser console: {self.console[-15:]}"

    def open(self, path: str, timeout: float = 300.0, *, url: str | None = None) -> float:
        """Open the notebook at ``path`` (a page load) and wait until its kernel is idle; seconds taken.
        ``url``: another page that opens it (JupyterLab's, for the benchmark)."""
        if self.page.url.startswith(("http://", "https://")):  # the next page load restores no other tab
            self.page.evaluate("() => window.jupyterapp && window.jupyterapp.commands.execute('application:close-all')")
        started = time.monotonic()
        self.page.goto(url or f"{self.browser.url}/lab/index.html?path={path}", timeout=timeout * 1000)
        wait_for(f"{path} to open", lambda: self.state()["ready"], timeout, self.diagnose)
        if self.state()["path"] != path:  # JupyterLab restored another tab over it: bring it forward
            self.command("docmanager:open", {"path": path})
        wait_for(f"{path} and its kernel", lambda: (s := self.state())["ready"] and s["path"] == path
                 and s["kernel"] == "idle", timeout, self.diagnose)
        return time.monotonic() - started

    def command(self, name: str, args: dict[str, Any] | None = None) -> None:
        self.page.evaluate("([n, a]) => window.jupyterapp.commands.execute(n, a)", [name, args or {}])

    def run_all(self, timeout: float = 300.0) -> float:
        """Clear the saved outputs, run every cell, wait until all ran and the kernel is idle; seconds."""
        self.command("notebook:clear-all-cell-outputs")
        wait_for(
            "the saved outputs to be cleared", lambda: (s := self.state())["pending"] == s["cells"], 30, self.diagnose
        )
        started = time.monotonic()
        self.command("notebook:run-all-cells")
        wait_for("every cell to run", lambda: (s := self.state())["kernel"] == "idle" and s["pending"] == 0,
                 timeout, self.diagnose)
        return time.monotonic() - started

    def run_cell(self, index: int, timeout: float = 120.0) -> None:
        """Run the notebook's code cell number ``index`` (0 = the first code cell)."""
        self.page.evaluate("""(i) => { const p = window.jupyterapp.shell.currentWidget;
            const code = p.content.widgets.map((c, n) => [c, n]).filter(([c]) => c.model.type === 'code');
            p.content.activeCellIndex = code[i][1]; }""", index)
        self.command("notebook:run-cell")
        wait_for(f"code cell {index} to run", lambda: self.page.evaluate("""(i) => {
            const p = window.jupyterapp.shell.currentWidget;
            const c = p.content.widgets.filter(c => c.model.type === 'code')[i];
            return c.model.executionCount !== null && p.sessionContext.session.kernel.status === 'idle'; }""", index),
            timeout, self.diagnose)

    def run_cell_with(self, source: str, occurrence: int = 0, timeout: float = 120.0) -> None:
        """Run the code cell whose source is ``source`` (the ``occurrence``-th such cell; -1: the last)."""
        sources = self.page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
            .filter(c => c.model.type === 'code').map(c => c.model.sharedModel.getSource().trim())""")
        found = [i for i, text in enumerate(sources) if text == source.strip()]
        if not found:
            raise DriveError(f"no code cell is {source!r}")
        self.run_cell(found[occurrence], timeout)
        self.page.evaluate("""(i) => window.jupyterapp.shell.currentWidget.content.widgets
            .filter(c => c.model.type === 'code')[i].node.scrollIntoView({block: 'center'})""", found[occurrence])

    def run_code(self, code: str, timeout: float = 120.0) -> str:
        """Run ``code`` in the notebook's kernel (no cell is added); its printed and shown text."""
        return str(self.page.evaluate(RUN_CODE, code))

    def broken_widgets(self) -> list[str]:
        """Texts of outputs where a widget failed to render."""
        return self.page.locator(".jp-OutputArea-output").filter(has_text="Error displaying widget").all_inner_texts()

    def rendered_widgets(self) -> int:
        """Output areas in which a widget view was drawn."""
        return self.page.locator(".jp-OutputArea-output:has(.jupyter-widgets)").count()


class LiteBrowser:
    """The site on 127.0.0.1 and a headless Chromium that may reach nothing else."""

    def __init__(
        self, site_dir: Path, *, chromium: str | None = CHROMIUM, viewport: tuple[int, int] = (1280, 1800)
    ) -> None:
        if chromium is None:
            raise DriveError("chromium is not installed (apt-get install chromium)")
        self.site_dir, self.chromium, self.viewport = site_dir, chromium, viewport
        self.blocked: list[str] = []
        self.allowed: list[str] = []  # other origins the page may reach (the benchmark's JupyterLab)
        self._site = StaticSite(site_dir)
        self._playwright: Any = None
        self._browser: Any = None
        self.context: Any = None

    @property
    def url(self) -> str:
        return self._site.url

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        return self._site.requests

    def _route(self, route: Any) -> None:
        url = route.request.url
        if not any(url.startswith(prefix + "/") for prefix in [self.url, *self.allowed]):
            self.blocked.append(url)
            route.abort()
            return
        if url.split("?")[0] == f"{self.url}/jupyter-lite.json":
            response = route.fetch()
            config = response.json()
            data = config.setdefault("jupyter-config-data", {})
            data["exposeAppInBrowser"] = True
            data["settingsOverrides"] = {**data.get("settingsOverrides", {}), **DRIVER_SETTINGS}
            route.fulfill(response=response, body=json.dumps(config))
            return
        route.continue_()

    def new_page(self) -> LitePage:
        return LitePage(self, self.context.new_page())

    def fresh_context(self) -> None:
        """A new browser profile: empty storage, as on a first visit."""
        if self.context is not None:
            self.context.close()
        width, height = self.viewport
        self.context = self._browser.new_context(viewport={"width": width, "height": height})
        self.context.route("**/*", self._route)

    def __enter__(self) -> LiteBrowser:
        from playwright.sync_api import sync_playwright

        self._site.__enter__()
        try:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=self.chromium, args=CHROMIUM_ARGS)
            self.fresh_context()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
            if self._playwright is not None:
                self._playwright.stop()
        finally:
            self._browser = self._playwright = self.context = None
            self._site.__exit__()
