"""Build the JupyterLite site of the lessons into ``build/lite/``, from the registries alone.

What goes in, each from its registry and pinned:

- JupyterLab in the browser: ``jupyterlite-core`` and ``jupyterlite-pyodide-kernel`` (PyPI, pinned
  in ``pyproject.toml``'s ``lite`` extra), with the widgets' front end from ``jupyterlab_widgets``
  and ``jupyter_server`` (without it the build silently ships no notebooks) in the same environment;
- the browser's Python: npm's ``pyodide`` package at the version the kernel pins
  (``tutorial_kit/lite/inputs/package.json`` and its lock file, installed with ``npm ci``);
- the wheels that Python loads: ``tutorial_kit/lite/inputs/browser-wheels.txt`` (pure-Python wheels from PyPI, by hash)
  and the kit's own wheel, listed in a rewritten ``pyodide-lock.json`` (:mod:`.wheels`);
- the six lessons (their kernel set to the browser's Python) and their images;
- the kit's quiet JupyterLab settings (:data:`tutorial_kit.notebook.jupyter_settings.LEARNER_OVERRIDES`),
  and the kernel told never to fall back to PyPI.

``jupyter lite build --no-sourcemaps`` assembles it. The site is rebuilt only when an input
changes: a digest of the inputs is kept in ``build/lite/.kit-inputs``. Downloads are kept in
``.lite-cache/`` (verified by hash each time they are used).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .._exceptions import LiteSiteError
from ..notebook.jupyter_settings import LEARNER_OVERRIDES
from .wheels import pip_download, rewrite_lock, write_lock

__all__ = ["SiteBuild", "build_site", "inputs_digest", "REPO", "OUTPUT", "CACHE", "KERNELSPEC"]

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "build" / "lite"
#: the build's pinned inputs (npm package and lock, wheel pins), relative to the repository
INPUTS = Path("tutorial_kit", "lite", "inputs")
CACHE = REPO / ".lite-cache"
DIGEST_FILE = ".kit-inputs"
KIT_WHEEL_NAME = "faircom-permanent-session-kit"
#: the kit's dependencies in the browser's lock (tornado is not needed there; see tutorial_kit.browser)
KIT_DEPENDS = ("httpx", "ipython", "ipywidgets")
#: the kernel of jupyterlite-pyodide-kernel, written into the site's copies of the lessons
KERNELSPEC = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
#: what the site needs from npm's pyodide package (not its type files, source maps or demo pages)
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "package.json")
#: the kernel's own wheels, shipped by jupyterlite-pyodide-kernel (widgetsnbextension's stub is not needed)
KERNEL_WHEELS = ("piplite-*.whl", "pyodide_kernel-*.whl", "ipykernel-*.whl")
KERNEL_EXTENSION = (
    Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyterlite" / "pyodide-kernel-extension"
)
#: what the kernel would install one by one through micropip as it starts (pyodide-kernel's own
#: list); named in loadPyodideOptions, they are loaded together from the lock file instead
PRELOAD = ("micropip", "piplite", "ipykernel", "comm", "pyodide-kernel", "jedi", "ipython")
BUILD_TOOLS = ("jupyterlite-core", "jupyterlite-pyodide-kernel", "jupyterlab_widgets", "jupyter_server")


SiteBuildError = LiteSiteError


@dataclass(frozen=True)
class SiteBuild:
    """A built site: where it is, whether this call built it, how long that took."""

    path: Path
    built: bool
    seconds: float

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def _input_files(repo: Path) -> list[Path]:
    files = [repo / "pyproject.toml", *sorted((repo / INPUTS).glob("*.*"))]
    files += sorted(p for p in (repo / "tutorial_kit").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    files += sorted(p for p in (repo / "notebooks").glob("*.ipynb"))
    files += sorted(p for p in (repo / "notebooks" / "images").glob("*") if p.is_file())
    return files


def inputs_digest(repo: Path = REPO) -> str:
    """A digest of everything the site is made from (files and build tool versions)."""
    digest = hashlib.sha256()
    for path in _input_files(repo):
        digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes() + b"\0")
    for tool in BUILD_TOOLS:
        try:
            digest.update(f"{tool}=={importlib.metadata.version(tool)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            raise SiteBuildError(
                f"{tool} is not installed: run `make lite` (it installs the kit's [lite] extra)"
            ) from None
    return digest.hexdigest()


def _run(cmd: list[str], **kwargs: object) -> None:
    """Run a build step; its output is shown only when it fails."""
    log.info("running %s", " ".join(cmd))
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as err:
        raise SiteBuildError(f"{cmd[0]} was not found: install it ({err})") from None
    except subprocess.CalledProcessError as err:
        tail = "\n".join((err.stdout + err.stderr).splitlines()[-40:])
        raise SiteBuildError(f"`{' '.join(cmd[:5])} ...` failed with exit code {err.returncode}:\n{tail}") from None


def _pyodide_from_npm(repo: Path, cache: Path) -> Path:
    """npm's pyodide package, installed by ``npm ci`` from ``tutorial_kit/lite/inputs/package-lock.json``."""
    folder = cache / "npm"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(repo / INPUTS / name, folder / name)
    installed = folder / "node_modules" / "pyodide"
    want = json.loads((repo / INPUTS / "package.json").read_text())["dependencies"]["pyodide"]
    have = (
        json.loads((installed / "package.json").read_text())["version"]
        if (installed / "package.json").exists()
        else None
    )
    if have != want:
        _run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder)
    return installed


def _browser_wheels(repo: Path, cache: Path) -> list[Path]:
    dest = cache / "wheels"
    pip_download(["--require-hashes", "-r", str(repo / INPUTS / "browser-wheels.txt")], dest)
    names = [line.split("==")[0] for line in (repo / INPUTS / "browser-wheels.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    wheels = []
    for name in names:
        found = [w for w in dest.glob("*.whl") if _same_name(w, name)]
        if len(found) != 1:
            raise SiteBuildError(f"expected one wheel of {name} in {dest}, found {len(found)}")
        wheels += found
    return wheels


def _same_name(wheel: Path, name: str) -> bool:
    from packaging.utils import canonicalize_name, parse_wheel_filename

    return canonicalize_name(parse_wheel_filename(wheel.name)[0]) == canonicalize_name(name)


def _kit_wheel(repo: Path, cache: Path) -> Path:
    dest = cache / "kit-wheel"
    shutil.rmtree(dest, ignore_errors=True)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dest), str(repo)])
    return next(dest.glob("*.whl"))


def _kernel_wheels() -> list[Path]:
    folder = KERNEL_EXTENSION / "static" / "pypi"
    found = [next(iter(sorted(folder.glob(pattern))), None) for pattern in KERNEL_WHEELS]
    if None in found:
        raise SiteBuildError(f"the kernel's wheels ({', '.join(KERNEL_WHEELS)}) are not all in {folder}")
    return [w for w in found if w is not None]


def _stage_pyodide(stage: Path, npm: Path, wheels: list[Path], kit_wheel: Path) -> None:
    folder = stage / "static" / "pyodide"
    folder.mkdir(parents=True)
    for name in PYODIDE_FILES:
        shutil.copy2(npm / name, folder / name)
    for wheel in [*wheels, kit_wheel]:
        shutil.copy2(wheel, folder / wheel.name)
    npm_lock = json.loads((npm / "pyodide-lock.json").read_text(encoding="utf-8"))
    lock = rewrite_lock(npm_lock, [folder / w.name for w in [*wheels, kit_wheel]],
                        extra_depends={KIT_WHEEL_NAME: KIT_DEPENDS})
    lock["packages"][KIT_WHEEL_NAME]["imports"] = ["tutorial_kit"]
    write_lock(folder / "pyodide-lock.json", lock)


#: a markdown line that is only a badge image from another site (the Binder badge): the site
#: drops it from its copies, since a static site must not load anything from elsewhere
_BADGE = re.compile(r"^\s*\[!\[[^\]]*\]\(https?://[^)]*\)\]\([^)]*\)\s*$")


def _joined(value: object) -> object:
    """nbformat's multi-line text (a list of lines) as one string; JupyterLite shows a saved
    output's list of lines joined with commas."""
    return "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value


def lite_copy(notebook: dict) -> dict:
    """The site's copy of a lesson: the browser's kernel, one-string texts, no badge images from other sites."""
    data = json.loads(json.dumps(notebook))
    data.setdefault("metadata", {})["kernelspec"] = dict(KERNELSPEC)
    for cell in data.get("cells", []):
        cell["source"] = _joined(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            kept = [line for line in cell["source"].splitlines(keepends=True) if not _BADGE.match(line)]
            cell["source"] = "".join(kept).lstrip("\n")
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _joined(output["text"])
            for mime, value in output.get("data", {}).items():
                output["data"][mime] = _joined(value)
    return data


def _stage_lessons(repo: Path, stage: Path) -> None:
    files = stage / "files"
    (files / "images").mkdir(parents=True)
    for notebook in sorted((repo / "notebooks").glob("*.ipynb")):
        data = lite_copy(json.loads(notebook.read_text(encoding="utf-8")))
        (files / notebook.name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for image in (repo / "notebooks" / "images").glob("*"):
        if image.is_file():
            shutil.copy2(image, files / "images" / image.name)


#: the kit's quiet settings, and services.json opening in the text editor on a double-click (JupyterLab's
#: default for .json is a read-only tree view, where lesson 2's edit by hand cannot be done)
LITE_OVERRIDES = {
    **LEARNER_OVERRIDES,
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"json": "Editor"}},
}


def _stage_settings(stage: Path) -> None:
    (stage / "overrides.json").write_text(json.dumps(LITE_OVERRIDES, indent=2) + "\n", encoding="utf-8")
    config = {"jupyter-lite-schema-version": 0, "jupyter-config-data": {
        "appName": "FairCom permanent sessions (in the browser)",
        "litePluginSettings": {"@jupyterlite/pyodide-kernel-extension:kernel": {
            "disablePyPIFallback": True, "loadPyodideOptions": {"packages": list(PRELOAD)}}},
    }}
    (stage / "jupyter-lite.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _check_site(site: Path) -> None:
    """The built site loads Pyodide from itself and lists every lesson."""
    config = json.loads((site / "jupyter-lite.json").read_text(encoding="utf-8"))
    kernel = config["jupyter-config-data"]["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    if kernel.get("pyodideUrl") != "./static/pyodide/pyodide.mjs":
        raise SiteBuildError(f"the site would load Pyodide from {kernel.get('pyodideUrl')!r}, not from itself")
    listed = json.loads((site / "api" / "contents" / "all.json").read_text(encoding="utf-8"))
    names = {item["name"] for item in listed.get("content", [])}
    missing = {p.name for p in (REPO / "notebooks").glob("*.ipynb")} - names
    if missing:
        raise SiteBuildError(f"the site lists no {sorted(missing)}: is jupyter_server installed?")


def build_site(repo: Path = REPO, output: Path = OUTPUT, cache: Path = CACHE, *, force: bool = False) -> SiteBuild:
    """Build the site into ``output`` unless it is already built from the same inputs."""
    started = time.monotonic()
    digest = inputs_digest(repo)
    marker = output / DIGEST_FILE
    if not force and marker.is_file() and marker.read_text().strip() == digest:
        log.info("the site in %s is up to date", output)
        return SiteBuild(output, False, time.monotonic() - started)
    npm = _pyodide_from_npm(repo, cache)
    wheels = _browser_wheels(repo, cache)
    kit_wheel = _kit_wheel(repo, cache)
    stage = cache / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    _stage_pyodide(stage, npm, [*wheels, *_kernel_wheels()], kit_wheel)
    _stage_lessons(repo, stage)
    _stage_settings(stage)
    fresh = output.with_name(output.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    env = {**os.environ, "JUPYTERLITE_NO_LIBARCHIVE": "1"}
    _run([sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", str(stage), "--output-dir", str(fresh),
          "--contents", str(stage / "files"), "--settings-overrides", str(stage / "overrides.json"),
          "--no-sourcemaps", "--apps", "lab", "--log-level", "WARN"], cwd=stage, env=env)
    _check_site(fresh)
    (fresh / DIGEST_FILE).write_text(digest + "\n")
    shutil.rmtree(output, ignore_errors=True)
    fresh.rename(output)
    return SiteBuild(output, True, time.monotonic() - started)
