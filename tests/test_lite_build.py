"""``make lite``'s pieces that need no network: the site's copies of the lessons, the rewritten
lock file, the pin files, the settings and the README's instructions."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from tutorial_kit.lite.build import INPUTS, KERNELSPEC, LITE_OVERRIDES, REPO, inputs_digest, lite_copy
from tutorial_kit.lite.wheels import import_names, requirements_of, rewrite_lock
from tutorial_kit.notebook.jupyter_settings import LEARNER_OVERRIDES

PIN = re.compile(r"^[a-z0-9][a-z0-9.-]*==[0-9][^ ]* --hash=sha256:[0-9a-f]{64}$")


def _wheel(folder: Path, name: str, version: str, requires: list[str], modules: dict[str, str]) -> Path:
    path = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    meta = "\n".join([f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}",
                      *(f"Requires-Dist: {r}" for r in requires)]) + "\n"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name.replace('-', '_')}-{version}.dist-info/METADATA", meta)
        for file, text in modules.items():
            archive.writestr(file, text)
    return path


def test_the_site_copy_of_a_lesson_uses_the_browser_kernel_and_no_other_site() -> None:
    original = json.loads((REPO / "notebooks" / "01-start-here.ipynb").read_text(encoding="utf-8"))
    copy = lite_copy(original)
    assert copy["metadata"]["kernelspec"] == KERNELSPEC
    badge = {"cell_type": "markdown", "metadata": {}, "source": ["[![Launch](https://mybinder.org/badge_logo.svg)]"
                                                                 "(https://mybinder.org/v2/x)\n", "Text.\n"]}
    assert lite_copy({"cells": [badge]})["cells"][0]["source"] == "Text.\n"  # an image from another site: dropped
    for cell in copy["cells"]:
        assert not re.search(r"!\[[^\]]*\]\(https?://", cell["source"]), cell["source"]
    for cell in copy["cells"]:
        assert isinstance(cell["source"], str)
        for output in cell.get("outputs", []):
            assert all(not isinstance(v, list) for v in output.get("data", {}).values())
    assert [c["cell_type"] for c in copy["cells"]] == [c["cell_type"] for c in original["cells"]]


def test_the_lock_lists_exactly_the_wheels_with_their_browser_requirements(tmp_path: Path) -> None:
    wheels = [
        _wheel(tmp_path, "alpha", "1.0", ["beta>=2", "gamma; sys_platform == 'win32'", "delta; extra == 'x'"],
               {"alpha/__init__.py": ""}),
        _wheel(tmp_path, "beta", "2.1", [], {"beta.py": "", "_beta_private.py": ""}),
    ]
    assert [r.name for r in requirements_of(wheels[0])] == ["beta"]
    assert import_names(wheels[1]) == ["beta"]
    npm_lock = {"info": {"python": "3.14.2"}, "packages": {"alpha": {"imports": ["alpha", "alpha_extra"]},
                                                            "numpy": {"file_name": "numpy.whl"}}}
    lock = rewrite_lock(npm_lock, wheels)
    assert set(lock["packages"]) == {"alpha", "beta"}
    assert lock["packages"]["alpha"]["depends"] == ["beta"]
    assert lock["packages"]["alpha"]["imports"] == ["alpha", "alpha_extra"]  # Pyodide's own list wins
    assert lock["packages"]["beta"]["file_name"] == wheels[1].name and len(lock["packages"]["beta"]["sha256"]) == 64
    assert rewrite_lock(npm_lock, wheels[:1])["packages"]["alpha"]["depends"] == []  # not shipped: not named
    with pytest.raises(ValueError, match="does not hold"):
        rewrite_lock(npm_lock, wheels, extra_depends={"alpha": ["zeta"]})


@pytest.mark.parametrize("name", ["browser-wheels.txt", "test-wheels.txt"])
def test_every_wheel_is_pinned_by_version_and_hash(name: str) -> None:
    lines = [line for line in (REPO / INPUTS / name).read_text().splitlines() if line and not line.startswith("#")]
    assert lines and all(PIN.match(line) for line in lines), [line for line in lines if not PIN.match(line)]
    assert not any(line.startswith(("tornado==", "ipykernel==", "widgetsnbextension==")) for line in lines)


def test_pyodide_is_the_version_the_kernel_pins() -> None:
    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

    package = json.loads((REPO / INPUTS / "package.json").read_text())
    lock = json.loads((REPO / INPUTS / "package-lock.json").read_text())
    assert package["dependencies"]["pyodide"] == PYODIDE_VERSION
    assert lock["packages"]["node_modules/pyodide"]["version"] == PYODIDE_VERSION
    assert lock["packages"]["node_modules/pyodide"]["integrity"].startswith("sha512-")


def test_the_site_gets_the_quiet_settings_and_json_in_the_editor() -> None:
    for plugin, values in LEARNER_OVERRIDES.items():
        assert LITE_OVERRIDES[plugin] == values
    assert LITE_OVERRIDES["@jupyterlab/docmanager-extension:plugin"] == {"defaultViewers": {"json": "Editor"}}


def test_the_digest_follows_the_inputs(tmp_path: Path) -> None:
    assert inputs_digest() == inputs_digest()


def test_the_readme_says_where_the_site_is_and_how_to_publish_it() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make lite" in readme and "`build/lite/`" in readme and "static web host" in readme
    lines = readme.splitlines()
    binder = next(i for i, line in enumerate(lines) if "mybinder.org" in line)
    assert "lab/index.html?path=01-start-here.ipynb" in lines[binder + 1]  # the launch link beside Binder's
