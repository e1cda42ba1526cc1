"""The Binder set-up: pinned requirements, runtime, postBuild/start, and an environment built as Binder would.

The fast tests read the files. The slow ones build what Binder builds, as far as this machine
allows: the repository as a clone would hold it, a fresh virtual environment from
``binder/requirements.txt`` (pip run from the repository's top, so the final ``.`` installs the
kit), then ``binder/postBuild`` with that environment first on PATH, then the first lesson under
nbval in strict mode inside that environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
import venv
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
FIRST_LESSON = Path("notebooks/01-start-here.ipynb")
SANITIZE = Path("notebooks/sanitize.cfg")
OVERRIDES = Path("share/jupyter/lab/settings/overrides.json")
SELF = canonicalize_name("faircom-permanent-session-kit")


# --- fast checks of the files ---------------------------------------------------------------

def _requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _pyproject_requirements() -> dict[str, Requirement]:
    """The kit's runtime and notebook dependencies, by canonical name."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["notebook"]]
    return {canonicalize_name(req.name): req for req in map(Requirement, wanted)}


def _pins() -> dict[str, str]:
    pins = {}
    for line in _requirement_lines()[:-1]:
        req = Requirement(line)
        (spec,) = req.specifier  # exactly one specifier per line
        assert spec.operator == "==", f"binder/requirements.txt: {line!r} must pin with =="
        pins[canonicalize_name(req.name)] = spec.version
    return pins


def test_requirements_pin_every_line_and_end_with_the_repository_itself() -> None:
    lines = _requirement_lines()
    assert lines[-1] == ".", "the last line of binder/requirements.txt must be `.` (installs the kit)"
    assert lines.count(".") == 1
    assert len(_pins()) == len(lines) - 1, "a package is pinned twice"


def test_every_runtime_and_notebook_dependency_is_pinned_inside_pyproject_ranges() -> None:
    pins, wanted = _pins(), _pyproject_requirements()
    assert set(wanted) <= set(pins), f"not pinned in binder/requirements.txt: {sorted(set(wanted) - set(pins))}"
    for name, version in pins.items():
        if name in wanted:
            assert wanted[name].specifier.contains(version, prereleases=True), (
                f"binder pins {name}=={version}, outside pyproject's {wanted[name].specifier}"
            )


def test_runtime_is_python_3_11_as_pyproject_requires() -> None:
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime == "python-3.11"
    requires = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert Requirement(f"python{requires}").specifier.contains("3.11")


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_binder_scripts_are_executable_bash_with_lf_endings(name: str) -> None:
    script = BINDER / name
    data = script.read_bytes()
    assert os.access(script, os.X_OK), f"binder/{name} must be executable (chmod +x, and commit the mode)"
    assert b"\r" not in data, f"binder/{name} has CR line endings; bash would fail on them"
    assert data.startswith(b"#!/usr/bin/env bash\n")
    assert b"\nset -euo pipefail\n" in data
    tracked = subprocess.run(["git", "ls-files", "-s", "--", f"binder/{name}"], cwd=REPO,
                             capture_output=True, text=True, check=False).stdout
    if tracked:  # once committed, git must record the executable bit too
        assert tracked.startswith("100755"), f"git records binder/{name} as {tracked.split()[0]}, not 100755"


def test_postbuild_installs_the_jupyterlab_settings_into_the_running_python() -> None:
    text = (BINDER / "postBuild").read_text(encoding="utf-8")
    assert (
        "python -m tutorial_kit.notebook.jupyter_settings install \"$(python -c 'import sys;print(sys.prefix)')\""
        in text
    )


@pytest.mark.parametrize("path", ["binder/postBuild", "binder/start", "binder/requirements.txt", ".ci/run",
                                  "Makefile", "tutorial_kit/cli/main.py", "notebooks/01-start-here.ipynb", "x.sh"])
def test_gitattributes_keeps_lf_endings(path: str) -> None:
    out = subprocess.run(["git", "check-attr", "eol", "--", path], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("eol: lf"), out


# --- the slow build ---------------------------------------------------------------------------

def _repository_files(root: Path) -> list[str]:
    """What a clone holds, plus work not committed yet; ignored files (.venv, server-home) are not."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         capture_output=True, check=True).stdout
    return [name for name in out.decode("utf-8").split("\0") if name and (root / name).is_file()]


def _copy_repository(target: Path) -> Path:
    for name in _repository_files(REPO):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, destination)  # keeps the executable bit
    return target


def _venv_env(env_dir: Path, scratch: Path) -> dict[str, str]:
    """The environment of a command run inside the Binder-like venv; Jupyter state kept in ``scratch``."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"} and not k.startswith("TUTORIAL_KIT_")}
    env.update(
        PATH=f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(env_dir),
        PYTHONNOUSERSITE="1",
        JUPYTER_DATA_DIR=str(scratch / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(scratch / "jupyter-config"),
        IPYTHONDIR=str(scratch / "ipython"),
    )
    return env


def _run(args: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 300) -> str:
    """Run a step; on failure, fail the test with the step's own output."""
    done = subprocess.run(args, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n"
                    f"--- stderr\n{done.stderr[-4000:]}", pytrace=False)
    return done.stdout


class BinderBuild:
    """A repository copy with a venv built from binder/requirements.txt and postBuild run in it."""

    def __init__(self, root: Path, repo: Path, env_dir: Path, env: dict[str, str]) -> None:
        self.root, self.repo, self.env_dir, self.env = root, repo, env_dir, env

    @property
    def python(self) -> str:
        return str(self.env_dir / "bin" / "python")


@pytest.fixture(scope="module")
def binder_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BinderBuild]:
    root = tmp_path_factory.mktemp("binder")
    repo = _copy_repository(root / "repo")
    env_dir = root / "env"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    env = _venv_env(env_dir, root)
    python = str(env_dir / "bin" / "python")
    _run([python, "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"], cwd=repo, env=env)
    _run([str(repo / "binder" / "postBuild")], cwd=repo, env=env)
    yield BinderBuild(root, repo, env_dir, env)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_binder_build_installs_the_kit_and_the_quiet_jupyterlab_settings(binder_build: BinderBuild) -> None:
    b = binder_build
    assert (b.env_dir / OVERRIDES).is_file(), "postBuild did not write the JupyterLab overrides into the venv"
    probe = (
        "import json, os, tutorial_kit\n"
        "from jupyterlab.commands import get_app_dir\n"
        "from jupyterlab_server.settings_utils import _get_overrides\n"
        "overrides, error = _get_overrides(os.path.join(get_app_dir(), 'settings'))\n"
        "print(json.dumps([tutorial_kit.__file__, overrides, error]))\n"
    )
    kit_file, overrides, error = json.loads(_run([b.python, "-c", probe], cwd=b.root, env=b.env))
    assert Path(kit_file).is_relative_to(b.env_dir), f"the kit came from {kit_file}, not from the Binder venv"
    assert error == ""
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    pins = _pins()
    frozen = _run([b.python, "-m", "pip", "freeze"], cwd=b.root, env=b.env).lower()
    for name in ("jupyterlab", "tornado", "httpx"):
        assert f"{name}=={pins[name]}" in frozen


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_binder_start_points_the_lessons_at_a_home_inside_the_repository(binder_build: BinderBuild) -> None:
    b = binder_build
    shown = _run([str(b.repo / "binder" / "start"), "python", "-c",
                  "import os; print(os.environ['TUTORIAL_KIT_HOME'])"], cwd=b.root, env=b.env)
    assert Path(shown.strip()) == (b.repo / "server-home").resolve()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_first_lesson_passes_nbval_strict_in_the_binder_environment(request: pytest.FixtureRequest) -> None:
    for needed in (FIRST_LESSON, SANITIZE):
        if not (REPO / needed).is_file():
            pytest.fail(f"{needed} does not exist yet: the Binder environment cannot be checked against the "
                        "first lesson until the notebooks (and their sanitize file) are in the repository.",
                        pytrace=False)
    b: BinderBuild = request.getfixturevalue("binder_build")
    _run([b.python, "-m", "pip", "install", "--quiet", "nbval", "pytest"], cwd=b.repo, env=b.env)
    home = b.root / "nbval-server-home"
    env = {**b.env, "TUTORIAL_KIT_HOME": str(home), "TUTORIAL_KIT_REPRODUCIBLE": "1"}
    try:
        _run([b.python, "-m", "pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(SANITIZE),
              str(FIRST_LESSON), "-p", "no:cacheprovider", "-q"], cwd=b.repo, env=env, timeout=600)
    finally:
        _stop_background_server(home)


def _stop_background_server(home: Path) -> None:
    """Stop the managed server the lesson may have left running for ``home``."""
    if (home / "run" / "server.json").exists():
        from tutorial_kit.control.local import ServerControl

        ServerControl(home).stop()
