"""JSON text in: parsing that reports where it failed, what was expected, and repeated keys.

Python's :mod:`json` already knows the line and column of a mistake; this module turns its terse
messages into sentences a learner can act on, and notices keys that appear twice in one object
(the parser keeps the last one, silently). :func:`scan_json` is the kit's one scanner of where
things stand in a JSON text (each key and value, by index), for the request linter's line numbers
and the format-preserving edits of services.json.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JsonTextError", "ParsedJson", "parse_json", "describe_decode_error", "JsonSpan", "JsonMember",
           "scan_json"]

_EXPECTATIONS = {
    "Expecting ':' delimiter": "a ':' between a property name and its value",
    "Expecting ',' delimiter": "a ',' between two items",
    "Expecting value": "a value (a string, number, object, array, true, false or null)",
    "Expecting property name enclosed in double quotes": (
        "a property name in double quotes (and no comma after the last property)"
    ),
    "Unterminated string starting at": "the closing '\"' of a string",
    "Invalid control character at": "no raw line break or tab inside a string (write \\n or \\t)",
    "Extra data": "the end of the text (there is more after the JSON value)",
    "Invalid \\escape": 'a valid escape after the backslash (\\\\, \\", \\n, \\uXXXX, ...)',
}

_NAME_BEFORE = re.compile(r'"((?:[^"\\]|\\.)*)"\s*$')
#: a string, a structural character, or a number/true/false/null
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


@dataclass
class JsonTextError(Exception):
    """The text is not valid JSON. ``line`` and ``column`` are 1-based."""

    message: str
    line: int
    column: int
    expected: str

    def __str__(self) -> str:
        return self.message


@dataclass
class ParsedJson:
    """A parsed value and the keys that were repeated inside one object."""

    value: Any
    duplicate_keys: list[str] = field(default_factory=list)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def describe_decode_error(text: str, err: json.JSONDecodeError) -> tuple[str, int, int, str]:
    """Return ``(sentence, line, column, expected)`` for a decode error in ``text``.

    A missing ':' is reported right after the property name it belongs to, which is where the
    learner has to type it (Python reports the place where it gave up, often the next line).
    """
    if err.msg.startswith("Unexpected UTF-8 BOM"):  # Python's wording names a codec, not the fix
        expected = "no byte order mark"
        return ("line 1, column 1: the text starts with an invisible byte order mark (BOM, U+FEFF), which "
                "some Windows editors add: save it as UTF-8 without BOM", 1, 1, expected)
    kind = next((k for k in _EXPECTATIONS if err.msg.startswith(k)), "")
    expected = _EXPECTATIONS.get(kind, err.msg)
    pos = err.pos
    if kind == "Expecting ':' delimiter":
        before = text[:pos]
        match = _NAME_BEFORE.search(before)
        if match:
            pos = match.end(1) + 1
            name = match.group(1)
            name = name if len(name) <= 24 else name[:21] + "..."  # keep messages within 256 bytes
            line, column = _line_col(text, pos)
            return (
                f'line {line}, column {column}: a ":" is missing after the property name "{name}"'
                f" (expected {expected})",
                line,
                column,
                expected,
            )
    if not text.strip():
        return ("the text is empty (expected a JSON object)", 1, 1, "a JSON object")
    line, column = _line_col(text, pos)
    return (f"line {line}, column {column}: expected {expected}", line, column, expected)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON: write a number or null")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400: would be echoed back as Infinity, which is not JSON
        raise ValueError(f"the number {text[:20]} is too large: write a smaller number")
    return value


def parse_json(text: str) -> ParsedJson:
    """Parse ``text`` strictly (no NaN/Infinity) and collect repeated keys.

    Raises :class:`JsonTextError` for invalid JSON, too deep nesting or numbers Python refuses.
    """
    duplicates: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj and key not in duplicates:
                duplicates.append(key)
            obj[key] = value
        return obj

    try:
        value = json.loads(
            text, object_pairs_hook=pairs_hook, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except json.JSONDecodeError as err:
        sentence, line, column, expected = describe_decode_error(text, err)
        raise JsonTextError(sentence, line, column, expected) from None
    except RecursionError:
        raise JsonTextError("the JSON is nested too deeply: flatten it", 1, 1, "less nesting") from None
    except ValueError as err:  # NaN/Infinity, or an integer with too many digits
        raise JsonTextError(f"the JSON has a value that cannot be used: {err}", 1, 1, "a valid value") from None
    return ParsedJson(value, duplicates)


@dataclass
class JsonSpan:
    """Where one value stands in a JSON text: ``text[start:end]``. ``kind`` is ``"{"`` for an object
    (its ``members`` in text order, repeats included), ``"["`` for an array (its ``items``), ``""`` else."""

    kind: str
    start: int
    end: int
    members: list[JsonMember] = field(default_factory=list)
    items: list[JsonSpan] = field(default_factory=list)


@dataclass
class JsonMember:
    """One ``"key": value`` of an object: the key (decoded) and where it stands, ``text[key_start:key_end]``
    (quotes included), and its value."""

    key: str
    key_start: int
    key_end: int
    value: JsonSpan

    @property
    def value_start(self) -> int:
        return self.value.start

    @property
    def value_end(self) -> int:
        return self.value.end


def scan_json(text: str) -> JsonSpan:
    """Where every value, key and item of ``text`` stands, in one pass and without recursion.

    ``text`` must be valid JSON (check it with :func:`parse_json` first) without a byte order mark;
    whitespace around the value is allowed.
    """
    root: JsonSpan | None = None
    stack: list[JsonSpan] = []
    key: tuple[str, int, int] | None = None  # the key whose value comes next, in the innermost object
    for match in _TOKENS.finditer(text):
        token, start, end = match.group(), match.start(), match.end()
        top = stack[-1] if stack else None
        if token in ("}", "]"):
            stack.pop().end = end
        elif token in (":", ","):
            continue
        elif top is not None and top.kind == "{" and key is None:
            key = (json.loads(token), start, end)
        else:
            span = JsonSpan(token if token in ("{", "[") else "", start, end)
            if top is None:
                root = span
            elif key is not None:
                top.members.append(JsonMember(*key, span))
                key = None
            else:
                top.items.append(span)
            if span.kind:
                stack.append(span)
    if root is None:
        raise ValueError("the text holds no JSON value")
    return root
