"""The kit's browser mode (JupyterLite): the in-browser control, its transport, its saved state.

These tests run twice in ``make test``: here in CPython, where ``TUTORIAL_KIT_BROWSER=1`` asks for
the browser mode, and inside Pyodide in node (``tests/test_pyodide.py``), where it is chosen
because ``sys.platform`` is ``emscripten``. No socket, process or thread is involved either way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tutorial_kit import ConfigFileError, KitClient, KitTLSError, ServerControlError, ServerNotRunningError
from tutorial_kit.browser import in_browser
from tutorial_kit.browser.control import BrowserControl
from tutorial_kit.browser.transport import LISTENERS, InProcessTransport, Listeners
from tutorial_kit.lessons.browser import notes_for
from tutorial_kit.server import accounts
from tutorial_kit.server.kit_choices import choice
from tutorial_kit.server.pbkdf2 import _pure_pbkdf2_sha256, pbkdf2_sha256

FLAG = "enablePermanentJsonApiSessions"
IN_PYODIDE = sys.platform == "emscripten"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh server home, browser mode on, and every in-browser server stopped afterwards."""
    monkeypatch.setenv("TUTORIAL_KIT_BROWSER", "1")
    monkeypatch.setenv("TUTORIAL_KIT_HOME", str(tmp_path / "server-home"))
    monkeypatch.delenv("TUTORIAL_KIT_URL", raising=False)
    monkeypatch.delenv("TUTORIAL_KIT_REPRODUCIBLE", raising=False)
    yield tmp_path / "server-home"
    for server in {id(s): s for s in LISTENERS._by_home.values()}.values():
        server.stop()


@pytest.fixture
def control(home: Path) -> BrowserControl:
    return BrowserControl(home).start()


def test_browser_mode_is_chosen_and_start_lesson_works(home: Path) -> None:
    import tutorial_kit as kit

    assert in_browser()
    assert isinstance(kit.control_from_env(), BrowserControl)
    lesson = kit.start_lesson(3)
    assert lesson.in_browser and not lesson.remote
    assert lesson.server.status().file_defaults[FLAG] is True  # setup switched it on
    assert [n.text for n in lesson.notes][-len(notes_for(3)):] == notes_for(3)
    key = lesson.client.create_session(permanent=True).auth_token
    assert lesson.client.url == "http://127.0.0.1:8080/api"  # the port in services.json
    assert (home / "config" / "services.json").is_file() and (home / "data" / "kit.sqlite3").is_file()
    other = KitClient(lesson.client.url, auth_token=key)  # a client made from the URL alone, as lesson 4 does
    assert other.ping_session().ok
    plain = httpx.post(lesson.url, json={"api": "admin", "action": "pingSession", "authToken": key})
    assert plain.json()["errorCode"] == 0  # plain httpx too, as lesson 3 does
    assert "in this browser tab" in lesson.status().text


def test_restart_ends_temporary_sessions_and_keeps_api_keys(control: BrowserControl) -> None:
    control.set_default(FLAG, True)
    control.restart()
    client = control.client()
    key = client.create_session(permanent=True).auth_token
    temporary = client.create_session().auth_token
    boot = control.boot_id
    control.restart()
    assert control.boot_id != boot
    assert client.with_token(key).ping_session(check=False).ok  # the old client still reaches the server
    assert client.with_token(temporary).ping_session(check=False).error_code == 12031


def test_state_survives_a_page_reload(home: Path) -> None:
    """A page reload: a new Python with an empty listener table, the same browser drive."""
    first = BrowserControl(home, listeners=Listeners()).start()
    first.set_default(FLAG, True)
    first.restart()
    key = first.client().create_session(permanent=True, description="survives").auth_token
    reloaded_listeners = Listeners()  # before the first "page" goes: nothing is stopped or flushed
    second = BrowserControl(home, listeners=reloaded_listeners).start()
    answer = second.client(auth_token=key).ping_session(check=False)
    assert answer.ok, answer
    first.stop()
    second.stop()


def test_the_drive_copy_is_a_plain_sqlite_file_with_hashed_passwords(control: BrowserControl, home: Path) -> None:
    control.client().create_account("reader", "reader-pass", check=False)
    with sqlite3.connect(home / "data" / "kit.sqlite3") as conn:
        rows = dict(conn.execute("SELECT name_key, password_hash FROM accounts"))
    assert set(rows) == {"ADMIN", "READER"}
    assert all("reader-pass" not in value and value.count("$") >= 3 for value in rows.values())


def test_another_kernel_of_the_same_home_is_seen(home: Path) -> None:
    """Two notebooks open at once: each has its own server; the newer drive copy wins."""
    tab_a = BrowserControl(home, listeners=Listeners()).start()
    tab_a.set_default(FLAG, True)
    tab_a.restart()
    tab_b = BrowserControl(home, listeners=Listeners()).start()
    key = tab_b.client().create_session(permanent=True).auth_token
    assert tab_a.client(auth_token=key).ping_session(check=False).ok  # A reloaded B's copy
    tab_a.stop()
    tab_b.stop()


def test_broken_services_json_stops_the_restart_and_names_the_line(control: BrowserControl) -> None:
    port = control._server.port
    text = control.services_path.read_text()
    control.services_path.write_text(text.replace('"jsonActionApiDefaults":', '"jsonActionApiDefaults"', 1))
    with pytest.raises(ConfigFileError) as caught:
        control.restart()
    assert "line" in caught.value.message and "services.json" in caught.value.message
    with pytest.raises(ServerNotRunningError):
        KitClient(f"http://127.0.0.1:{port}/api").ping_session()
    control.services_path.write_text(text)
    control.start()
    assert control._server.port == port


def test_reset_gives_a_fresh_server_on_the_same_port(control: BrowserControl, home: Path) -> None:
    control.set_default(FLAG, True)
    url = control.url
    control.reset()
    assert control.url == url
    assert control.status().file_defaults.get(FLAG) is not True
    assert control.client().ping_session().ok


def test_a_broken_database_copy_says_what_to_do(home: Path) -> None:
    (home / "data").mkdir(parents=True)
    (home / "data" / "kit.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ServerControlError, match="start_over"):
        BrowserControl(home).start()


def test_two_homes_cannot_share_a_port(tmp_path: Path, home: Path) -> None:
    BrowserControl(home).start()
    with pytest.raises(ServerControlError, match="port 8080 is already used"):
        BrowserControl(tmp_path / "other-home").start()


def test_http_is_translated_as_the_desktop_server_does(control: BrowserControl) -> None:
    with httpx.Client(transport=InProcessTransport()) as http:
        answer = http.get(control.url)
        assert answer.status_code == 405 and answer.json()["errorCode"] == 12006
        assert answer.headers["Allow"] == "POST"
        assert http.post(control.url.replace("/api", "/other"), content=b"{}").status_code == 404
        big = http.post(control.url, content=b" " * (choice("max_body_bytes") + 1))
        assert big.status_code == 200 and big.json()["errorCode"] == 12028
        bad = http.post(control.url, content=b"{nope")
        assert bad.status_code == 200 and bad.json()["errorCode"] != 0
        ok = http.post(control.url + "/admin", content=json.dumps({"api": "admin", "action": "pingSession"}))
        assert ok.json()["errorCode"] == 0


def test_nothing_listening_and_https_fail_as_on_the_desktop(control: BrowserControl) -> None:
    with pytest.raises(ServerNotRunningError, match="Is the server running"):
        KitClient("http://127.0.0.1:9/api").ping_session()
    with pytest.raises(KitTLSError):
        KitClient(control.url.replace("http://", "https://")).ping_session()
    control.stop()
    with pytest.raises(ServerNotRunningError):
        KitClient("http://127.0.0.1:8080/api").ping_session()
    with pytest.raises(ServerControlError, match="start"):
        _ = control.url


def test_explain_covers_every_step(control: BrowserControl) -> None:
    for step in ("start", "stop", "restart", "reset", "set_default"):
        assert "browser" in control.explain(step) or "services.json" in control.explain(step)
    with pytest.raises(ValueError, match="unknown step"):
        control.explain("reboot")


# --- the password hash where scrypt is missing --------------------------------------------------


def test_pbkdf2_follows_rfc_8018() -> None:
    # PBKDF2-HMAC-SHA256 test vectors (RFC 7914 section 11 gives the first)
    assert _pure_pbkdf2_sha256(b"passwd", b"salt", 1, 64).hex().startswith("55ac046e56e3089fec1691c22544b605")
    assert _pure_pbkdf2_sha256(b"password", b"salt", 2, 32).hex() == (
        "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43")
    long_key = b"k" * 100  # longer than SHA-256's block: HMAC hashes it first
    assert _pure_pbkdf2_sha256(long_key, b"s", 3, 40) == pbkdf2_sha256(long_key, b"s", 3, 40)
    with pytest.raises(ValueError):
        pbkdf2_sha256(b"x", b"y", 0)


def test_without_scrypt_hashes_are_pbkdf2_and_both_kinds_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    fallback = choice("password_hash_fallback")
    scrypt_hash = accounts.hash_password("Secret") if hasattr(hashlib, "scrypt") else None
    monkeypatch.delattr(hashlib, "scrypt", raising=False)
    stored = accounts.hash_password("Secret")
    name, iterations, salt, digest = stored.split("$")
    assert (name, int(iterations)) == ("pbkdf2_sha256", fallback["iterations"])
    assert len(base64.b64decode(salt)) == fallback["salt_bytes"] and len(base64.b64decode(digest)) == fallback["dklen"]
    assert accounts.verify_password("Secret", stored) and not accounts.verify_password("secret", stored)
    assert not accounts.verify_password("Secret", "pbkdf2_sha256$x$AAAA$AAAA")
    if scrypt_hash is not None:  # a scrypt hash cannot be checked without scrypt: refused, not an error
        assert not accounts.verify_password("Secret", scrypt_hash)
        monkeypatch.undo()
        assert accounts.verify_password("Secret", scrypt_hash) and accounts.verify_password("Secret", stored)


@pytest.mark.skipif(IN_PYODIDE, reason="starts a Python process to see what it imports")
def test_the_browser_path_imports_no_process_socket_or_tornado_module(tmp_path: Path) -> None:
    code = (
        "import sys, tutorial_kit as kit\n"
        "lesson = kit.start_lesson(3)\n"
        "lesson.client.create_session(permanent=True); lesson.restart(); lesson.progress()\n"
        "kit.panels.server_panel(lesson.server)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] == 'tornado' or m in {FORBIDDEN!r}))\n"
    )
    env = {"TUTORIAL_KIT_BROWSER": "1", "TUTORIAL_KIT_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


#: the kit's modules that need processes, sockets, threads or fcntl (never imported in the browser)
FORBIDDEN = ("tutorial_kit.control.process", "tutorial_kit.control.spawn", "tutorial_kit.control.local",
             "tutorial_kit.server.runner", "tutorial_kit.server.app", "tutorial_kit.cli.main")


@pytest.mark.skipif(not IN_PYODIDE, reason="checks this Python's own modules under Pyodide")
def test_under_pyodide_nothing_forbidden_was_imported() -> None:
    assert sorted(m for m in sys.modules if m.split(".")[0] == "tornado" or m in FORBIDDEN) == []
