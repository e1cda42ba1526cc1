"""The lesson helpers against a real background server: setup, checks, progress, exercises."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tutorial_kit import ConfigFileError, KitClient
from tutorial_kit.control.local import ServerControl
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


def test_progress_ticks_only_what_the_learners_checks_saw(env: dict[str, str]) -> None:
    lesson = start_lesson(4, env=env)
    created = lesson.client.create_session(permanent=True, description="progress")
    key = created.auth_token
    rows = {label: done for label, _, done in lesson.progress().rows}
    assert not rows["You created a permanent session (an API key)"], "a key on the server is not a check passed"
    assert lesson.check_api_key(created).ok
    rows = {label: done for label, _, done in lesson.progress().rows}
    assert rows["You created a permanent session (an API key)"]
    confirmed = lesson.client.describe_sessions([key])
    assert lesson.check_confirmed(confirmed).ok
    assert not lesson.check_confirmed(lesson.client.describe_sessions(["no-such-token"])).ok  # [] is no filter
    rows = {label: done for label, _, done in lesson.progress().rows}
    assert rows["You confirmed it with describeSessions"]
    assert "Course progress" in repr(lesson) and "<ul" in lesson._repr_html_()


def test_exercises_check_the_request_they_ask_for(env: dict[str, str]) -> None:
    lesson = start_lesson(6, env=env)
    client, ex = lesson.client, Exercises(lesson)
    assert all(not ex.check(n, None).ok for n in range(1, 8))
    temporary = client.create_session(description="ci-pipeline")
    assert "temporary" in ex.check(1, temporary).detail and "lesson 3, step 2" in ex.check(1, temporary).detail
    answer_1 = client.create_session(permanent=True, description="ci-pipeline")
    assert ex.check(1, answer_1).ok
    key = answer_1.auth_token
    other = client.create_session(permanent=True, description="something else").auth_token
    unrelated = client.with_token(other).describe_sessions()
    assert "not your ci-pipeline key" in ex.check(2, unrelated).detail, "the key from exercise 1, not any key"
    assert "params.authTokens" in ex.check(2, client.with_token(key).describe_sessions()).detail
    assert ex.check(2, client.with_token(key).describe_sessions([key])).ok
    assert not ex.check(3, json.loads(BROKEN_REQUEST.replace('"username": "ADMIN",\n    "username"', '"username"'))).ok
    fixed = {"api": "admin", "action": "createSession",
             "params": {"username": "ADMIN", "password": "ADMIN", "permanentSession": True}}
    assert ex.check(3, fixed).ok
    sessions = client.describe_sessions().result["sessions"]
    count = sum(1 for s in sessions if s["permanentSession"])
    assert not ex.check(4, count + 1).ok and ex.check(4, count).ok
    assert "still works" in ex.check(5, key).detail
    assert "not a ci-pipeline key" in ex.check(5, other).detail
    client.delete_session(key)
    assert ex.check(5, key).ok
    assert not ex.check(6, client.list_accounts(check=False)).ok
    client.create_account("app-reader", "app-reader-pass")
    reader = client.create_session("app-reader", "app-reader-pass", permanent=True).auth_token  # the old hint's way
    assert client.auth_token == reader
    check = ex.check(6, client.with_token(reader).list_accounts(check=False))
    assert check.ok and "gave it back its own login" in check.detail
    assert client.auth_token is None and client.describe_sessions().ok, "the shared client is ADMIN again"
    assert ex.check(4, count).ok, "ci-pipeline revoked, the reader key added: counted by the kit, not the reader"
    assert "does not say" in ex.check(7, client.list_services()).detail
    lesson.server.set_default("maxJsonApiSessionsPerUsername", 20)
    assert "restart the server" in ex.check(7, client.list_services()).detail
    lesson.restart()
    assert ex.check(7, client.list_services()).ok
    assert Exercises(lesson).passed == set(range(1, 8)), "solved exercises are kept on disk"
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
    lesson = start_lesson(6, env=env)
    answer = lesson.client.create_session(permanent=True, description="ci-pipeline")
    assert Exercises(lesson).check(1, answer).ok
    path = Path(env["TUTORIAL_KIT_HOME"]) / "run" / "progress.json"
    text = path.read_text()
    assert answer.auth_token not in text and "ci-pipeline" in text and "exercise:1" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_setup_alone_ticks_nothing_and_a_broken_file_is_explained(tmp_path: Path) -> None:
    env = _env(tmp_path / "server-home")
    try:
        lesson = start_lesson(5, env=env)  # setup switches the flag on and restarts: not the learner's doing
        lesson.client.create_session(permanent=True, description="made by a lesson cell")
        assert not any(done for _, _, done in lesson.progress().rows)
        services = Path(env["TUTORIAL_KIT_HOME"]) / "config" / "services.json"
        services.write_text(services.read_text().replace('"apiRoot":', '"apiRoot"'))
        with pytest.raises(ConfigFileError) as raised:
            lesson.restart()
        assert raised.value.line is not None and "lesson.restart() again" in " ".join(raised.value.__notes__)
        check = lesson.check_flag()
        assert not check.ok and "not running" in check.detail
        with pytest.raises(ConfigFileError) as raised:
            start_lesson(5, env=env)  # a fresh kernel: its first cell is the one to run again
        assert "this cell again" in " ".join(raised.value.__notes__)
    finally:
        ServerControl(tmp_path / "server-home").stop()


def test_a_misspelled_setting_is_named_in_the_restart_status_and_check(tmp_path: Path) -> None:
    env = _env(tmp_path / "server-home")
    try:
        lesson = start_lesson(2, env=env)
        services = Path(env["TUTORIAL_KIT_HOME"]) / "config" / "services.json"
        services.write_text(services.read_text().replace(
            '"jsonActionApiDefaults": {', '"jsonActionApiDefaults": {\n    "enablePermanentJsonApiSesions": true,'))
        note = lesson.restart()
        assert note.tone == "warning" and "did you mean enablePermanentJsonApiSessions?" in note.text
        assert str(tmp_path) not in note.text
        assert "did you mean enablePermanentJsonApiSessions?" in lesson.status().text
        check = lesson.check_flag()
        assert not check.ok and '"enablePermanentJsonApiSesions", which the server does not know' in check.detail
    finally:
        ServerControl(tmp_path / "server-home").stop()


def test_the_first_cell_brings_back_the_lessons_keys(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tutorial_kit.lessons import lesson as lesson_module

    lesson = start_lesson(4, env=env)
    lesson.client.create_session(permanent=True, description="lesson 4 key")
    newest = lesson.client.create_session(permanent=True, description="lesson 4 key").auth_token
    temporary = lesson.client.create_session(description="lesson 4 temporary").auth_token
    namespace: dict[str, object] = {"temporary_token": "kept as it is"}
    monkeypatch.setattr(lesson_module, "notebook_namespace", lambda: namespace)
    monkeypatch.setattr(lesson_module, "_use_in_magic", lambda client, steps: None)
    again = start_lesson(4, env=env)  # the first cell after a kernel restart
    assert namespace == {"temporary_token": "kept as it is", "api_key": newest}
    assert temporary != namespace["temporary_token"]
    shown = repr(again)
    assert "api_key = " + newest[:4] + "…" in shown and newest not in shown


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
