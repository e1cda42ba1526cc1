"""The learner settings for JupyterLab: what lands in overrides.json, merging, and that JupyterLab knows them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tutorial_kit import KitUsageError
from tutorial_kit.notebook.jupyter_settings import LEARNER_OVERRIDES, install, main, merge_overrides, overrides_path

NOTIFICATION = "@jupyterlab/apputils-extension:notification"
EXTENSIONS = "@jupyterlab/extensionmanager-extension:plugin"
DOCUMENTS = "@jupyterlab/docmanager-extension:plugin"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_install_writes_the_learner_settings_into_a_fresh_prefix(tmp_path: Path) -> None:
    result = install(tmp_path)

    assert result.path == tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    data = _read(result.path)
    assert data[NOTIFICATION] == {"fetchNews": "false", "checkForUpdates": False}
    assert data[EXTENSIONS] == {"enabled": False}
    assert data[DOCUMENTS] == {"defaultViewers": {"json": "Editor"}}, "services.json opens in the editor"
    assert set(result.changed) == {f"{NOTIFICATION}:fetchNews", f"{NOTIFICATION}:checkForUpdates",
                                   f"{EXTENSIONS}:enabled", f"{DOCUMENTS}:defaultViewers"}
    assert result.path.read_text(encoding="utf-8").endswith("}\n")


def test_a_second_install_changes_nothing_and_leaves_the_file_alone(tmp_path: Path) -> None:
    first = install(tmp_path)
    before = first.path.stat().st_mtime_ns
    second = install(tmp_path)

    assert not second.written
    assert second.changed == ()
    assert first.path.stat().st_mtime_ns == before


def test_install_merges_with_an_existing_file_instead_of_replacing_it(tmp_path: Path) -> None:
    path = overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    existing = {
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        NOTIFICATION: {"fetchNews": "true", "doNotDisturbMode": True},
    }
    path.write_text(json.dumps(existing), encoding="utf-8")

    result = install(tmp_path)

    data = _read(path)
    assert data["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert data[NOTIFICATION] == {"fetchNews": "false", "doNotDisturbMode": True, "checkForUpdates": False}
    assert f"{NOTIFICATION}:fetchNews" in result.changed
    assert not any("doNotDisturbMode" in name or "themes" in name for name in result.changed)


def test_a_broken_existing_file_is_reported_with_its_place_and_left_untouched(tmp_path: Path) -> None:
    path = overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    broken = '{\n  "@jupyterlab/apputils-extension:themes" {"theme": "JupyterLab Dark"}\n}\n'
    path.write_text(broken, encoding="utf-8")

    with pytest.raises(KitUsageError, match=r"line 2, column") as caught:
        install(tmp_path)

    assert "nothing was changed" in str(caught.value)
    assert path.read_text(encoding="utf-8") == broken


def test_a_plugin_entry_that_is_not_an_object_cannot_be_merged() -> None:
    with pytest.raises(KitUsageError, match="not an object"):
        merge_overrides({NOTIFICATION: "off"})


def test_merge_does_not_modify_its_input() -> None:
    existing = {NOTIFICATION: {"fetchNews": "none"}}
    merge_overrides(existing)
    assert existing == {NOTIFICATION: {"fetchNews": "none"}}


def _installed_schemas() -> Path:
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install -e '.[notebook]')")
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    if not schemas.is_dir():
        pytest.fail(f"JupyterLab is importable but its schemas are missing from {schemas}")
    return schemas


@pytest.mark.parametrize("plugin", sorted(LEARNER_OVERRIDES))
def test_every_setting_exists_in_jupyterlab_4_and_its_value_is_valid(plugin: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    package, name = plugin.split(":")
    schema_file = _installed_schemas() / package / f"{name}.json"
    assert schema_file.is_file(), f"JupyterLab has no settings schema for {plugin}"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))

    for key, value in LEARNER_OVERRIDES[plugin].items():
        assert key in schema["properties"], f"{plugin} has no setting {key!r}"
        jsonschema.validate(value, schema["properties"][key])  # raises on a wrong type or value


def test_jupyterlab_server_reads_the_installed_file(tmp_path: Path) -> None:
    settings_utils = pytest.importorskip("jupyterlab_server.settings_utils")
    result = install(tmp_path)

    overrides, error = settings_utils._get_overrides(str(result.path.parent))

    assert error == ""
    assert overrides[NOTIFICATION]["fetchNews"] == "false"
    assert overrides[EXTENSIONS]["enabled"] is False


def test_the_command_line_installs_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["install", str(tmp_path)]) == 0
    assert str(overrides_path(tmp_path)) in capsys.readouterr().out
    assert _read(overrides_path(tmp_path))[NOTIFICATION]["fetchNews"] == "false"


def test_the_command_line_fails_on_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2", encoding="utf-8")

    assert main(["install", str(tmp_path)]) == 1
    assert "not valid JSON" in capsys.readouterr().err
