"""No kit server is left after `make lab` stops (issue 11 item 9).

JupyterLab is started exactly as a learner starts it: the Makefile's own `lab` target (``-o`` tells
make the venv is already installed, so the test never reinstalls it), in a process group of its
own as a terminal would run it. A lesson's first cell runs through a real kernel, which starts the
kit's server; then JupyterLab is stopped the two ways a learner stops it — Ctrl-C (SIGINT to the
whole group, as the terminal sends it) and a hard kill (SIGKILL) — and the kit's server must be
gone, its home free, within a bounded wait. A kernel restart in between must not stop it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _jupyter import JupyterClient, code_cells
from tutorial_kit.control.process import process_alive, servers_of, wait_for_exit
from tutorial_kit.server.lifetime import home_in_use, read_record, read_stopped

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parent.parent
STAMP = ".venv/.installed"
FIRST_LESSON = "01-start-here.ipynb"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Lab:
    """`make lab` running in its own process group, with a token and a port the test chose."""

    def __init__(self, tmp: Path, home: Path) -> None:
        self.token, self.port = secrets.token_hex(16), _free_port()
        args = f"--no-browser --port={self.port} --ServerApp.port_retries=0 --IdentityProvider.token={self.token}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TUTORIAL_KIT_", "JPY_", "JUPYTER_"))}
        env.update(TUTORIAL_KIT_HOME=str(home), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), CI="true")
        self.log = open(tmp / "lab.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["make", "--no-print-directory", "-o", STAMP, "lab", f"LAB_ARGS={args}"],
                                     cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}/"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"make lab exited {self.proc.returncode}: {self.output()}"
            try:
                if httpx.get(f"{self.base}api/status", headers={"Authorization": f"token {self.token}"},
                             trust_env=False, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"JupyterLab did not answer within {timeout} s: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def signal_group(self, sig: signal.Signals) -> None:
        os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Lab, Path]]:
    home = tmp_path / "home"
    started = Lab(tmp_path, home)
    try:
        yield started, home
    finally:
        started.stop()
        for pid in servers_of(home):  # only reached when the test failed: leave nothing running
            os.kill(pid, signal.SIGKILL)


def _run_first_cell_then_restart_the_kernel(lab: Lab) -> None:
    async def run() -> None:
        client = JupyterClient(lab.base, lab.token, timeout=120)
        try:
            path = await _find(client)
            first = code_cells(REPO / "notebooks" / FIRST_LESSON)[0]
            (result,) = await client.run_notebook(path, [first])
            assert result.ok, result.describe()
            kernel_id = await client.open_notebook(path)  # a new kernel (a restart): the server stays
            await client.shutdown_kernel(kernel_id)
        finally:
            await client.close()

    async def _find(client: JupyterClient) -> str:
        for candidate in (FIRST_LESSON, f"notebooks/{FIRST_LESSON}"):
            if (await client.get(f"api/contents/{candidate}", params={"content": "0"})).status_code == 200:
                return candidate
        raise AssertionError("lesson 1 is not in JupyterLab's file browser")

    asyncio.run(run())


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_no_kit_server_is_left_after_make_lab_stops(lab: tuple[Lab, Path], how: signal.Signals) -> None:
    started, home = lab
    started.wait_ready()
    _run_first_cell_then_restart_the_kernel(started)
    record = read_record(home / "run" / "server.json")
    assert record is not None and process_alive(record.pid), "the lesson's first cell started no server"
    assert record.owner_pid is not None and record.owner_pid != started.proc.pid  # Jupyter's pid, not make's
    assert servers_of(home) == [record.pid], "the kernel restart stopped or doubled the server"
    started.signal_group(how)  # what the terminal sends on Ctrl-C, or a hard kill
    assert started.proc.wait(60) is not None
    assert wait_for_exit(record.pid, 60), f"the kit server {record.pid} outlived JupyterLab ({how.name})"
    assert not servers_of(home) and not home_in_use(home)
    stopped = read_stopped(home)
    assert stopped is not None and stopped["reason"] == "owner"
