"""Each lesson runs on its own, from its first cell, on a fresh server: no lesson needs another.

nbval runs the lessons in course order on one server home; here every lesson gets a home of its
own (not reproducible, like a learner's), and must run top to bottom without an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tutorial_kit.control.local import ServerControl
from tutorial_kit.notebook.outputs import lesson_paths

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("path", lesson_paths(NOTEBOOKS), ids=lambda p: p.name)
def test_lesson_runs_alone_on_a_fresh_server(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    home = tmp_path / "server-home"
    for name in [k for k in os.environ if k.startswith("TUTORIAL_KIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TUTORIAL_KIT_HOME", str(home))
    nb = nbformat.read(path, as_version=4)
    try:
        NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        ServerControl(home).stop()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert (home / "config" / "services.json").is_file(), "the lesson used the home it was given"
