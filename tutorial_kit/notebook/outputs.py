"""``make outputs``: run every lesson and save its outputs, the same on every run.

The lessons run in order, each in a fresh kernel, against one fresh server home in reproducible
mode (deterministic tokens, clock and host), exactly as the notebook tests run them. Volatile
metadata (execution timings, widget model ids, the Python patch version) is normalised, so running
this twice changes nothing in git.

    python -m tutorial_kit.notebook.outputs notebooks [--check]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["lesson_paths", "reproducible_environment", "execute", "normalise", "main"]

log = logging.getLogger(__name__)

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def lesson_paths(folder: Path) -> list[Path]:
    """The numbered lessons in ``folder``, in course order."""
    return sorted(p for p in folder.glob("[0-9][0-9]-*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@contextlib.contextmanager
def reproducible_environment() -> Iterator[Path]:
    """Point the helper at a fresh server home in reproducible mode; stop its server afterwards."""
    saved = {k: os.environ.get(k) for k in ("TUTORIAL_KIT_HOME", "TUTORIAL_KIT_REPRODUCIBLE", "TUTORIAL_KIT_URL")}
    with tempfile.TemporaryDirectory(prefix="kit-outputs-") as tmp:
        home = Path(tmp) / "server-home"
        os.environ["TUTORIAL_KIT_HOME"] = str(home)
        os.environ["TUTORIAL_KIT_REPRODUCIBLE"] = "1"
        os.environ.pop("TUTORIAL_KIT_URL", None)
        try:
            yield home
        finally:
            from ..control.local import ServerControl

            ServerControl(home).stop()
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def execute(path: Path, *, timeout: int = 120) -> dict:
    """Run one notebook in a fresh ``python3`` kernel, in its own folder; return it normalised."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout, allow_errors=False,
                            record_timing=False, store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return normalise(nbformat.writes(nb))


def normalise(text: str) -> dict:
    """Drop what changes from run to run but says nothing about the lesson."""
    nb = json.loads(text)
    nb["metadata"]["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb["metadata"]["language_info"] = {"name": "python"}
    nb["metadata"].pop("widgets", None)
    counter = iter(range(1, 10_000))
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        if cell["cell_type"] == "code":
            cell["execution_count"] = next(counter)
            for output in cell.get("outputs", []):
                if "execution_count" in output:
                    output["execution_count"] = cell["execution_count"]
                # A saved widget view points at a model that exists only while the kernel runs;
                # JupyterLab would show "model not found". The text form stays until the cell is run.
                output.get("data", {}).pop(_WIDGET_VIEW, None)
    return nb


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-run the lessons and save their outputs.")
    parser.add_argument("folder", type=Path, nargs="?", default=Path("notebooks"))
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if any saved output would change")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    changed = []
    with reproducible_environment():
        for path in lesson_paths(args.folder):
            text = _dump(execute(path))
            if path.read_text(encoding="utf-8") != text:
                changed.append(path)
                if not args.check:
                    path.write_text(text, encoding="utf-8")
            log.info("%s %s", "changed" if path in changed else "same   ", path)
    if args.check and changed:
        print("outputs would change: " + ", ".join(str(p) for p in changed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
