"""The trainer's room panel against a real server: learners appear, API keys and revocations count."""

from __future__ import annotations

import json
from pathlib import Path

from tutorial_kit import KitClient
from tutorial_kit.panels import room_panel
from tutorial_kit.server import EmulatorServer


def _enable_permanent(home: Path) -> None:
    path = home / "config" / "services.json"
    data = json.loads(path.read_text())
    data["jsonActionApiDefaults"]["enablePermanentJsonApiSessions"] = True
    path.write_text(json.dumps(data, indent=2))


def test_room_panel_follows_learners(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path, port=0) as srv:
        _enable_permanent(tmp_path)
        srv.restart()
        admin = KitClient(srv.url, username="ADMIN", password="ADMIN", debug="none")
        admin.create_account("ana", "ana-pass")
        admin.create_account("bo", "bo-pass")
        panel = room_panel(admin)
        assert [r.username for r in panel.rows] == ["ana", "bo"]
        assert repr(panel) == "<RoomPanel: 2 learner(s), 0 holding an API key>"
        ana = KitClient(srv.url, username="ana", password="ana-pass")
        key = ana.create_session(permanent=True).auth_token
        panel.refresh_button.click()
        assert panel.last_error is None
        rows = {r.username: r for r in panel.rows}
        assert rows["ana"].has_api_key and rows["ana"].live_sessions == 1 and not rows["bo"].has_api_key
        assert "API key" in panel.table_html.value and "ana" in panel.table_html.value
        ana.delete_session(key)
        panel.refresh_button.click()
        rows = {r.username: r for r in panel.rows}
        assert rows["ana"].revoked == 1 and not rows["ana"].has_api_key
        assert "holding an API key" in panel.text()
        srv.stop()
        panel.refresh_button.click()
        assert panel.last_error is not None and "kit-error" in panel.error_html._dom_classes
        for client in (admin, ana):
            client.close()


def test_automatic_refresh_can_be_switched_on_and_off(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path, port=0) as srv:
        admin = KitClient(srv.url, username="ADMIN", password="ADMIN", debug="none")
        panel = room_panel(admin, learners=["nobody"], interval=0.05)
        panel.auto_checkbox.value = True
        assert panel._timer is not None
        panel.stop()
        assert panel._timer is None and panel.auto_checkbox.value is False
        assert [r.username for r in panel.rows] == ["nobody"]
        admin.close()
