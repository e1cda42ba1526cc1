"""The table of kit's choices is the one place those decisions live: change a row, the server follows."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tutorial_kit.server import ERROR_TABLE, KIT_CHOICES, EmulatorServer
from tutorial_kit.server.kit_choices import Choice


def test_every_kit_choice_error_code_comes_from_the_table() -> None:
    choice_codes = {c.value for name, c in KIT_CHOICES.items() if name.startswith("error.")}
    for row in ERROR_TABLE:
        assert row.source in ("documented", "kit's choice")
        if row.source == "kit's choice":
            assert row.code in choice_codes, row


def _set_flag(home: Path, value: bool) -> None:
    path = home / "config" / "services.json"
    data = json.loads(path.read_text())
    data["jsonActionApiDefaults"]["enablePermanentJsonApiSessions"] = value
    path.write_text(json.dumps(data))


def _post(url: str, body: dict) -> dict:
    return httpx.post(url, json={**body, "debug": "none"}).json()


@pytest.mark.parametrize("survives", [True, False])
def test_permanent_keys_after_the_flag_is_turned_off_follow_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, survives: bool
) -> None:
    monkeypatch.setitem(KIT_CHOICES, "permanent_survives_flag_off", Choice(survives, "test"))
    with EmulatorServer(tmp_path, port=0) as srv:
        _set_flag(tmp_path, True)
        srv.restart()
        created = _post(srv.url, {"action": "createSession",
                                  "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}})
        key = created["authToken"]
        _set_flag(tmp_path, False)
        srv.restart()
        ping = _post(srv.url, {"action": "pingSession", "authToken": key})
        assert ping["errorCode"] == (0 if survives else 12031)
        _set_flag(tmp_path, True)
        srv.restart()
        assert _post(srv.url, {"action": "pingSession", "authToken": key})["errorCode"] == 0, "kept on disk either way"


def test_listservices_tls_visibility_follows_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorServer(tmp_path, port=0) as srv:
        hidden = _post(srv.url, {"action": "listServices"})["result"]["listeners"][1]
        assert "tls" not in hidden
        monkeypatch.setitem(KIT_CHOICES, "listservices_tls_needs_token", Choice(False, "test"))
        shown = _post(srv.url, {"action": "listServices"})["result"]["listeners"][1]
        assert shown["tls"] == {"certificateFilename": "./web/fccert.pem"}
