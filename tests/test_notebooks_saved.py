"""Guards on the saved lessons that nbval itself does not enforce.

nbval passes a code cell that was never executed, and happily runs a notebook whose kernel is not
``python3``; these tests fail instead. They also keep the course's shape: numbered lessons, each
with a launch badge, a setup cell, a progress list, and a link to the next lesson.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tutorial_kit.lessons import BINDER_URL, LESSONS

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_every_lesson_of_the_catalog_is_a_notebook() -> None:
    assert [p.name for p in PATHS] == [info.filename for info in LESSONS]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_kernel_is_python3(path: Path) -> None:
    meta = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    assert meta["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_every_code_cell_was_executed_in_order(path: Path) -> None:
    code = [c for c in _cells(path) if c["cell_type"] == "code" and _source(c).strip()]
    unrun = [_source(c).splitlines()[0] for c in code if c.get("execution_count") is None]
    assert not unrun, f"cells saved without being run (use `make outputs`): {unrun}"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "outputs must come from one top-to-bottom run (`make outputs`)"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_no_cell_skips_or_ignores_nbval(path: Path) -> None:
    for cell in _cells(path):
        tags = cell.get("metadata", {}).get("tags", [])
        text = _source(cell)
        assert "NBVAL_SKIP" not in text and "nbval-skip" not in tags
        assert "NBVAL_IGNORE_OUTPUT" not in text and "nbval-ignore-output" not in tags


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_no_error_output_is_saved(path: Path) -> None:
    for cell in _cells(path):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{path.name}: {_source(cell)[:60]!r} raised {output.get('ename')}"
            assert output.get("name") != "stderr", f"{path.name}: {_source(cell)[:60]!r} wrote to stderr"


@pytest.mark.parametrize("info", LESSONS, ids=lambda i: i.filename)
def test_lesson_shape(info) -> None:
    cells = _cells(NOTEBOOKS / info.filename)
    first_md = _source(cells[0])
    assert first_md.startswith(f"# Lesson {info.number} ·")
    assert BINDER_URL in first_md, "the launch badge opens lesson 1 on Binder"
    setup = next(c for c in cells if c["cell_type"] == "code")
    assert f"kit.start_lesson({info.number})" in _source(setup), "the first code cell sets the lesson up"
    assert any("lesson.progress()" in _source(c) for c in cells if c["cell_type"] == "code")
    last = _source(cells[-1])
    if info.number < len(LESSONS):
        assert LESSONS[info.number].filename in last, "the last cell links to the next lesson"


def test_images_referenced_by_lessons_exist() -> None:
    for path in PATHS:
        for cell in _cells(path):
            for target in re.findall(r"\]\((images/[^)]+)\)", _source(cell)):
                assert (NOTEBOOKS / target).is_file(), f"{path.name} shows a missing picture {target}"


def test_readme_badge_matches_the_lessons() -> None:
    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    assert BINDER_URL in readme
