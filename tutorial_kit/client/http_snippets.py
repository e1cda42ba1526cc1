"""The same request as plain HTTP: a ``curl`` command and a few lines of ``httpx``, without the kit.

A real FairCom server takes exactly this: one JSON object POSTed to its ``/api`` URL. The
snippets never hold a secret: every token becomes a name (a notebook variable that holds it, such
as ``api_key`` or ``login.auth_token``; ``$AUTH_TOKEN`` in the shell) and every password becomes
``password`` / ``$PASSWORD``. In saved-output mode the URL's port is masked as in every display.

    snippets = PlainHttp(url, request, token_names={token: "api_key"})
    print(snippets.curl())
    print(snippets.httpx())
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..notebook.display import mask_for_display
from .placeholders import TOKEN_PLACEHOLDERS

__all__ = ["PlainHttp"]

_MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px"
_TOKEN_KEYS = ("authToken", "authTokens")


class _Name(str):
    """A stand-in for a secret: written as a bare name in Python, as a variable in the shell."""


def _swap(value: Any, key: str | None, names: Mapping[str, str]) -> Any:
    """A copy of the request with tokens and passwords replaced by :class:`_Name` markers."""
    if isinstance(value, dict):
        return {k: _swap(v, k, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, key, names) for v in value]
    if key == "password" and isinstance(value, str):
        return _Name("password")
    if key in _TOKEN_KEYS and isinstance(value, str) and value in names:
        return _Name(names[value])
    return value


def _shell_name(name: str) -> str:
    """``login.auth_token`` -> ``LOGIN_AUTH_TOKEN``: a shell variable for a Python expression."""
    return "".join(c if c.isalnum() else "_" for c in name).upper()


def _render(value: Any, leaf: Any, depth: int = 0) -> str:
    """Indented text of ``value`` (2 spaces, like ``json.dumps(indent=2)``); ``leaf`` writes scalars."""
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_render(v, leaf, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{_render(v, leaf, depth + 1)}" for v in value) + f"\n{pad}]"
    return leaf(value)


def _json_leaf(value: Any) -> str:
    """A JSON scalar for a here-document: secrets as shell variables, the shell kept out of the rest."""
    if isinstance(value, _Name):
        return f'"${_shell_name(value)}"'
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")


def _python_leaf(value: Any) -> str:
    """A Python literal: secrets as bare names, JSON's true/false/null as True/False/None."""
    if isinstance(value, _Name):
        return str(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


@dataclass
class PlainHttp:
    """One request, ready to be written as curl or httpx. ``token_names``: token -> the name to write."""

    url: str
    request: Mapping[str, Any]
    token_names: Mapping[str, str] = field(default_factory=dict)

    def _masked_url(self) -> str:
        return str(mask_for_display(self.url))

    def _swapped(self) -> Any:
        names = dict(self.token_names)
        unnamed = sorted({t for t in _tokens(self.request) if t not in names})
        for index, token in enumerate(unnamed):
            names[token] = "token" if index == 0 else f"token_{index + 1}"
        return _swap(dict(self.request), None, names), names

    def curl(self) -> str:
        """A curl command (bash): the JSON goes in a here-document, secrets come from variables."""
        swapped, names = self._swapped()
        body = _render(swapped, _json_leaf)
        lines = [f"# {_shell_name(n)}: the value of {n} in the notebook" for n in sorted(set(names.values()))
                 if f'"${_shell_name(n)}"' in body]
        if '"$PASSWORD"' in body:
            lines.append("# PASSWORD: the account's password")
        lines += [f"curl -s {self._masked_url()} -H 'Content-Type: application/json' --data-binary @- <<EOF",
                  body, "EOF"]
        return "\n".join(lines)

    def httpx(self) -> str:
        """A few lines of Python with httpx only; token names refer to the notebook's variables."""
        swapped, _ = self._swapped()
        body = _render(swapped, _python_leaf)
        lines = ["import httpx", ""]
        if "password" in json.dumps(_names_in(swapped)):
            lines.append('password = "********"  # the account\'s password: type it here')
        lines += [f"request = {body}",
                  f'answer = httpx.post("{self._masked_url()}", json=request).json()',
                  'print(answer["errorCode"], answer["errorMessage"])']
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"The same request as plain HTTP.\n\ncurl:\n{self.curl()}\n\nPython with httpx:\n{self.httpx()}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        pre = f"<pre style='{_MONO};margin:2px 0 8px;white-space:pre;overflow-x:auto'>"
        return (f"<div style='border-left:4px solid #6c757d;padding:4px 10px;margin:4px 0'>"
                f"<b>The same request as plain HTTP</b> (what any FairCom server takes)"
                f"<div>curl, in a terminal:</div>{pre}{html.escape(self.curl())}</pre>"
                f"<div>Python with httpx, without the kit:</div>{pre}{html.escape(self.httpx())}</pre></div>")


def _tokens(value: Any, key: str | None = None) -> list[str]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _tokens(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in _tokens(v, key)]
    is_token = key in _TOKEN_KEYS and isinstance(value, str) and len(value) > 4 and value not in TOKEN_PLACEHOLDERS
    return [value] if is_token else []


def _names_in(value: Any) -> list[str]:
    if isinstance(value, _Name):
        return [str(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _names_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in _names_in(v)]
    return []
