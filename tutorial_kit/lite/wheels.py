"""Wheels for the browser's Python, and the Pyodide lock file that points at them.

Pyodide's npm package holds the interpreter and its standard library, and a lock file
(``pyodide-lock.json``) naming hundreds of packages that live on a CDN. The site ships none of
those: it ships the pure-Python wheels it needs, downloaded from PyPI by exact version and hash
(``tutorial_kit/lite/inputs/browser-wheels.txt``), and a lock file rewritten to list those wheels alone, each with
its own file name, hash, import names and dependencies. A package not in the site is then not
importable (rather than fetched from elsewhere).
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import logging
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from .._exceptions import LiteSiteError

__all__ = ["PYTHON", "pip_download", "requirements_of", "import_names", "lock_entry", "rewrite_lock", "sha256_of"]

log = logging.getLogger(__name__)

#: the Python of Pyodide 314 (its lock file says 3.14.2)
PYTHON = "3.14"

#: the marker environment of Pyodide in a browser, for reading wheels' Requires-Dist
_BROWSER_MARKERS: dict[str, str] = {
    **{key: str(value) for key, value in default_environment().items()},
    "implementation_name": "cpython", "platform_python_implementation": "CPython",
    "python_version": PYTHON, "python_full_version": f"{PYTHON}.2", "implementation_version": f"{PYTHON}.2",
    "sys_platform": "emscripten", "platform_system": "Emscripten", "os_name": "posix",
    "platform_machine": "wasm32", "platform_release": "", "platform_version": "",
}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pip_download(args: Iterable[str], dest: Path) -> None:
    """``pip download`` of pure-Python wheels for the browser's Python into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--platform", "any", "--implementation", "py", "--abi", "none", "--python-version", PYTHON,
           "--dest", str(dest), *args]
    log.info("%s", " ".join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise LiteSiteError(f"pip download failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def _metadata(wheel: Path) -> Any:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def requirements_of(wheel: Path, markers: Mapping[str, str] = _BROWSER_MARKERS) -> list[Requirement]:
    """The wheel's requirements that apply in the browser (no extras)."""
    found = []
    for text in _metadata(wheel).get_all("Requires-Dist") or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({**markers, "extra": ""}):
            found.append(requirement)
    return found


def import_names(wheel: Path) -> list[str]:
    """Top-level importable names in the wheel (packages and single-file modules)."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = set()
    for name in names:
        first, _, rest = name.partition("/")
        if first.endswith((".dist-info", ".data")):
            continue
        if rest and rest.endswith(".py") and "/" not in rest and re.fullmatch(r"\w+", first):
            tops.add(first)
        elif not rest and name.endswith(".py"):
            tops.add(name[:-3])
    return sorted(t for t in tops if not t.startswith("_") or t in ("_pytest", "_distutils_hack"))


def lock_entry(wheel: Path, depends: Iterable[str], known: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The lock file's entry for a wheel in the site's Pyodide folder (``file_name`` relative to it)."""
    name, version, _, _ = parse_wheel_filename(wheel.name)
    imports = list(known["imports"]) if known and known.get("imports") else import_names(wheel)
    return {"name": str(name), "version": str(version), "file_name": wheel.name, "install_dir": "site",
            "sha256": sha256_of(wheel), "package_type": "package", "imports": imports,
            "depends": sorted(set(depends)), "unvendored_tests": False}


def rewrite_lock(
    lock: Mapping[str, Any],
    wheels: Iterable[Path],
    extra_depends: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Any]:
    """A lock file with Pyodide's ``info`` and exactly ``wheels``; each entry's ``depends`` lists
    the wheel's browser requirements that are among ``wheels`` (plus ``extra_depends``)."""
    wheels = list(wheels)
    known = {canonicalize_name(k): v for k, v in lock.get("packages", {}).items()}
    present = {canonicalize_name(parse_wheel_filename(w.name)[0]) for w in wheels}
    packages: dict[str, Any] = {}
    for wheel in sorted(wheels, key=lambda w: w.name.lower()):
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        depends = {canonicalize_name(r.name) for r in requirements_of(wheel)} & present
        depends |= {canonicalize_name(d) for d in (extra_depends or {}).get(name, ())}
        packages[str(name)] = lock_entry(wheel, depends, known.get(name))
    missing = {d for entry in packages.values() for d in entry["depends"]} - set(packages)
    if missing:
        raise ValueError(f"the lock would name packages it does not hold: {sorted(missing)}")
    return {"info": dict(lock["info"]), "packages": packages}


def write_lock(path: Path, lock: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n", encoding="utf-8")
