"""``tutorial-kit doctor``: the lesson scenario and the corpus against a server, side by side."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutorial_kit.client.doctor import run_doctor
from tutorial_kit.client.kit_client import KitClient
from tutorial_kit.server import EmulatorServer

CHECKOUT = Path(__file__).resolve().parents[1]
FLIPS = {"error.unknown_api": "12099", "error.invalid_value": "12098", "error.missing_property": "12097",
         "describe_accounts_result_key": "\"users\""}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}


def test_the_kit_matches_its_own_record_everywhere() -> None:
    out = io.StringIO()
    code = run_doctor(env=_env(), cwd=CHECKOUT, out=out)
    text = out.getvalue()
    assert text.index("deletes every one of them again") < text.index("step ")  # said before it starts
    assert "0 differ" in text, text
    assert code == 0
    for step in ("pingSession, no token", "createSession permanent, flag off", "describeSessions [the key]",
                 "describeSessions, no authTokens", "the key alone (pingSession)", "the key refused",
                 "seed-createSession-permanent", "jsonAction-request-template"):
        assert step in text
    assert "kit's choice (error.unknown_api)" in text


def test_flipped_kit_choices_are_reported_row_by_row() -> None:
    run = subprocess.run([sys.executable, str(CHECKOUT / "tests" / "_flipped_kit.py"),
                          *(f"{row}={value}" for row, value in FLIPS.items())],
                         cwd=CHECKOUT, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    summary = run.stdout.split("Kit's choices recorded in the corpus that this server does not follow:")[1]
    listed = {line.split(":")[0].strip() for line in summary.splitlines() if line.startswith("  ")}
    assert listed == set(FLIPS), run.stdout  # each flipped row, and no other
    assert "jsonAction-request-template" in summary.split("error.unknown_api:")[1].splitlines()[0]


def test_outside_a_checkout_only_the_scenario_runs(tmp_path: Path) -> None:
    out = io.StringIO()
    code = run_doctor(env=_env(), cwd=tmp_path, out=out)
    text = out.getvalue()
    assert "the lesson scenario only" in text
    assert "jsonAction-request-template" not in text
    assert code == 0, text


@pytest.fixture
def remote(tmp_path: Path):
    server = EmulatorServer(tmp_path, port=0).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_server_by_url_with_the_helpers_credentials_is_left_as_found(remote: EmulatorServer) -> None:
    env = {**_env(), "TUTORIAL_KIT_USERNAME": "admin", "TUTORIAL_KIT_PASSWORD": "ADMIN"}
    out = io.StringIO()
    code = run_doctor(remote.url, env=env, cwd=CHECKOUT, out=out)
    text = out.getvalue()
    assert f"checking {remote.url}" in text
    assert "flag off: skipped" in text  # this server's flag is off and the doctor cannot restart it
    assert code == 0, text
    with KitClient(remote.url, username="ADMIN", password="ADMIN") as client:
        client.create_session()
        sessions = client.list_sessions().result["sessions"]
        assert [s["authToken"] for s in sessions] == [client.auth_token]
        assert [a["username"] for a in client.list_accounts().result["accounts"]] == ["ADMIN"]


def test_a_wrong_password_is_one_clear_difference(remote: EmulatorServer) -> None:
    env = {**_env(), "TUTORIAL_KIT_USERNAME": "ADMIN", "TUTORIAL_KIT_PASSWORD": "not-the-password"}
    out = io.StringIO()
    assert run_doctor(remote.url, env=env, cwd=CHECKOUT, out=out) == 1
    text = out.getvalue()
    assert "createSession (login) differs" in text and "ADMIN could not log in" in text


def test_no_server_at_the_url_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from tutorial_kit.client.doctor import main

    assert main(["--url", "http://127.0.0.1:9/api"]) == 2
    assert "tutorial-kit doctor:" in capsys.readouterr().err
