"""Format-preserving edits of services.json (tutorial_kit.control.servicesfile)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutorial_kit import ConfigFileError, KitUsageError
from tutorial_kit.control.servicesfile import SetDefaultResult, read_defaults, set_default

FLAG = "enablePermanentJsonApiSessions"

SEED_LIKE = """{
  "listeners": [
    {"serviceName": "http8080", "port": 8080, "protocol": "http", "enabled": true}
  ],
  "apiRoot": "./api",
  "jsonActionApiDefaults": {
    "defaultApi": "hub",
    "defaultDebug": "max",
    "idleConnectionTimeoutSeconds": 3600
  }
}
"""


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.fixture
def services(tmp_path: Path) -> Path:
    return write(tmp_path / "services.json", SEED_LIKE)


# --- generated layouts -----------------------------------------------------------------------

scalars = st.one_of(
    st.booleans(),
    st.none(),
    st.integers(-(2**40), 2**40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
keys = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)


@st.composite
def documents(draw: st.DrawFn) -> tuple[dict[str, Any], str, Any]:
    """A services.json-like document, the property to set, and the value to set it to."""
    name = draw(st.one_of(st.just(FLAG), keys))
    others = draw(st.dictionaries(keys.filter(lambda k: k != name), json_values, max_size=4))
    where = draw(st.sampled_from(["absent", "first", "last", "middle"]))
    items = list(others.items())
    if where != "absent":
        old = draw(json_values)
        index = {"first": 0, "last": len(items), "middle": len(items) // 2}[where]
        items.insert(index, (name, old))
    defaults = dict(items)
    top: list[tuple[str, Any]] = [("listeners", [{"serviceName": "http8080", "port": 8080}]), ("apiRoot", "./api")]
    section = draw(st.sampled_from(["missing", "first", "middle", "last"]))
    if section != "missing":
        top.insert({"first": 0, "middle": 1, "last": 2}[section], ("jsonActionApiDefaults", defaults))
    value = draw(st.one_of(st.booleans(), json_values))
    return dict(top), name, value


layouts = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 2, 4, "\t"]),
        "newline": st.sampled_from(["\n", "\r\n"]),
        "colon": st.sampled_from([": ", ":"]),
        "comma": st.sampled_from([", ", ","]),
        "trailing": st.sampled_from(["", "\n"]),
        "bom": st.booleans(),
    }
)


def render(document: dict[str, Any], layout: dict[str, Any]) -> str:
    """Lay ``document`` out the way a person or another tool might have."""
    comma = "," if layout["indent"] is not None else layout["comma"]
    text = json.dumps(document, ensure_ascii=False, indent=layout["indent"], separators=(comma, layout["colon"]))
    text = text.replace("\n", layout["newline"]) + layout["trailing"].replace("\n", layout["newline"])
    return ("\ufeff" if layout["bom"] else "") + text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=documents(), layout=layouts)
def test_edit_keeps_layout_on_generated_files(
    tmp_path: Path, case: tuple[dict[str, Any], str, Any], layout: dict[str, Any]
) -> None:
    document, name, value = case
    path = write(tmp_path / "services.json", render(document, layout))
    before = path.read_bytes()
    expected = json.loads(json.dumps(document))
    expected.setdefault("jsonActionApiDefaults", {})[name] = value

    result = set_default(path, name, value)

    after = path.read_bytes().decode("utf-8")
    defaults = document.get("jsonActionApiDefaults", {})
    unchanged = name in defaults and json.dumps(defaults[name]) == json.dumps(value)
    assert result.changed is not unchanged
    if unchanged:
        assert path.read_bytes() == before
    # Same bytes as the same tool would have written for the intended document: key order,
    # indentation, separators, line endings, BOM and final newline all kept.
    assert after == render(expected, layout)
    assert read_defaults(path) == expected["jsonActionApiDefaults"]
    assert sorted(os.listdir(tmp_path)) == ["services.json"]


# --- hand-written layouts --------------------------------------------------------------------


def test_flip_existing_value_changes_only_that_value(tmp_path: Path) -> None:
    text = SEED_LIKE.replace('"defaultDebug": "max",', f'"defaultDebug": "max",\n    "{FLAG}": false,')
    path = write(tmp_path / "services.json", text)
    result = set_default(path, FLAG, True)
    assert path.read_text() == text.replace(f'"{FLAG}": false', f'"{FLAG}": true')
    assert (result.had_key, result.old, result.new, result.changed) == (True, False, True, True)
    assert str(result) == (
        f"services.json: {FLAG} false -> true. The running server still uses the old value: restart it."
    )


def test_missing_key_becomes_last_member_with_sibling_indentation(services: Path) -> None:
    result = set_default(services, FLAG, True)
    lines = services.read_text().splitlines()
    index = lines.index(f'    "{FLAG}": true')
    assert lines[index - 1] == '    "idleConnectionTimeoutSeconds": 3600,'
    assert lines[index + 1] == "  }"
    assert result.text.startswith(f"services.json: {FLAG} (absent) -> true.")
    assert result.restart_needed


def test_scanner_is_not_fooled_by_strings_and_nested_keys(tmp_path: Path) -> None:
    text = (
        '{\n\t"note": "a } brace, a \\" quote and \\"jsonActionApiDefaults\\": {",\n'
        f'\t"listeners": [{{"{FLAG}": "not this one", "x": {{"jsonActionApiDefaults": 1}}}}],\n'
        '\t"jsonActionApiDefaults": {\n'
        '\t\t"defaultResponseOptions": {"binaryFormat": "hex", "numberFormat": "number"},\n'
        f'\t\t"{FLAG}"  :  false\n'
        "\t}\n}"
    )
    path = write(tmp_path / "services.json", text)
    set_default(path, FLAG, True)
    assert path.read_text() == text.replace(f'"{FLAG}"  :  false', f'"{FLAG}"  :  true')
    set_default(path, "defaultResponseOptions", {"binaryFormat": "base64"})
    assert read_defaults(path)["defaultResponseOptions"] == {"binaryFormat": "base64"}
    assert '\t\t"defaultResponseOptions": {\n\t\t\t"binaryFormat": "base64"\n\t\t},\n' in path.read_text()


def test_empty_defaults_object_gets_one_indented_member(tmp_path: Path) -> None:
    path = write(tmp_path / "services.json", '{\r\n    "apiRoot": "./api",\r\n    "jsonActionApiDefaults": {}\r\n}\r\n')
    set_default(path, FLAG, True)
    assert path.read_bytes() == (
        b'{\r\n    "apiRoot": "./api",\r\n    "jsonActionApiDefaults": {\r\n'
        b'        "enablePermanentJsonApiSessions": true\r\n    }\r\n}\r\n'
    )


def test_same_value_leaves_the_file_alone(services: Path) -> None:
    before = services.stat()
    result = set_default(services, "defaultApi", "hub")
    after = services.stat()
    assert not result.changed and not result.restart_needed
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert str(result) == 'services.json: defaultApi is already "hub"; the file was not changed.'


def test_file_mode_is_kept_and_file_is_replaced_atomically(services: Path) -> None:
    os.chmod(services, 0o640)
    inode = services.stat().st_ino
    set_default(services, FLAG, True)
    assert stat.S_IMODE(services.stat().st_mode) == 0o640
    assert services.stat().st_ino != inode  # a new file took its place: no half-written file ever
    assert os.listdir(services.parent) == ["services.json"]


def test_broken_json_names_file_line_and_column_and_leaves_file(tmp_path: Path) -> None:
    text = '{\n  "apiRoot": "./api",\n  "jsonActionApiDefaults"\n  {\n    "defaultApi": "hub"\n  }\n}\n'
    path = write(tmp_path / "services.json", text)
    with pytest.raises(ConfigFileError) as caught:
        set_default(path, FLAG, True)
    # The seed's own mistake: the ':' after "jsonActionApiDefaults" is missing, and the message
    # points right after that name, where it has to be typed.
    assert (caught.value.line, caught.value.column) == (3, 26)
    assert caught.value.path == str(path.resolve())
    assert "line 3, column 26" in str(caught.value) and '"jsonActionApiDefaults"' in str(caught.value)
    assert path.read_text() == text
    with pytest.raises(ConfigFileError):
        read_defaults(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"jsonActionApiDefaults": {"a": 1, "a": 2}}', "'a' appears 2 times"),
        ('{"jsonActionApiDefaults": {}, "jsonActionApiDefaults": {}}', "appears 2 times"),
        ('{"jsonActionApiDefaults": [1]}', "must be an object"),
        ("[1, 2]", "one JSON object"),
    ],
)
def test_files_that_cannot_be_edited_safely_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path / "services.json", text)
    with pytest.raises(ConfigFileError, match=fragment):
        set_default(path, "a", 3)
    assert path.read_text() == text


def test_missing_file_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="start the server once"):
        set_default(tmp_path / "services.json", FLAG, True)
    with pytest.raises(ConfigFileError, match="start the server once"):
        read_defaults(tmp_path / "services.json")


@pytest.mark.parametrize(("name", "value"), [("", True), (FLAG, float("nan")), (FLAG, object())])
def test_bad_arguments_are_usage_errors(services: Path, name: str, value: Any) -> None:
    with pytest.raises(KitUsageError):
        set_default(services, name, value)


def test_read_defaults(services: Path, tmp_path: Path) -> None:
    assert read_defaults(services) == {"defaultApi": "hub", "defaultDebug": "max", "idleConnectionTimeoutSeconds": 3600}
    assert read_defaults(write(tmp_path / "other.json", '{"apiRoot": "./api"}')) == {}


def test_symlinked_file_is_edited_in_place_of_its_target(services: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(services)
    result = set_default(link, FLAG, True)
    assert link.is_symlink() and read_defaults(services)[FLAG] is True
    assert isinstance(result, SetDefaultResult) and result.path == services.resolve()


def test_a_folder_instead_of_the_file_is_a_config_error(tmp_path: Path) -> None:
    from tutorial_kit.control.servicesfile import set_default as set_flag

    folder = tmp_path / "services.json"
    folder.mkdir()
    with pytest.raises(ConfigFileError, match="cannot be read"):
        set_flag(folder, "enablePermanentJsonApiSessions", True)
