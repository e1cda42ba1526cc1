"""The lesson helpers against a real background server: setup, checks, progress, exercises."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tutorial_kit import KitClient
from tutorial_kit.control import ServerControl
from tutorial_kit.lessons import BROKEN_REQUEST, Exercises, start_lesson
from tutorial_kit.server import EmulatorServer

pytestmark = pytest.mark.slow


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
    env["TUTORIAL_KIT_HOME"] = str(home)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("lessons") / "server-home"
    yield _env(home)
    ServerControl(home).stop()


def _flag_in_file(env: dict[str, str]) -> object:
    path = Path(env["TUTORIAL_KIT_HOME"]) / "config" / "services.json"
    return json.loads(path.read_text())["jsonActionApiDefaults"].get("enablePermanentJsonApiSessions")


def test_lesson_two_switches_the_flag_off_and_three_switches_it_on(env: dict[str, str]) -> None:
    three = start_lesson(3, env=env)
    assert _flag_in_file(env) is True
    two = start_lesson(2, env=env)
    assert _flag_in_file(env) is False
    assert "turned permanent sessions off" in repr(two)
    refused = two.client.create_session(permanent=True, check=False)
    assert two.check_refused(refused).ok
    assert not two.check_api_key(refused).ok
    two.set_flag(True)
    check = two.check_flag()
    assert not check.ok and "restart" in check.detail
    two.restart()
    assert two.check_flag().ok
    assert start_lesson(3, env=env).notes == []
    three.server.status()  # the first lesson object still works after restarts


def test_checks_reject_the_wrong_answer(env: dict[str, str]) -> None:
    lesson = start_lesson(3, env=env)
    ping = lesson.client.ping_session()
    assert lesson.check_ping(ping).ok
    assert not lesson.check_logged_in(ping).ok
    assert not lesson.check_ping("not a response").ok
    temporary = lesson.client.create_session()
    assert not lesson.check_api_key(temporary).ok
    key = lesson.client.create_session(permanent=True).auth_token
    used = lesson.client.with_token(key).ping_session()
    assert lesson.check_key_only(used, key).ok
    assert not lesson.check_key_only(used, temporary.auth_token).ok
    assert not lesson.check_survived(key, temporary.auth_token).ok, "no restart happened yet"
    lesson.restart()
    assert lesson.check_survived(key, temporary.auth_token).ok
    assert not lesson.check_revoked(key).ok
    lesson.client.with_token(key).delete_session()
    assert lesson.check_revoked(key).ok


def test_progress_ticks_from_the_servers_state(env: dict[str, str]) -> None:
    lesson = start_lesson(4, env=env)
    key = lesson.client.create_session(permanent=True, description="progress").auth_token
    rows = {label: done for label, _, done in lesson.progress().rows}
    assert rows["You created a permanent session (an API key)"]
    confirmed = lesson.client.describe_sessions([key])
    assert lesson.check_confirmed(confirmed).ok
    assert not lesson.check_confirmed(lesson.client.describe_sessions(["no-such-token"])).ok  # [] is no filter
    rows = {label: done for label, _, done in lesson.progress().rows}
    assert rows["You confirmed it with describeSessions"]
    assert "Course progress" in repr(lesson) and "<ul" in lesson._repr_html_()


def test_exercises_fail_until_solved_then_pass(env: dict[str, str]) -> None:
    lesson = start_lesson(6, env=env)
    client, ex = lesson.client, Exercises(lesson)
    assert all(not ex.check(n, None).ok for n in range(1, 7))
    temporary = client.create_session(description="ci-pipeline")
    assert "temporary" in ex.check(1, temporary).detail
    answer_1 = client.create_session(permanent=True, description="ci-pipeline")
    assert ex.check(1, answer_1).ok
    key = answer_1.auth_token
    assert not ex.check(2, client.describe_sessions([key])).ok or client.auth_token == key
    assert ex.check(2, client.with_token(key).describe_sessions([key])).ok
    assert not ex.check(3, json.loads(BROKEN_REQUEST.replace('"username": "ADMIN",\n    "username"', '"username"'))).ok
    fixed = {"api": "admin", "action": "createSession",
             "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}}
    assert ex.check(3, fixed).ok
    sessions = client.describe_sessions().result["sessions"]
    count = sum(1 for s in sessions if s["permanentSession"])
    assert not ex.check(4, count + 1).ok and ex.check(4, count).ok
    assert not ex.check(5, key).ok
    client.delete_session(key)
    assert ex.check(5, key).ok
    assert not ex.check(6, client.list_accounts(check=False)).ok
    client.create_account("app-reader", "app-reader-pass")
    reader = client.create_session("app-reader", "app-reader-pass", permanent=True).auth_token
    assert ex.check(6, client.with_token(reader).list_accounts(check=False)).ok
    rows = {label: done for label, _, done in lesson.progress().rows}
    assert rows["You solved every exercise"]


def test_services_text_is_checked_without_touching_the_real_file(env: dict[str, str]) -> None:
    lesson = start_lesson(1, env=env)
    before = (Path(env["TUTORIAL_KIT_HOME"]) / "config" / "services.json").read_bytes()
    note = lesson.try_services_text('{\n"jsonActionApiDefaults"\n{}\n}')
    assert "line 2, column 24" in note.text and note.tone == "warning"
    assert "accept" in lesson.try_services_text('{"jsonActionApiDefaults": {}}').text
    assert (Path(env["TUTORIAL_KIT_HOME"]) / "config" / "services.json").read_bytes() == before


def test_remote_mode_explains_the_trainer_only_steps(tmp_path: Path) -> None:
    with EmulatorServer(tmp_path / "shared", port=0) as shared:
        env = _env(tmp_path / "unused", TUTORIAL_KIT_URL=shared.url,
                   TUTORIAL_KIT_USERNAME="ADMIN", TUTORIAL_KIT_PASSWORD="ADMIN")
        lesson = start_lesson(3, env=env)
        assert lesson.remote
        assert "ask your trainer" in repr(lesson.notes[0])
        assert "restart the FairCom server" in lesson.restart().text
        assert "services.json" in lesson.set_flag(True).text
        assert lesson.check_ping(lesson.client.ping_session()).ok
        assert not (tmp_path / "unused").exists(), "remote mode starts no local server"
        KitClient(shared.url).close()


def test_progress_keeps_fingerprints_not_keys(env: dict[str, str]) -> None:
    lesson = start_lesson(3, env=env)
    key = lesson.client.create_session(permanent=True, description="fingerprint").auth_token
    lesson.progress()
    path = Path(env["TUTORIAL_KIT_HOME"]) / "run" / "progress.json"
    text = path.read_text()
    assert key not in text and "api_key" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_setup_alone_ticks_nothing_and_a_broken_file_is_explained(tmp_path: Path) -> None:
    env = _env(tmp_path / "server-home")
    try:
        lesson = start_lesson(5, env=env)  # setup switches the flag on and restarts: not the learner's doing
        assert not any(done for _, _, done in lesson.progress().rows)
        services = Path(env["TUTORIAL_KIT_HOME"]) / "config" / "services.json"
        services.write_text(services.read_text().replace('"apiRoot":', '"apiRoot"'))
        note = lesson.restart()
        assert note.tone == "warning" and "line" in note.text and "lesson.restart()" in note.text
        check = lesson.check_flag()
        assert not check.ok and "not running" in check.detail
    finally:
        ServerControl(tmp_path / "server-home").stop()


def test_start_over_gives_a_fresh_server(tmp_path: Path) -> None:
    env = _env(tmp_path / "server-home")
    try:
        lesson = start_lesson(3, env=env)
        lesson.client.create_session(permanent=True)
        assert lesson.check_ping(lesson.client.ping_session()).ok
        note = lesson.start_over()
        assert "reset" in note.text
        assert not any(done for _, _, done in lesson.progress().rows)
        assert lesson.learner_sessions() == []
        assert _flag_in_file(env) is None, "a fresh services.json has the flag left out"
        assert lesson.client.describe_sessions().ok, "the client logs in again on the fresh server"
    finally:
        ServerControl(tmp_path / "server-home").stop()
