"""Writing the pin files (maintainers only).

``tutorial_kit/lite/inputs/browser-wheels.txt`` and ``tutorial_kit/lite/inputs/test-wheels.txt``.

``python -m tutorial_kit.lite pin`` works out which pure-Python wheels the site needs: the
packages the Pyodide kernel loads when it starts (micropip, IPython, jedi, comm), the kit's own
(httpx, ipywidgets) and their requirements, each at the version Pyodide's lock file names where
it names one (the versions Pyodide tests together), else the newest on PyPI that fits. It
downloads each wheel and writes ``name==version --hash=sha256:...`` lines, so that ``make lite``
downloads exactly those files. ``test-wheels.txt`` does the same for what the Pyodide test run
adds (pytest, hypothesis). Run it after changing Pyodide's version in ``tutorial_kit/lite/inputs/package.json``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from .build import INPUTS
from .wheels import pip_download, requirements_of, sha256_of

__all__ = ["BROWSER_ROOTS", "TEST_ROOTS", "NOT_IN_THE_KERNEL", "resolve", "write_pins"]

#: what the kernel loads at start (pyodide-kernel's own list) and what the kit imports
BROWSER_ROOTS = ("micropip", "ipython", "jedi", "comm", "httpx", "ipywidgets")
#: what the Pyodide test run adds
TEST_ROOTS = ("pytest", "pytest-timeout", "hypothesis")
#: requirements that are not wheels for the kernel: the kernel extension ships its own ipykernel,
#: pyodide-kernel and widgetsnbextension; jupyterlab_widgets is the widgets' front end (it goes
#: into the site's JupyterLab, from the build environment); the kit needs tornado only for HTTP
NOT_IN_THE_KERNEL = frozenset({"ipykernel", "pyodide-kernel", "widgetsnbextension", "jupyterlab-widgets", "tornado"})


def resolve(roots: Iterable[str], lock: Mapping[str, Any], work: Path, have: Iterable[str] = ()) -> dict[str, Path]:
    """Name -> downloaded wheel for ``roots`` and their browser requirements, minus ``have``."""
    versions = {canonicalize_name(k): v["version"] for k, v in lock["packages"].items()}
    done: dict[str, Path] = {}
    skip = {canonicalize_name(n) for n in have} | NOT_IN_THE_KERNEL
    queue = [Requirement(r) for r in roots]
    while queue:
        requirement = queue.pop(0)
        name = canonicalize_name(requirement.name)
        if name in done or name in skip:
            continue
        spec = f"{name}=={versions[name]}" if name in versions else f"{name}{requirement.specifier}"
        folder = work / name
        pip_download([spec], folder)
        wheel = next(folder.glob("*.whl"))
        done[name] = wheel
        queue += requirements_of(wheel)
    return done


def write_pins(path: Path, wheels: Mapping[str, Path], heading: str) -> None:
    lines = [f"# {line}".rstrip() for line in heading.splitlines()]
    for name in sorted(wheels):
        wheel = wheels[name]
        version = parse_wheel_filename(wheel.name)[1]
        lines.append(f"{name}=={version} --hash=sha256:{sha256_of(wheel)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def pin(repo: Path, pyodide_lock: Path) -> None:
    """Write both pin files from Pyodide's lock file (the npm package's ``pyodide-lock.json``)."""
    lock = json.loads(pyodide_lock.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="kit-pin-") as tmp:
        browser = resolve(BROWSER_ROOTS, lock, Path(tmp) / "browser")
        tests = resolve(TEST_ROOTS, lock, Path(tmp) / "tests", have=browser)
        note = (f"Written by `python -m tutorial_kit.lite pin` for Pyodide {lock['info'].get('python')}: "
                "exact versions and hashes.\nDo not edit by hand; see tutorial_kit/lite/pins.py.")
        write_pins(repo / INPUTS / "browser-wheels.txt", browser,
                   "Pure-Python wheels the JupyterLite site ships for the browser's Python.\n" + note)
        write_pins(repo / INPUTS / "test-wheels.txt", tests,
                   "Wheels the Pyodide test run (tests/test_pyodide.py) adds to the site's.\n" + note)
