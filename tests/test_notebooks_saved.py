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


def _markdown(path: Path) -> str:
    return "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_no_picture_comes_from_the_internet(path: Path) -> None:
    """A running JupyterLab may be offline: every image is a file of the repository."""
    for cell in _cells(path):
        text = _source(cell) + json.dumps(cell.get("outputs", []))
        assert not re.search(r"!\[[^\]]*\]\(https?:", text), f"{path.name}: an image from the internet"
        assert not re.search(r"<img[^>]+src=[\"']https?:", text), f"{path.name}: an <img> from the internet"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_markers_say_whose_behaviour_in_one_consistent_form(path: Path) -> None:
    from tutorial_kit.lessons.markers import (
        SOURCE_PAGES,
        faircom_links,
        faircom_marker,
        kit_choice_marker,
        kit_row_of,
        markers_in,
    )

    lines = markers_in(_markdown(path))
    assert lines, f"{path.name} says nowhere whose behaviour it shows"
    for line in lines:
        row = kit_row_of(line)
        if row is not None:
            assert line == kit_choice_marker(row), f"{path.name}: write the marker as kit_choice_marker({row!r})"
            continue
        links = faircom_links(line)
        unknown = [url for _, url in links if url not in SOURCE_PAGES]
        assert links and not unknown, f"{path.name}: a FairCom marker links a page the sources table lacks: {unknown}"
        assert line == faircom_marker(*links), f"{path.name}: write the marker as faircom_marker(...): {line}"
    assert not re.search(r"Kit's choice(?!\*\*)", _markdown(path).replace("**Kit's choice**", "")), \
        "a kit's choice is marked only by the marker line"


def test_a_marker_names_only_a_row_of_the_kit_choices_or_a_page_of_the_sources_table() -> None:
    from tutorial_kit.lessons.markers import faircom_links, faircom_marker, kit_choice_marker, source_link

    with pytest.raises(KeyError):
        kit_choice_marker("no_such_row")
    with pytest.raises(KeyError):
        source_link("createSession", "action.noSuchAction")
    with pytest.raises(ValueError, match="sources.py"):
        faircom_marker(("a page", "https://docs.faircom.com/docs/en/not-in-the-table.html"))
    line = faircom_marker(source_link("deleteSession", "action.deleteSession"))
    assert faircom_links(line) == [("deleteSession", source_link("deleteSession", "action.deleteSession")[1])]


@pytest.mark.parametrize("info", LESSONS, ids=lambda i: i.filename)
def test_every_step_a_name_comes_from_is_a_heading_of_the_lesson(info) -> None:
    headings = {
        line[3:].strip() for line in _markdown(NOTEBOOKS / info.filename).splitlines() if line.startswith("## ")
    }
    for name, step in info.steps.items():
        assert step in headings, f"{info.filename}: {name} is said to come from {step!r}, which is no heading"
    code = "\n".join(_source(c) for c in _cells(NOTEBOOKS / info.filename) if c["cell_type"] == "code")
    for description in info.keys.values():
        assert f'"{description}"' in code, f"{info.filename}: no cell makes a session described {description!r}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_saved_progress_and_panels_say_run_this_cell(path: Path) -> None:
    for cell in _cells(path):
        source = _source(cell)
        texts = [o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", [])]
        text = "".join("".join(t) for t in texts)
        if source.strip() == "lesson.progress()" or source.startswith("kit.panels."):
            assert "run this cell to see" in text, f"{path.name}: {source!r} saved someone's state"
        assert "Course progress: " not in text or "run this cell to see your progress" in text


def test_lessons_link_to_services_json_in_jupyterlab() -> None:
    for number in (1, 2, 6):
        text = _markdown(NOTEBOOKS / LESSONS[number - 1].filename)
        assert "(../server-home/config/services.json)" in text, f"lesson {number} links the file it asks to open"
