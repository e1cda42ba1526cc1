"""``tutorial_kit``'s public surface: a literal ``__all__``, every name of it importable on its own.

Each check runs in a fresh interpreter: in one that already imported part of the kit, a submodule
is an attribute of the package whether or not the package makes it one (``kit.lessons`` used to
work only after ``kit.start_lesson`` had been touched).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import tutorial_kit
from tutorial_kit import _exceptions

ROOT = Path(__file__).resolve().parents[1]
#: what ``import tutorial_kit`` alone must not load; nor any public subpackage (server, client, lessons, ...)
HEAVY = ("tornado", "httpx", "ipywidgets", "IPython")
IPYTHON_HOOKS = ("load_ipython_extension", "unload_ipython_extension")


def _python(code: str) -> subprocess.Popen[str]:
    """A fresh interpreter that imports the kit of this checkout, started, not waited for."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _run(code: str) -> str:
    process = _python(code)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out.strip()


def test_all_is_a_literal_list_in_the_source() -> None:
    tree = ast.parse((ROOT / "tutorial_kit" / "__init__.py").read_text(encoding="utf-8"))
    found = [node.value for node in tree.body if isinstance(node, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)]
    assert len(found) == 1 and isinstance(found[0], ast.List), "__all__ is assigned once, as a list"
    names = ast.literal_eval(found[0])
    assert names == tutorial_kit.__all__ and len(set(names)) == len(names)


def test_all_and_the_lazy_map_agree() -> None:
    lazy = set(tutorial_kit._LAZY)
    eager = set(_exceptions.__all__) | set(IPYTHON_HOOKS)
    assert lazy.isdisjoint(eager)
    assert set(tutorial_kit.__all__) == lazy | eager, "a name in _LAZY is missing from __all__, or the other way"


def test_every_public_name_is_documented_in_the_module_docstring() -> None:
    doc = tutorial_kit.__doc__ or ""
    assert [name for name in tutorial_kit.__all__ if name not in doc] == []


def test_dir_is_the_public_surface() -> None:
    shown = _run("import tutorial_kit as kit; print(' '.join(dir(kit)))").split()
    assert sorted(n for n in shown if not (n.startswith("__") and n.endswith("__"))) == sorted(tutorial_kit.__all__)


def test_every_public_name_resolves_in_a_fresh_interpreter() -> None:
    code = "import tutorial_kit as kit; value = getattr(kit, {name!r}); assert value is not None"
    processes = {name: _python(code.format(name=name)) for name in tutorial_kit.__all__}
    failed = {}
    for name, process in processes.items():
        _, err = process.communicate(timeout=120)
        if process.returncode != 0:
            failed[name] = err.strip().splitlines()[-1:]
    assert failed == {}


def test_the_submodules_learners_use_are_attributes_right_after_import() -> None:
    out = _run("import tutorial_kit as kit\n"
               "print(kit.lessons.Exercises.__name__, kit.lessons.BROKEN_REQUEST is not None,"
               " kit.panels.__name__, kit.lessons.start_lesson is kit.start_lesson)")
    assert out == "Exercises True tutorial_kit.panels True"


def test_importing_the_kit_alone_loads_nothing_heavy() -> None:
    out = _run("import sys, tutorial_kit\n"
               f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}"
               " or m.startswith('tutorial_kit.') and not m.split('.')[1].startswith('_')))")
    assert out == "[]"
