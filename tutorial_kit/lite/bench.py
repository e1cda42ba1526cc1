"""``make bench-lite``: the JupyterLite site's figures, side by side with ``make lab`` on this machine.

One run, one headless Chromium, the same lesson (lesson 1) both ways:

* **site size**: the bytes of ``build/lite/`` on disk, and the bytes the first visit downloads;
* **page open to kernel ready**: from ``page.goto`` to the notebook's kernel reporting idle, on a
  first visit (empty browser profile) and on a second page load (the browser's cache warm);
  for ``make lab``, from ``page.goto`` to idle with JupyterLab already running (its own start is
  reported apart: spawn to its first answered HTTP request);
* **lesson 1**: run all cells (saved outputs cleared first) until the kernel is idle again;
* **memory**: proportional set size (PSS, shared pages split among their users) after lesson 1,
  of the browser's processes; for ``make lab`` also of JupyterLab's server, kernel and the kit's
  server process (``python`` processes under it).

The site is the one the tests use (built once, reused). Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from .build import REPO
from .drive import CHROMIUM, LiteBrowser, pss_bytes
from .serve import site

__all__ = ["main", "measure"]

LESSON = "01-start-here.ipynb"
MiB = 2**20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Lab:
    """``jupyter lab`` on a copy of the notebooks, as ``make lab`` runs it, on a free port."""

    def __init__(self, work: Path) -> None:
        shutil.copytree(
            REPO / "notebooks", work / "notebooks", ignore=shutil.ignore_patterns("server-home", ".ipynb_checkpoints")
        )
        self.port, self.token = _free_port(), secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
        env.update(TUTORIAL_KIT_HOME=str(work / "server-home"), JUPYTER_CONFIG_DIR=str(work / "config"),
                   JUPYTER_RUNTIME_DIR=str(work / "runtime"))
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={work / 'notebooks'}",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.workspaces_dir={work / 'workspaces'}",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.home = work / "server-home"
        self.log = open(work / "lab.log", "wb")
        started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.start_seconds = self._wait_ready(started)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, started: float, timeout: float = 120.0) -> float:
        with httpx.Client(trust_env=False, timeout=5) as http:
            while time.monotonic() - started < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}")
                try:
                    if (
                        http.get(
                            f"{self.base}/api/status", headers={"Authorization": f"token {self.token}"}
                        ).status_code
                        == 200
                    ):
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()
        from ..control.local import ServerControl

        ServerControl(self.home).stop()


def _first_visit_bytes(lite: LiteBrowser) -> int:
    total = 0
    for _, path, status in lite.requests:
        file = lite.site_dir / path.split("?")[0].lstrip("/")
        if status == 200 and file.is_file():
            total += file.stat().st_size
    return total


def measure() -> dict[str, Any]:
    """Every figure, as a dict (see the module's docstring)."""
    built = site()
    me = os.getpid()
    out: dict[str, Any] = {"site_bytes": built.size_bytes, "site_path": str(built.path)}
    with LiteBrowser(built.path) as lite:
        page = lite.new_page()
        out["lite_open_first_s"] = page.open(LESSON)
        out["lite_first_visit_bytes"] = _first_visit_bytes(lite)
        out["lite_lesson1_s"] = page.run_all()
        out["lite_memory_bytes"] = pss_bytes(me, ("chrom",))
        page.page.close()
        page = lite.new_page()
        out["lite_open_again_s"] = page.open(LESSON)
        page.page.close()
        out["lite_blocked_requests"] = len(lite.blocked)
        with tempfile.TemporaryDirectory(prefix="kit-bench-lab-") as tmp:
            lab = _Lab(Path(tmp))
            try:
                lite.fresh_context()
                lite.allowed.append(lab.base)
                page = lite.new_page()
                out["lab_start_s"] = lab.start_seconds
                out["lab_open_s"] = page.open(LESSON, url=f"{lab.base}/lab/tree/{LESSON}?token={lab.token}")
                out["lab_lesson1_s"] = page.run_all()
                out["lab_browser_memory_bytes"] = pss_bytes(me, ("chrom",))
                out["lab_server_memory_bytes"] = pss_bytes(me, ("python", "jupyter"))
                page.page.close()
            finally:
                lab.stop()
    return out


def format_report(r: dict[str, Any]) -> str:
    rows = [
        (
            "site on disk / first visit downloads",
            f"{r['site_bytes'] / MiB:.1f} MiB / {r['lite_first_visit_bytes'] / MiB:.1f} MiB",
            "(no server to install)",
        ),
        (
            "page open -> kernel ready",
            f"{r['lite_open_first_s']:.1f} s first visit, {r['lite_open_again_s']:.1f} s again",
            f"{r['lab_open_s']:.1f} s (+ {r['lab_start_s']:.1f} s to start jupyter lab)",
        ),
        ("run lesson 1 (all cells)", f"{r['lite_lesson1_s']:.1f} s", f"{r['lab_lesson1_s']:.1f} s"),
        (
            "memory after lesson 1 (PSS)",
            f"{r['lite_memory_bytes'] / MiB:.0f} MiB (browser)",
            f"{r['lab_browser_memory_bytes'] / MiB:.0f} MiB browser + {r['lab_server_memory_bytes'] / MiB:.0f} MiB "
            "jupyter lab, kernel and kit server",
        ),
    ]
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{'':{width}}  {'JupyterLite (make lite)':34}  JupyterLab (make lab)"]
    lines += [f"{name:{width}}  {lite:34}  {lab}" for name, lite, lab in rows]
    lines.append(f"requests to other hosts refused: {r['lite_blocked_requests']}; cores: {os.cpu_count()}, "
                 f"load average at the end: {os.getloadavg()[0]:.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial_kit.lite.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if CHROMIUM is None:
        print("make bench-lite needs chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    results = measure()
    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
