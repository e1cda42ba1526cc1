"""How much of an answer may copy its request, and pretty-printing that stays within it.

An answer copies its request in two places: ``requestId`` (always, when given) and, with
``debug: "max"``, ``debugInfo.request``. Indenting makes a copy grow: a 1 MiB request whose
``requestId`` is a 60-deep array would come back as over 100 MiB, and Python's indenting encoder
would spend seconds on it. So the copies together get an :class:`EchoBudget` (a multiple of the
request's size), :func:`pretty_within` first checks a cheap lower bound of the indented size
(from the compact text, which the C encoder makes fast) and then stops encoding as soon as the
text outgrows what is left, and the envelope leaves out (or refuses) a copy that does not fit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .kit_choices import choice

__all__ = ["EchoBudget", "OverBudget", "pretty", "pretty_object", "pretty_within"]

_PRETTY = json.JSONEncoder(indent=2)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string in compact text


@dataclass(frozen=True)
class EchoBudget:
    """How much of an answer may copy its request: ``factor`` times the request's size in bytes,
    and never less than ``floor`` bytes (a small request may still get its pretty-printed copy)."""

    factor: float = choice("answer_echo_factor")
    floor: int = choice("answer_echo_floor_bytes")

    def for_request(self, size: int) -> int:
        return max(self.floor, int(self.factor * size))


class OverBudget(Exception):
    """A copy of the request would not fit in the answer's echo budget."""


def indented_floor(compact: str, level: int, *, exact: bool = True) -> int:
    """A lower bound of the size of ``compact`` JSON pretty-printed ``level`` deep in the answer.

    Every element of a non-empty container gets a line of its own, indented at least
    ``2 * (level + 1)`` spaces, and every ``:`` gains a space. With ``exact`` the strings are
    left out of the count (commas inside them do not count); without it, the count includes
    them and is no longer a lower bound, only a quick upper estimate of this bound.
    """
    bare = _STRING.sub("", compact) if exact and '"' in compact else compact
    containers = bare.count("[") + bare.count("{") - bare.count("[]") - bare.count("{}")
    elements = bare.count(",") + containers
    return len(compact) + bare.count(":") + elements * (1 + 2 * (level + 1))


def pretty_within(value: Any, budget: int, level: int, compact: str) -> str:
    """``value`` pretty-printed as it sits ``level`` deep in the answer; OverBudget past ``budget`` bytes.

    ``compact`` is the value's compact JSON. The indenting encoder (pure Python, slow) runs only if
    a lower bound of its size fits, and is stopped as soon as its text outgrows the budget.
    (Values come from parsed JSON and are encoded as ASCII, so characters are bytes.)
    """
    if len(compact) > budget:
        raise OverBudget
    if indented_floor(compact, level, exact=False) > budget and indented_floor(compact, level) > budget:
        raise OverBudget  # (the exact bound, which strips strings, only when the quick one is over)
    parts, size = [], 0
    for chunk in _PRETTY.iterencode(value):
        size += len(chunk) + (chunk.count("\n") * 2 * level if level else 0)
        if size > budget:
            raise OverBudget
        parts.append(chunk)
    text = "".join(parts)
    return text.replace("\n", "\n" + "  " * level) if level else text


def pretty(value: Any, level: int) -> str:
    """A value the server made, pretty-printed as it sits ``level`` deep in the answer."""
    return _PRETTY.encode(value).replace("\n", "\n" + "  " * level)


def pretty_object(items: list[tuple[str, str]], level: int) -> str:
    """An object ``level`` deep whose values are already pretty-printed at ``level + 1``."""
    pad = "  " * (level + 1)
    body = ",\n".join(f"{pad}{json.dumps(key)}: {value}" for key, value in items)
    return "{\n" + body + "\n" + "  " * level + "}"
