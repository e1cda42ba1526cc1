"""The lessons survive what learners do: a kernel restart halfway, every cell run twice; no token leaks.

Each lesson runs in a fresh server home, not in saved-output mode (as on a learner's machine):

- half: the cells before the step heading nearest the middle run in one kernel; a new kernel
  (what a kernel restart gives: no variables) then runs the first cell and the rest. No cell may
  fail: the first cell must bring back every name the later steps use.
- twice: every code cell runs two times in a row. No cell may fail.

Every output of these live runs, and of the saved notebooks, is scanned for a 64-character token.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tutorial_kit.control.local import ServerControl
from tutorial_kit.notebook.outputs import lesson_paths

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
STEP = re.compile(r"^## (Step \d|Exercise \d)", re.M)


def leaked_tokens(cells: list) -> list[str]:
    """Every 64-character run of letters and digits in the cells' outputs."""
    return TOKEN.findall(json.dumps([c.get("outputs", []) for c in cells]))


@pytest.fixture
def learner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "server-home"
    for name in [k for k in os.environ if k.startswith("TUTORIAL_KIT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TUTORIAL_KIT_HOME", str(home))
    yield home
    ServerControl(home).stop()


def run(cells: list, path: Path) -> list:
    """Run ``cells`` in one new kernel, in the lesson's folder; fail on the first error."""
    import nbformat
    from nbclient import NotebookClient

    code = [nbformat.v4.new_code_cell("".join(c["source"])) for c in cells if c["cell_type"] == "code"]
    nb = nbformat.v4.new_notebook(cells=code,
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb.cells


def split_point(cells: list) -> int:
    """The index of the step heading nearest the middle of the lesson's code cells."""
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    middle = code[len(code) // 2]
    steps = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and STEP.search("".join(c["source"]))]
    return min(steps[1:], key=lambda i: abs(i - middle))


def lesson_cells(path: Path) -> list:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"
            or STEP.search("".join(c["source"]))]


@pytest.mark.parametrize("path", lesson_paths(NOTEBOOKS), ids=lambda p: p.name)
def test_kernel_restart_halfway_then_first_cell_then_the_rest(path: Path, learner: Path) -> None:
    cells = lesson_cells(path)
    half = split_point(cells)
    first = next(c for c in cells if c["cell_type"] == "code")
    before = run(cells[:half], path)
    after = run([first, *cells[half:]], path)
    assert leaked_tokens(before + after) == []


@pytest.mark.parametrize("path", lesson_paths(NOTEBOOKS), ids=lambda p: p.name)
def test_every_cell_run_twice(path: Path, learner: Path) -> None:
    code = [c for c in lesson_cells(path) if c["cell_type"] == "code"]
    done = run([cell for c in code for cell in (c, c)], path)
    assert leaked_tokens(done) == []


@pytest.mark.parametrize("path", lesson_paths(NOTEBOOKS), ids=lambda p: p.name)
def test_no_saved_output_holds_a_token(path: Path) -> None:
    assert leaked_tokens(json.loads(path.read_text(encoding="utf-8"))["cells"]) == []
