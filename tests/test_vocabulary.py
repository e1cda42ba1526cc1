"""The protocol's vocabulary is written out once (tutorial_kit/server/vocabulary.py): no copy drifts."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tutorial_kit.client import kit_client, lint
from tutorial_kit.client.response import Response
from tutorial_kit.client.response import mask_passwords as client_mask
from tutorial_kit.notebook.display import mask_for_display
from tutorial_kit.server import account_actions, envelope, reading, vocabulary
from tutorial_kit.server.actions import ACTIONS
from tutorial_kit.server.kit_choices import KIT_CHOICES, Choice

PACKAGE = Path(vocabulary.__file__).resolve().parents[1]


def test_every_action_the_dispatcher_serves_is_in_the_vocabulary_and_back() -> None:
    served = {spec.name for spec in ACTIONS.values()}
    assert served == set(vocabulary.SERVED_ACTIONS) | set(vocabulary.not_emulated())
    assert set(vocabulary.TOKEN_RULES) == set(vocabulary.SERVED_ACTIONS)
    for name in vocabulary.SERVED_ACTIONS:
        assert ACTIONS[name.lower()].token == vocabulary.TOKEN_RULES[name], name
    for name, _, token, _ in account_actions.ACCOUNT_ACTIONS:
        if name in vocabulary.TOKEN_RULES:
            assert token == vocabulary.TOKEN_RULES[name], name


def test_the_linter_and_the_client_know_the_vocabulary_s_actions_and_keys() -> None:
    assert lint.ADMIN_ACTIONS == vocabulary.SERVED_ACTIONS
    assert lint.NOT_EMULATED == vocabulary.not_emulated()
    assert lint._TOP_LEVEL == vocabulary.ENVELOPE_KEYS
    assert lint._DEBUG_VALUES == vocabulary.DEBUG_MODES
    assert lint._NO_TOKEN_NEEDED == {name.lower() for name in vocabulary.TOKENLESS_ACTIONS}
    assert kit_client._TOKENLESS_ACTIONS == vocabulary.TOKENLESS_ACTIONS
    assert reading.KNOWN_TOP == set(vocabulary.ENVELOPE_KEYS)
    assert set(reading.DEBUG_MODE_NAMES.values()) == set(vocabulary.DEBUG_MODES)


def test_each_linter_warning_about_an_action_names_only_vocabulary_actions() -> None:
    unknown = lint.lint_request({"api": "admin", "action": "pingSesion"})
    assert any("pingSession" in str(w) for w in unknown)
    for name in vocabulary.not_emulated():
        found = lint.lint_request({"api": "admin", "action": name, "authToken": "x"})
        assert [w.code for w in found] == ["not-emulated"], name


@pytest.mark.parametrize("key", ["password", "Password", "PASSWORD"])
def test_a_password_is_masked_alike_in_server_client_and_display_in_any_case(key: str) -> None:
    request = {"action": "createSession", "params": {"username": "ADMIN", key: "secret"}}
    mask = vocabulary.password_mask()
    assert envelope.mask_passwords(request)["params"][key] == mask
    assert client_mask(request)["params"][key] == mask
    assert Response({"errorCode": 0}, request=request).request["params"][key] == mask
    assert mask_for_display(request, reproducible=False)["params"][key] == mask


def test_the_mask_follows_the_table_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(KIT_CHOICES, "password_mask", Choice("###", "test"))
    assert vocabulary.mask_passwords({"password": "x"}) == {"password": "###"}
    assert mask_for_display({"Password": "x"}, reproducible=False) == {"Password": "###"}


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _listed_names(path: Path, names: set[str]) -> list[list[str]]:
    """Each tuple, list or set literal of ``path`` that holds three or more of ``names``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            listed = [e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in names]
            if len(listed) >= 3:
                found.append(listed)
    return found


def test_no_other_module_writes_out_the_action_list() -> None:
    """A literal of three or more served action names outside the vocabulary is a copy of its list."""
    names = set(vocabulary.SERVED_ACTIONS)
    copies = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "vocabulary.py" and (listed := _listed_names(path, names)):
            copies[str(path.relative_to(PACKAGE))] = listed
    assert copies == {}
    assert _listed_names(Path(vocabulary.__file__), names), "the check finds the vocabulary's own list"


def test_importing_the_response_module_does_not_import_the_notebook_layer() -> None:
    code = ("import sys, tutorial_kit.client.response; "
            "print(sorted(m for m in sys.modules if m.startswith('tutorial_kit.notebook')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_bare_error_code_outside_the_table() -> None:
    """Code in the helper's layers names codes through ErrorCode, never as bare 120xx numbers."""
    bare = re.compile(r"\b120\d\d\b")
    found = []
    for layer in ("client", "control", "lessons", "notebook", "workshop", "panels", "cli"):
        for path in (PACKAGE / layer).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            numbers = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                       and isinstance(n.value, int) and 12000 <= n.value <= 12099]
            strings = [s for s in _string_constants(path) if bare.search(s)]
            if numbers or strings:
                found.append((str(path.relative_to(PACKAGE)), numbers, strings))
    assert found == []


def test_the_linter_s_typed_params_cover_every_typed_rule_of_the_server() -> None:
    """The linter's numbers and booleans follow the server's own rules (settings, accounts, services.json)."""
    from tutorial_kit.server import config
    from tutorial_kit.server.account_props import ACCOUNT_PROPERTIES
    from tutorial_kit.server.settings import RESPONSE_OPTIONS, SESSION_SETTINGS

    integers = {name for name, (kind, _) in SESSION_SETTINGS.items() if kind == "int"}
    integers |= {name for name, rule in ACCOUNT_PROPERTIES.items() if rule[0] == "int"}
    integers |= set(config._INT_RANGES)
    assert integers <= lint._INTEGERS, integers - lint._INTEGERS
    booleans = {name for name, allowed in RESPONSE_OPTIONS.items() if allowed is None} | {"permanentSession"}
    assert booleans <= lint._BOOLEANS, booleans - lint._BOOLEANS
