"""FairCom's documented example requests (the corpus) and how to check a server's answer to one.

The corpus is the checkout's ``tests/faircom_examples.json``: every example request that
FairCom's pages print for the session, services and account actions and the jsonAction envelope,
each as printed (broken ones too), with the shape of the answer the page documents. Where this
kit answers otherwise, the example's ``kit`` part says how and names the kit's-choice rows
(``tutorial_kit/server/kit_choices.py``) or the sources rows (``sources:<key>``,
``tutorial_kit/server/sources.py``) that explain why.

A *shape* is a dict of checks, all optional:

``errorCode``, ``errorMessage``
    equal;
``message_contains``
    each string occurs in ``errorMessage``;
``top`` / ``absent``
    these top-level keys are present / absent;
``result_keys``
    keys present in ``result``;
``keys``
    ``{path: [keys]}``: keys present in the object at ``path`` (``result.defaultResponseOptions``);
``items``
    ``{path: [keys]}``: keys present in every object of the list at ``path``;
``no_key``
    ``{path: key}``: no object of the list at ``path`` has ``key``;
``count``
    ``{path: n}``: the list at ``path`` has ``n`` items;
``values``
    ``{path: value}``: equal (paths like ``result.sessions[0].permanentSession``);
``types``
    ``{path: "int" | "str" | "bool"}``;
``warnings`` / ``warning_messages``
    these codes / messages are among ``debugInfo.warnings``.

:class:`Replayer` sets up what an example needs on a server (a session, accounts, a deleted
token), fills the placeholders with the kit's filler, sends the text and cleans up after itself.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import KitUsageError
from .kit_client import KitClient
from .placeholders import fill_placeholders_text

__all__ = ["CORPUS_FILE", "Example", "Outcome", "Replayer", "differences", "find_corpus", "load_examples"]

log = logging.getLogger(__name__)

#: where the corpus lives in a checkout
CORPUS_FILE = Path("tests") / "faircom_examples.json"
#: the password setup gives the accounts an example needs (they are dropped again afterwards)
SETUP_PASSWORD = "corpus-Setup-2026"


@dataclass(frozen=True)
class Example:
    """One documented example: the request as printed, the documented answer, the kit's differences."""

    id: str
    url: str
    title: str
    action: str
    printed: str
    documented: dict[str, Any]
    broken: str | None = None
    setup: dict[str, Any] = field(default_factory=dict)
    read_only: bool = False
    kit: dict[str, Any] | None = None
    note: str = ""

    @property
    def because(self) -> tuple[str, ...]:
        """The rows that explain where the kit answers otherwise than the page."""
        return tuple(self.kit.get("because", ())) if self.kit else ()

    def expected(self) -> dict[str, Any]:
        """The shape this kit answers: the documented one with the kit's differences laid over it.

        Where the kit answers with another errorCode (a broken example, an action it does not
        emulate), nothing of the documented answer's content applies: the kit part is the shape.
        """
        kit = self.kit or {}
        changes_code = "errorCode" in kit and kit["errorCode"] != self.documented.get("errorCode")
        shape = {} if changes_code else dict(self.documented)
        for key, value in kit.items():
            if key == "because":
                continue
            if isinstance(value, dict) and isinstance(shape.get(key), dict):
                shape[key] = {**shape[key], **value}
            else:
                shape[key] = value
        return shape


def find_corpus(cwd: str | Path | None = None) -> Path | None:
    """The corpus of the checkout that holds ``cwd`` (searched upwards, like the server home), or None."""
    start = Path(cwd if cwd is not None else Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            corpus = folder / CORPUS_FILE
            return corpus if corpus.is_file() else None
    return None


def load_examples(path: str | Path) -> list[Example]:
    """Read the corpus file; raise KitUsageError saying what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return [Example(**entry) for entry in data["examples"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise KitUsageError(f"cannot read the example corpus {path}: {err}") from err


# --- comparing an answer with a shape -----------------------------------------------------------

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_MISSING = object()
_TYPES = {"int": int, "str": str, "bool": bool}


def _get(data: Any, path: str) -> Any:
    """The value at ``path`` (``result.sessions[0].username``) or ``_MISSING``."""
    for name, index in _PART.findall(path):
        if name:
            if not isinstance(data, dict) or name not in data:
                return _MISSING
            data = data[name]
        else:
            if not isinstance(data, list) or int(index) >= len(data):
                return _MISSING
            data = data[int(index)]
    return data


def _show(value: Any) -> str:
    return "(missing)" if value is _MISSING else json.dumps(value, ensure_ascii=False)[:80]


def _key_checks(shape: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for key in shape.get("top", ()):
        if key not in answer:
            found.append(f"top-level {key!r} is missing")
    for key in shape.get("absent", ()):
        if key in answer:
            found.append(f"top-level {key!r} is present (the page shows none)")
    result = answer.get("result")
    missing = [k for k in shape.get("result_keys", ()) if not isinstance(result, dict) or k not in result]
    if missing:
        found.append(f"result lacks {', '.join(missing)}")
    for path, keys in shape.get("keys", {}).items():
        obj = _get(answer, path)
        lacking = [k for k in keys if not isinstance(obj, dict) or k not in obj]
        if lacking:
            found.append(f"{path} lacks {', '.join(lacking)}")
    for path, keys in shape.get("items", {}).items():
        items = _get(answer, path)
        for i, item in enumerate(items if isinstance(items, list) else []):
            lacking = [k for k in keys if not isinstance(item, dict) or k not in item]
            if lacking:
                found.append(f"{path}[{i}] lacks {', '.join(lacking)}")
                break
    for path, key in shape.get("no_key", {}).items():
        items = _get(answer, path)
        if isinstance(items, list) and any(isinstance(i, dict) and key in i for i in items):
            found.append(f"an item of {path} has {key!r}")
    return found


def _value_checks(shape: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for path, want in shape.get("count", {}).items():
        got = _get(answer, path)
        if not isinstance(got, list) or len(got) != want:
            found.append(f"{path} has {len(got) if isinstance(got, list) else _show(got)} items, not {want}")
    for path, want in shape.get("values", {}).items():
        got = _get(answer, path)
        if got is _MISSING or got != want or type(got) is not type(want):
            found.append(f"{path} is {_show(got)}, not {_show(want)}")
    for path, name in shape.get("types", {}).items():
        got = _get(answer, path)
        if got is _MISSING or type(got) is not _TYPES[name]:
            found.append(f"{path} is {_show(got)}, not of type {name}")
    return found


def _message_checks(shape: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    found: list[str] = []
    code = answer.get("errorCode")
    if "errorCode" in shape and code != shape["errorCode"]:
        found.append(f"errorCode is {_show(code)}, not {shape['errorCode']}")
    message = answer.get("errorMessage")
    if "errorMessage" in shape and message != shape["errorMessage"]:
        found.append(f"errorMessage is {_show(message)}, not the documented {_show(shape['errorMessage'])}")
    for text in shape.get("message_contains", ()):
        if not isinstance(message, str) or text not in message:
            found.append(f"errorMessage does not say {text!r}: {_show(message)}")
    debug = answer.get("debugInfo")
    warnings = debug.get("warnings") if isinstance(debug, dict) else None
    warnings = warnings if isinstance(warnings, list) else []
    codes = [w.get("code") for w in warnings if isinstance(w, dict)]
    messages = [w.get("message") for w in warnings if isinstance(w, dict)]
    for want in shape.get("warnings", ()):
        if want not in codes:
            found.append(f"no warning {want} in debugInfo.warnings (codes: {codes})")
    for want in shape.get("warning_messages", ()):
        if want not in messages:
            found.append(f"no warning saying {want!r}")
    return found


def differences(shape: dict[str, Any], answer: Any) -> list[str]:
    """Every way ``answer`` (a response envelope) differs from ``shape``; empty when it fits."""
    if not isinstance(answer, dict):
        return [f"the answer is not a JSON object: {_show(answer)}"]
    return _message_checks(shape, answer) + _key_checks(shape, answer) + _value_checks(shape, answer)


# --- replaying an example on a server -----------------------------------------------------------

@dataclass
class Outcome:
    """What one replay gave: the answer, the filler's notes, or why it did not run."""

    example: Example
    answer: Any = None
    notes: list[str] = field(default_factory=list)
    skipped: str = ""


class Replayer:
    """Replays examples on one server as ``username``: sets up, sends, and removes what it made."""

    def __init__(self, client: KitClient, username: str, password: str, *, permanent_allowed: bool = True) -> None:
        self.client = client
        self.username = username
        self.password = password
        self.permanent_allowed = permanent_allowed

    def _login(self, **params: Any) -> str:
        answer = self.client.call("createSession", {"username": self.username, "password": self.password, **params},
                                  auth_token=None, debug="none")
        answer.raise_for_error()
        token = answer.auth_token
        if not token:
            raise KitUsageError("createSession answered without an authToken")
        return token

    def _delete(self, token: str) -> None:
        self.client.call("deleteSession", auth_token=token, debug="none")

    def _accounts(self, admin: str, setup: dict[str, Any]) -> list[str]:
        """Create the accounts the example needs and drop those it must not find; return the created."""
        drop = [*setup.get("no_accounts", ()), *setup.get("accounts", ())]
        if drop:
            self.client.call("dropAccounts", {"usernames": drop}, auth_token=admin, debug="none")
        for name in setup.get("accounts", ()):
            self.client.call("createAccount", {"username": name, "password": SETUP_PASSWORD},
                             auth_token=admin, debug="none").raise_for_error()
        return list(setup.get("accounts", ()))

    def run(self, example: Example) -> Outcome:
        """Replay one example; everything it set up is removed again before this returns."""
        setup = example.setup
        if setup.get("flag") and not self.permanent_allowed:
            return Outcome(example, skipped="needs enablePermanentJsonApiSessions on in the running configuration")
        tokens: list[str] = []
        created: list[str] = []
        outcome = Outcome(example)
        try:
            admin = self._login()
            tokens.append(admin)
            created = self._accounts(admin, setup)
            caller = None if setup.get("session") == "none" else admin
            checks = self._check_tokens(setup, caller, tokens)
            if setup.get("token") == "deleted" and caller:
                caller = self._login()
                self._delete(caller)
            text, outcome.notes = fill_placeholders_text(
                example.printed, auth_token=caller, check_tokens=checks or None,
                username=self.username, password=self.password)
            response = self.client.call_text(text)
            outcome.answer = response.envelope
            if response.ok and response.auth_token and example.action.lower() == "createsession":
                tokens.append(response.auth_token)
        finally:
            self._clean(tokens, [*created, *setup.get("no_accounts", ())])
        return outcome

    def _check_tokens(self, setup: dict[str, Any], caller: str | None, tokens: list[str]) -> list[str]:
        """The sessions that params.authTokens should name: the caller's and as many more as asked."""
        wanted = int(setup.get("check_tokens", 0))
        if not wanted:
            return []
        checks = [caller] if caller and not setup.get("check_permanent") else []
        while len(checks) < wanted:
            extra = self._login(permanentSession=True) if setup.get("check_permanent") else self._login()
            tokens.append(extra)
            checks.append(extra)
        return checks

    def _clean(self, tokens: list[str], accounts: list[str]) -> None:
        """Drop the accounts setup created or the example may have made; end every session opened."""
        if accounts:
            admin = self._login()  # the example may have ended the setup's own session
            tokens.append(admin)
            self.client.call("dropAccounts", {"usernames": accounts}, auth_token=admin, debug="none")
        for token in reversed(tokens):
            self._delete(token)
