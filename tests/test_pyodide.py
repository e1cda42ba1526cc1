"""The server's and the helper's tests inside Pyodide, in node: the browser's Python, without a browser.

Pyodide and the kit's wheel come from the built JupyterLite site (``build/lite/``, built once and
reused: see :func:`tutorial_kit.lite.serve.site`), pytest and hypothesis from
``tutorial_kit/lite/inputs/test-wheels.txt``.
``tests/pyodide/runner.py`` names the test files and the few CPython-only facts skipped there.
Needs node (Debian's nodejs; ``.ci/run`` installs it); without it the test is skipped and says why.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tutorial_kit.lite.build import CACHE, INPUTS, REPO
from tutorial_kit.lite.serve import site
from tutorial_kit.lite.wheels import pip_download

NODE = shutil.which("node")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(NODE is None, reason="node is not installed (apt-get install nodejs, as .ci/run does)"),
]


def test_the_browser_safe_tests_pass_inside_pyodide() -> None:
    built = site()
    wheels = CACHE / "test-wheels"
    pip_download(["--require-hashes", "-r", str(REPO / INPUTS / "test-wheels.txt")], wheels)
    cmd = [NODE, "--experimental-wasm-stack-switching", str(REPO / "tests" / "pyodide" / "run.mjs"),
           str(built.path / "static" / "pyodide"), str(wheels), str(REPO)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=840)
    tail = "\n".join(done.stdout.splitlines()[-30:])
    summary = re.findall(r"^=*\s*(\d+ passed.*?)\s*=*$", done.stdout, re.M)
    print(f"\ninside Pyodide: {summary[-1] if summary else '(no summary)'}")
    assert done.returncode == 0, f"pytest in Pyodide exited {done.returncode}:\n{tail}\n{done.stderr[-3000:]}"
    assert summary and " failed" not in summary[-1] and int(summary[-1].split()[0]) >= 150, tail
