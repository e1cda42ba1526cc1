"""Every lesson runs against a workshop's shared server (remote mode) without an error.

The shared server is the kit's own, started as a separate process on another port, with
permanent sessions already switched on by the "trainer". The lessons then explain the steps only
the trainer can do (editing services.json, restarting) instead of doing them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from _hardening import ServeProcess, write_services
from tutorial_kit.notebook.outputs import lesson_paths

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("room") / "room-server"
    write_services(home, enablePermanentJsonApiSessions=True)  # the trainer switched it on
    serve = ServeProcess(home)
    url = serve.wait_ready()
    yield url
    code, _ = serve.stop()
    assert code == 0


@pytest.mark.parametrize("path", lesson_paths(NOTEBOOKS), ids=lambda p: p.name)
def test_lesson_runs_against_a_shared_server(path: Path, shared_server: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    for name in [k for k in os.environ if k.startswith("TUTORIAL_KIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TUTORIAL_KIT_URL", shared_server)
    monkeypatch.setenv("TUTORIAL_KIT_USERNAME", "ADMIN")
    monkeypatch.setenv("TUTORIAL_KIT_PASSWORD", "ADMIN")
    monkeypatch.setenv("HOME", str(tmp_path))  # the remote progress file goes under ~/.tutorial-kit
    monkeypatch.setenv("TUTORIAL_KIT_HOME", str(tmp_path / "must-not-be-used"))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert not (tmp_path / "must-not-be-used").exists(), "remote mode starts no local server"
    restarts = [c for c in nb.cells if c.cell_type == "code" and c.source.strip().endswith("lesson.restart()")]
    for cell in restarts:
        assert "restart the FairCom server" in json.dumps(cell.outputs), (
            "the trainer-only restart is explained, not done"
        )
