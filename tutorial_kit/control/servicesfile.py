"""Format-preserving edits of ``<home>/config/services.json``.

The lessons flip ``enablePermanentJsonApiSessions`` (and friends) under ``jsonActionApiDefaults``.
A learner may have the file open in JupyterLab's editor, so an edit must look like a person made
it: every other key, the key order, the indentation, the line endings and a byte-order mark stay
as they were, and only the value (or one new line) changes.

The edit is textual: the kit's JSON scanner (:func:`tutorial_kit.server.jsontext.scan_json`)
finds where each member of an object starts and ends, the new text is spliced in, and the result
is parsed and compared with the intended document before it atomically replaces the file
(temporary file in the same folder, ``os.replace``, same mode).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._exceptions import ConfigFileError, KitUsageError
from .._files import read_regular_file, replace_file
from ..server.config import parse_services_text
from ..server.jsontext import JsonMember, JsonSpan, scan_json
from ..server.kit_choices import choice

__all__ = ["DEFAULTS_KEY", "SetDefaultResult", "read_defaults", "set_default"]

DEFAULTS_KEY = "jsonActionApiDefaults"
_BOM = "\ufeff"


@dataclass(frozen=True)
class SetDefaultResult:
    """What :func:`set_default` did to the file; ``str()`` gives the sentence to show a learner."""

    path: Path
    name: str
    old: Any
    new: Any
    had_key: bool
    changed: bool

    @property
    def restart_needed(self) -> bool:
        """True when the file changed, so the running server no longer matches it."""
        return self.changed

    @property
    def text(self) -> str:
        """One or two sentences saying what changed and whether a restart is needed."""
        new = json.dumps(self.new, ensure_ascii=False)
        if not self.changed:
            return f"services.json: {self.name} is already {new}; the file was not changed."
        old = json.dumps(self.old, ensure_ascii=False) if self.had_key else "(absent)"
        return (
            f"services.json: {self.name} {old} -> {new}. "
            "The running server still uses the old value: restart it."
        )

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class _Style:
    """How the file writes things: line ending, one level of indentation (None: all on one line)."""

    newline: str
    unit: str | None
    colon: str
    item_sep: str


# --- reading ---------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return read_regular_file(path, choice("services_json_max_bytes")).decode("utf-8")  # no FIFO, no device
    except FileNotFoundError:
        raise ConfigFileError(
            f"{path} does not exist: start the server once and it writes the default file.",
            path=str(path),
        ) from None
    except OSError as exc:  # a folder, no permission, ...
        raise ConfigFileError(f"{path} cannot be read ({exc.strerror}): it must be the services.json file.",
                              path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8 and try again.",
            path=str(path),
        ) from exc


def _parse(text: str, path: Path) -> Any:
    """Parse ``text`` (BOM already removed); a syntax error becomes a located ConfigFileError."""
    return parse_services_text(path, text, "Fix the file (or undo your last edit) and try again.").value


def _load(path: Path) -> tuple[str, str, dict[str, Any]]:
    """Return (bom, text without bom, parsed top-level object) of the file at ``path``."""
    raw = _read_text(path)
    bom = _BOM if raw.startswith(_BOM) else ""
    text = raw[len(bom):]
    document = _parse(text, path)
    if not isinstance(document, dict):
        raise ConfigFileError(
            f"{path}: the file must hold one JSON object {{...}}, not {type(document).__name__}.",
            path=str(path),
            line=1,
            column=1,
        )
    return bom, text, document


def read_defaults(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the ``jsonActionApiDefaults`` object of the services.json at ``path`` ({} if absent).

    Raises ConfigFileError when the file is missing, is not valid JSON (with line and column) or
    holds something other than an object under ``jsonActionApiDefaults``.
    """
    file = Path(path)
    _, _, document = _load(file)
    defaults = document.get(DEFAULTS_KEY, {})
    if not isinstance(defaults, dict):
        raise ConfigFileError(
            f"{file}: {DEFAULTS_KEY} must be an object {{...}}.", path=str(file), property_path=DEFAULTS_KEY
        )
    return defaults


# --- finding ---------------------------------------------------------------------------------


def _find(obj: JsonSpan, key: str, text: str, path: Path) -> JsonMember | None:
    """Return the member called ``key``; two of them is an error (which one would the server use?)."""
    found = [member for member in obj.members if member.key == key]
    if len(found) > 1:
        lines = " and ".join(str(text.count("\n", 0, m.key_start) + 1) for m in found)
        raise ConfigFileError(
            f"{path}: {key!r} appears {len(found)} times (lines {lines}): keep one and try again.",
            path=str(path),
            line=text.count("\n", 0, found[1].key_start) + 1,
            property_path=key,
        )
    return found[0] if found else None


# --- layout ----------------------------------------------------------------------------------


def _line_indent(text: str, pos: int) -> str:
    """Return the leading whitespace of the line that holds ``pos``."""
    line_start = text.rfind("\n", 0, pos) + 1
    end = line_start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[line_start:end]


def _starts_line(text: str, pos: int) -> bool:
    """True when only spaces or tabs stand between the previous line break and ``pos``."""
    line_start = text.rfind("\n", 0, pos) + 1
    return line_start > 0 and text[line_start:pos].strip(" \t") == ""


def _style(text: str, top: JsonSpan) -> _Style:
    """Learn the file's line ending, indentation unit and separators from its top-level object."""
    newline = "\r\n" if "\r\n" in text else "\n"
    unit: str | None = None
    colon, item_sep = ": ", ", "
    if top.members:
        first = top.members[0]
        if _starts_line(text, first.key_start):
            base = _line_indent(text, top.start)
            unit = _line_indent(text, first.key_start)[len(base):] or None
        between = text[first.key_end:first.value_start]
        if "\n" not in between:
            colon = between
    if len(top.members) > 1 and unit is None:
        gap = text[top.members[0].value_end:top.members[1].key_start]
        item_sep = gap if "\n" not in gap else ", "
    return _Style(newline, unit, colon, item_sep)


def _render(value: Any, indent: str, style: _Style) -> str:
    """Write ``value`` as the file would: nested lines start with ``indent`` plus units."""
    if style.unit is None or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value, ensure_ascii=False, separators=(style.item_sep, style.colon))
    dumped = json.dumps(value, ensure_ascii=False, indent=style.unit, separators=(",", style.colon))
    return (style.newline + indent).join(dumped.split("\n"))


def _insert_member(text: str, obj: JsonSpan, key: str, value: Any, style: _Style) -> str:
    """Return ``text`` with ``"key": value`` added as the last member of ``obj``."""
    name = json.dumps(key, ensure_ascii=False)
    if obj.members:
        last = obj.members[-1]
        colon = text[last.key_end:last.value_start]
        if _starts_line(text, last.key_start):
            indent = _line_indent(text, last.key_start)
            sep = "," + style.newline + indent
        else:
            indent = _line_indent(text, last.key_start)
            sep = text[obj.members[-2].value_end:last.key_start] if len(obj.members) > 1 else style.item_sep
        addition = sep + name + colon + _render(value, indent, style)
        return text[:last.value_end] + addition + text[last.value_end:]
    if style.unit is None:
        inner = name + style.colon + _render(value, "", style)
    else:
        outer = _line_indent(text, obj.start)
        indent = outer + style.unit
        inner = style.newline + indent + name + style.colon + _render(value, indent, style) + style.newline + outer
    return text[:obj.start + 1] + inner + text[obj.end - 1:]


# --- editing ---------------------------------------------------------------------------------


def _edited_text(text: str, name: str, value: Any, path: Path) -> str:
    """Return ``text`` with ``jsonActionApiDefaults.<name>`` set to ``value``, layout untouched."""
    top = scan_json(text)
    style = _style(text, top)
    holder = _find(top, DEFAULTS_KEY, text, path)
    if holder is None:
        return _insert_member(text, top, DEFAULTS_KEY, {name: value}, style)
    defaults = holder.value
    member = _find(defaults, name, text, path)
    if member is None:
        return _insert_member(text, defaults, name, value, style)
    indent = _line_indent(text, member.key_start)
    return text[:member.value_start] + _render(value, indent, style) + text[member.value_end:]


def _check_value(name: str, value: Any) -> None:
    if not isinstance(name, str) or not name:
        raise KitUsageError(f"the property name must be a non-empty string, not {name!r}")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise KitUsageError(f"{name}: {value!r} cannot be written as JSON ({exc})") from exc


def set_default_creating(path: Path, name: str, value: Any) -> SetDefaultResult:
    """:func:`set_default`, writing the default file first when there is none (a home whose
    server never ran): what a server control's ``set_default`` does."""
    if not path.exists():
        from ..server.config import write_default_file

        write_default_file(path)
    return set_default(path, name, value)


def set_default(path: str | os.PathLike[str], name: str, value: Any) -> SetDefaultResult:
    """Set ``jsonActionApiDefaults.<name>`` to ``value`` in the services.json at ``path``.

    Only that value changes (or, if the property is missing, one member is added as the last one
    of ``jsonActionApiDefaults``, indented like its siblings; the object itself is added as the
    last top-level member if it is missing). The running server is not told: it reads the file
    at start only, so a restart is needed, as the returned result says.

    Raises ConfigFileError when the file is missing, is not valid JSON, or repeats the key;
    KitUsageError when ``value`` is not JSON.
    """
    _check_value(name, value)
    file = Path(path).resolve()
    bom, text, document = _load(file)
    defaults = document.get(DEFAULTS_KEY)
    if defaults is not None and not isinstance(defaults, dict):
        raise ConfigFileError(
            f"{file}: {DEFAULTS_KEY} must be an object {{...}}.", path=str(file), property_path=DEFAULTS_KEY
        )
    had_key = isinstance(defaults, dict) and name in defaults
    old = defaults[name] if isinstance(defaults, dict) and had_key else None
    if had_key and json.dumps(old) == json.dumps(value):
        return SetDefaultResult(file, name, old, value, had_key=True, changed=False)
    new_text = _edited_text(text, name, value, file)
    expected = copy.deepcopy(document)
    expected.setdefault(DEFAULTS_KEY, {})[name] = value
    if json.dumps(_parse(new_text, file)) != json.dumps(expected):
        raise ConfigFileError(
            f"{file}: could not edit {DEFAULTS_KEY}.{name} without changing something else; "
            "the file was left as it was. Set the value by hand in JupyterLab's editor.",
            path=str(file),
            property_path=f"{DEFAULTS_KEY}.{name}",
        )
    replace_file(file, (bom + new_text).encode("utf-8"), mode=file.stat().st_mode & 0o7777)  # keeps its mode
    return SetDefaultResult(file, name, old, value, had_key=had_key, changed=True)
