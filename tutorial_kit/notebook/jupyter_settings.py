"""JupyterLab settings for learners: nothing on screen but the lesson.

``python -m tutorial_kit.notebook.jupyter_settings install PREFIX`` writes
``PREFIX/share/jupyter/lab/settings/overrides.json``, the file in which JupyterLab 4 looks for
site-wide defaults (``PREFIX`` is the Python environment that runs ``jupyter lab``: ``.venv`` for
``make lab``, ``sys.prefix`` on Binder). The defaults it sets:

- no "get notified about official Jupyter news?" prompt and no news feed (``fetchNews``);
- no "a newer JupyterLab is available" toast (``checkForUpdates``);
- no extension manager in the side bar: it asks to reach the internet and invites learners to
  install extensions in the middle of a lesson;
- ``.json`` files open in the text editor (``defaultViewers``), not in the read-only JSON tree:
  the lessons ask the learner to edit ``server-home/config/services.json``.

Every setting id and key is one that JupyterLab 4's own schemas define (the tests check them
against the installed schemas). An existing ``overrides.json`` is merged, not replaced: other
plugins and other keys stay as they are; the keys above take the kit's values. A file that is not
valid JSON is left alone and reported. Settings a learner changes in the settings editor still win
over these defaults.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._exceptions import KitUsageError
from .._files import replace_file

__all__ = ["LEARNER_OVERRIDES", "InstallResult", "overrides_path", "merge_overrides", "install", "main"]

log = logging.getLogger(__name__)

#: plugin id -> {setting: value}; every id and key exists in JupyterLab 4's schemas
LEARNER_OVERRIDES: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",  # a string in the schema: "true", "false" or "none" (= ask)
        "checkForUpdates": False,
    },
    "@jupyterlab/extensionmanager-extension:plugin": {
        "enabled": False,
    },
    "@jupyterlab/docmanager-extension:plugin": {
        "defaultViewers": {"json": "Editor"},  # services.json is the learner's to edit
    },
}


@dataclass(frozen=True)
class InstallResult:
    """What :func:`install` did: the file it wrote and the ``plugin:key`` settings it changed."""

    path: Path
    changed: tuple[str, ...]

    @property
    def written(self) -> bool:
        """True when the file was (re)written; False when it already held the kit's values."""
        return bool(self.changed)


def overrides_path(prefix: str | os.PathLike[str]) -> Path:
    """``PREFIX/share/jupyter/lab/settings/overrides.json``: where JupyterLab reads site defaults."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def merge_overrides(
    existing: Mapping[str, Any], wanted: Mapping[str, Mapping[str, Any]] = LEARNER_OVERRIDES
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Return ``existing`` with ``wanted`` laid over it, and the ``plugin:key`` names that changed.

    Plugins and keys not in ``wanted`` are kept as they are. Raises KitUsageError when a plugin's
    entry in ``existing`` is not a JSON object (the file would then be ambiguous to merge).
    """
    merged: dict[str, Any] = json.loads(json.dumps(existing))  # a deep copy of plain JSON
    changed: list[str] = []
    for plugin, settings in wanted.items():
        current = merged.setdefault(plugin, {})
        if not isinstance(current, dict):
            raise KitUsageError(
                f'overrides.json: "{plugin}" holds {type(current).__name__}, not an object of settings; '
                "fix or remove that entry, then run the install again."
            )
        for key, value in settings.items():
            if key not in current or current[key] != value:
                current[key] = value
                changed.append(f"{plugin}:{key}")
    return merged, tuple(changed)


def _read_existing(path: Path) -> dict[str, Any]:
    """The current overrides (empty when the file is missing); KitUsageError when it is not usable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        raise KitUsageError(
            f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}). "
            "JupyterLab would ignore it too. Fix or remove it, then run the install again; "
            "nothing was changed."
        ) from err
    if not isinstance(data, dict):
        raise KitUsageError(
            f"{path} must hold a JSON object of plugin settings; fix or remove it. Nothing was changed."
        )
    return data


def _write_atomically(path: Path, data: Mapping[str, Any]) -> None:
    """Replace ``path`` with ``data`` as indented JSON, so a reader never sees half a file.

    The file is world-readable (0644): JupyterLab reads it, and it holds no secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", mode=0o644)


def install(
    prefix: str | os.PathLike[str], wanted: Mapping[str, Mapping[str, Any]] = LEARNER_OVERRIDES
) -> InstallResult:
    """Merge ``wanted`` into PREFIX's ``overrides.json``; leave the file untouched if nothing changes."""
    path = overrides_path(prefix)
    merged, changed = merge_overrides(_read_existing(path), wanted)
    if changed:
        _write_atomically(path, merged)
        log.info("wrote %s (%s)", path, ", ".join(changed))
    else:
        log.info("%s already holds the learner settings", path)
    return InstallResult(path=path, changed=changed)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tutorial_kit.notebook.jupyter_settings install PREFIX``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_kit.notebook.jupyter_settings",
        description="Write JupyterLab's site defaults for learners (no news prompt, no update check).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="merge the learner settings into PREFIX's overrides.json")
    install_cmd.add_argument("prefix", type=Path, help="the Python environment that runs JupyterLab (e.g. .venv)")
    args = parser.parse_args(argv)
    try:
        result = install(args.prefix)
    except (KitUsageError, OSError) as err:
        print(f"jupyter_settings install: {err}", file=sys.stderr)
        return 1
    state = f"updated {len(result.changed)} setting(s)" if result.written else "already up to date"
    print(f"JupyterLab learner settings: {result.path} ({state})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
