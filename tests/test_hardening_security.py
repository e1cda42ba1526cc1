"""Security properties, checked from the outside where possible and in the code path where not:
tokens (length, alphabet, source, spread), password hashes on disk (scrypt with the documented
parameters, no plaintext anywhere in the data), file and folder modes, logs without secrets, the
login throttle over HTTP from two addresses (not fooled by forwarding headers), the warning for a
non-loopback bind, reproducible mode's loopback guard, and constant-time password comparison.

``docs/security.md`` explains these to learners and trainers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import json
import logging
import os
import random
import re
import secrets
import sqlite3
import stat
import string
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tornado.websocket import websocket_connect

from _hardening import TOKEN, ServeProcess, write_services
from conftest import strict_json
from tutorial_kit import KitUsageError
from tutorial_kit.cli.main import build_parser
from tutorial_kit.server import EmulatorServer, accounts, backend
from tutorial_kit.server.kit_choices import choice
from tutorial_kit.server.reproducible import ENV_VAR, Reproducible, reproducible_from_env
from tutorial_kit.server.store import Store
from tutorial_kit.workshop.roster import set_admin_password

ALPHABET = string.ascii_letters + string.digits
HASH = choice("password_hash")
NO_REPRODUCIBLE: dict[str, str] = {}  # an explicit environment: never inherit TUTORIAL_KIT_REPRODUCIBLE


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[EmulatorServer]:
    """A fresh server with permanent sessions on, that no other test shares."""
    write_services(tmp_path, enablePermanentJsonApiSessions=True)
    srv = EmulatorServer(tmp_path, port=0, env=NO_REPRODUCIBLE).start()
    try:
        yield srv
    finally:
        srv.stop()


def ask(target: EmulatorServer | str, body: dict[str, Any], client: httpx.Client | None = None) -> dict[str, Any]:
    url = target if isinstance(target, str) else target.url
    if client is not None:
        return strict_json(client.post(url, content=json.dumps(body)).content)
    with httpx.Client(timeout=30, trust_env=False) as fresh:
        return strict_json(fresh.post(url, content=json.dumps(body)).content)


def login(target: EmulatorServer, username: str = "ADMIN", password: str = "ADMIN", **params: Any) -> str:
    answer = ask(target, {"action": "createSession", "debug": "none",
                          "params": {"username": username, "password": password, **params}})
    assert answer["errorCode"] == 0, answer
    return answer["authToken"]


# --- tokens -----------------------------------------------------------------------------------------


def test_new_token_draws_each_of_its_64_characters_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    real = secrets.choice
    assert isinstance(real.__self__, random.SystemRandom)  # the operating system's random source
    alphabets: list[Any] = []

    def spy(sequence: Any) -> Any:
        alphabets.append(sequence)
        return real(sequence)

    monkeypatch.setattr(backend.secrets, "choice", spy)
    token = backend.new_token()
    assert TOKEN.fullmatch(token)
    assert len(alphabets) == choice("token_length") == 64
    assert all(a == ALPHABET for a in alphabets)
    source = inspect.getsource(backend.new_token)
    assert "random." not in source and "time" not in source and "counter" not in source


def test_create_session_gets_its_token_from_new_token(
    own_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued: list[str] = []
    real = backend.new_token

    def spy() -> str:
        issued.append(real())
        return issued[-1]

    monkeypatch.setattr(backend, "new_token", spy)
    temporary = login(own_server)
    key = login(own_server, permanentSession=True)
    assert issued == [temporary, key]
    assert own_server.core is not None and own_server.core.backend is not None
    assert own_server.core.backend.reproducible is None


def test_a_thousand_tokens_are_distinct_and_evenly_spread() -> None:
    tokens = [backend.new_token() for _ in range(1000)]
    assert all(TOKEN.fullmatch(t) for t in tokens)
    assert len(set(tokens)) == 1000
    assert len({t[:12] for t in tokens}) == 1000  # not even a 12-character prefix repeats
    counts = Counter("".join(tokens))
    assert set(counts) == set(ALPHABET)  # every one of the 62 characters occurs
    expected = 64_000 / 62  # ~1032 each; the standard deviation is ~32
    assert all(abs(n - expected) < 8 * 32 for n in counts.values()), counts.most_common(3)
    chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
    assert chi2 < 150, chi2  # 61 degrees of freedom: 150 is far beyond p = 1e-7
    for position in (0, 31, 63):  # no position is stuck on a few characters
        assert len({t[position] for t in tokens}) >= 50


def test_reproducible_tokens_are_guessable_which_is_why_they_need_loopback(tmp_path: Path) -> None:
    first = [Reproducible().token(Store(":memory:")) for _ in range(2)]
    assert first[0] == first[1]  # two fresh homes hand out the same first token
    assert TOKEN.fullmatch(first[0])
    with EmulatorServer(tmp_path, port=0, env={ENV_VAR: "1"}) as srv:
        assert login(srv) == first[0]  # anybody who knows the kit knows the first token


# --- password hashes on disk ------------------------------------------------------------------------

HASH_FORMAT = re.compile(r"scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


def _all_bytes_under(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def _assert_nowhere(files: dict[Path, bytes], secret: str) -> None:
    for encoded in {secret.encode("utf-8"), secret.encode("utf-16-le"), base64.b64encode(secret.encode())}:
        holders = [str(path) for path, data in files.items() if encoded in data]
        assert not holders, f"{secret!r} found in {holders}"


def test_password_hashes_are_scrypt_with_the_documented_parameters_and_no_plaintext(own_server: EmulatorServer,
                                                                                   tmp_path: Path) -> None:
    assert HASH == {"algorithm": "scrypt", "n": 16384, "r": 8, "p": 1, "salt_bytes": 16, "dklen": 32}
    admin = login(own_server)
    secrets_used = {"alice": "Alice-pw-8dK2q!", "bob": "Alice-pw-8dK2q!", "ADMIN": "New-admin-pw-Zr41"}
    for name in ("alice", "bob"):
        made = ask(own_server, {"action": "createAccount", "authToken": admin,
                                "params": {"username": name, "password": secrets_used[name]}})
        assert made["errorCode"] == 0, made
    assert ask(own_server, {"action": "alterAccount", "authToken": admin,
                            "params": {"username": "ADMIN", "password": secrets_used["ADMIN"]}})["errorCode"] == 0
    login(own_server, "alice", secrets_used["alice"], permanentSession=True)
    # with the server running (recent pages still in the -wal file) and after it stopped
    _assert_nowhere(_all_bytes_under(tmp_path), secrets_used["alice"])
    _assert_nowhere(_all_bytes_under(tmp_path), secrets_used["ADMIN"])
    own_server.stop()
    files = _all_bytes_under(tmp_path)
    for secret in secrets_used.values():
        _assert_nowhere(files, secret)

    conn = sqlite3.connect(tmp_path / "data" / "kit.sqlite3")
    try:
        rows = dict(conn.execute("SELECT name_key, password_hash FROM accounts"))
    finally:
        conn.close()
    assert set(rows) == {"ADMIN", "ALICE", "BOB"}
    salts = set()
    for name, stored in rows.items():
        match = HASH_FORMAT.fullmatch(stored)
        assert match, stored
        n, r, p = (int(match.group(i)) for i in (1, 2, 3))
        salt, digest = base64.b64decode(match.group(4)), base64.b64decode(match.group(5))
        assert (n, r, p, len(salt), len(digest)) == (HASH["n"], HASH["r"], HASH["p"], HASH["salt_bytes"], HASH["dklen"])
        password = secrets_used[name.lower() if name != "ADMIN" else "ADMIN"]
        recomputed = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest),
                                    maxmem=64 * 1024 * 1024)
        assert recomputed == digest
        salts.add(salt)
    assert len(salts) == 3  # alice and bob share a password, not a hash
    assert rows["ALICE"] != rows["BOB"]


def test_the_cost_of_one_password_check(record_property: Any) -> None:
    """Measured for docs/security.md: one check costs tens of milliseconds and 16 MiB."""
    stored = accounts.hash_password("cost")
    started = time.perf_counter()
    assert accounts.verify_password("cost", stored)
    took = (time.perf_counter() - started) * 1000
    memory_mib = 128 * HASH["r"] * HASH["n"] / 2**20
    record_property("scrypt_check_ms", round(took, 1))
    print(f"\none scrypt check (n={HASH['n']}, r={HASH['r']}, p={HASH['p']}): {took:.1f} ms, {memory_mib:.0f} MiB")
    assert memory_mib == 16


def test_trailing_nul_characters_do_not_change_a_password_a_property_of_scrypt() -> None:
    """scrypt keys HMAC-SHA256 with the password, and HMAC pads short keys with zero bytes, so
    "pw" and "pw\\0" are the same password (as in every PBKDF2/scrypt system). Pinned here so that
    nobody is surprised; a NUL anywhere else counts (test_hardening_input)."""
    stored = accounts.hash_password("pw")
    assert accounts.verify_password("pw\u0000", stored)
    assert not accounts.verify_password("p\u0000w", stored)


def test_password_checks_compare_in_constant_time(monkeypatch: pytest.MonkeyPatch, own_server: EmulatorServer) -> None:
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest
    verdict: dict[str, bool | None] = {"force": None}

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b) if verdict["force"] is None else bool(verdict["force"])

    monkeypatch.setattr(accounts.hmac, "compare_digest", spy)
    stored = accounts.hash_password("right")
    assert accounts.verify_password("right", stored) and not accounts.verify_password("wrong", stored)
    assert len(compared) == 2 and all(isinstance(a, bytes) and len(a) == len(b) == 32 for a, b in compared)
    verdict["force"] = True  # the verdict is compare_digest's and nobody else's
    assert accounts.verify_password("wrong", stored)
    verdict["force"] = None
    compared.clear()
    # over HTTP: a wrong password, and an unknown username (checked against a dummy hash, so that
    # it takes as long and names cannot be found by timing), both go through compare_digest
    for params in ({"username": "ADMIN", "password": "wrong"}, {"username": "nobody-at-all", "password": "x"}):
        answer = ask(own_server, {"action": "createSession", "params": params})
        assert answer["errorCode"] == 12033
    assert len(compared) == 2


# --- file modes ---------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_data_and_state_files_are_owner_only_even_with_a_permissive_umask(tmp_path: Path) -> None:
    from tutorial_kit.control.local import ServerControl

    home = tmp_path / "home"
    old = os.umask(0)  # whatever the user's umask, the secrets stay private
    try:
        control = ServerControl(home, env={k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")})
        control.start()
        try:
            write = ask(control.url, {"action": "createSession", "debug": "none",
                                      "params": {"username": "ADMIN", "password": "ADMIN"}})
            assert write["errorCode"] == 0
            data = home / "data"
            found = {p.name: _mode(p) for p in data.iterdir()}
            assert _mode(data) == 0o700
            assert found["kit.sqlite3"] == 0o600
            for name in ("kit.sqlite3-wal", "kit.sqlite3-shm"):  # WAL mode: both exist while it runs
                assert found.get(name) == 0o600, found
            assert set(found) <= {"kit.sqlite3", "kit.sqlite3-wal", "kit.sqlite3-shm"}, found
            run = home / "run"
            assert _mode(run) == 0o700
            assert _mode(control.state_path) == 0o600 and _mode(control.log_path) == 0o600
        finally:
            control.stop()
    finally:
        os.umask(old)
    assert _mode(home / "data" / "kit.sqlite3") == 0o600


# --- logs -------------------------------------------------------------------------------------------


def test_debug_logs_never_hold_a_password_or_a_whole_token(
    own_server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin_pw, bob_pw, wrong_pw = "Adm1n-Secret-Qx7", "B0b-Secret-Wv3", "Wr0ng-Secret-Ty5"
    tokens: list[str] = []
    with httpx.Client(timeout=30, trust_env=False) as client:
        def call(body: dict[str, Any] | bytes) -> dict[str, Any]:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            answer = strict_json(client.post(own_server.url, content=content).content)
            if isinstance(answer.get("authToken"), str) and TOKEN.fullmatch(answer["authToken"]):
                tokens.append(answer["authToken"])
            return answer

        admin = call({"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})["authToken"]
        assert call({"action": "alterAccount", "authToken": admin,
                     "params": {"username": "ADMIN", "password": admin_pw}})["errorCode"] == 0
        assert call({"action": "createAccount", "authToken": admin, "debug": "max",
                     "params": {"username": "bob", "password": bob_pw}})["errorCode"] == 0
        key = call({"action": "createSession", "debug": "max",
                    "params": {"username": "bob", "password": bob_pw, "permanentSession": True}})["authToken"]
        assert (
            call({"action": "createSession", "params": {"username": "bob", "password": wrong_pw}})["errorCode"] == 12033
        )
        for body in (
            {"action": "pingSession", "authToken": key},
            {"action": "describeSessions", "authToken": key, "params": {"authTokens": [key, admin]}},
            {"action": "listSessions", "authToken": admin},
            {"action": "alterSession", "authToken": key, "params": {"description": "key"}},
            {"action": "listServices", "authToken": key},
            {"action": "alterSession", "authToken": key, "params": {"password": bob_pw}},  # an error
            {"action": "createSession", "params": {"username": "bob", "password": bob_pw, "bogus": True}},
        ):
            call(body)
        call(
            ('{"action": "createSession", "params": {"username": "bob", "password": "%s"' % bob_pw).encode()
        )  # broken JSON
        client.get(own_server.url, params={"note": "a GET is 405"})
        call({"action": "deleteSession", "authToken": key})
        call({"action": "deleteSession", "authToken": key})  # deleted twice: a warning, not an error
        call({"action": "pingSession", "authToken": key})  # 12031
    own_server.stop()  # the last-access flush and the shutdown log too

    records = caplog.records
    assert any(r.levelno == logging.DEBUG for r in records) and any(r.name == "tornado.access" for r in records)
    secrets_sent = [admin_pw, bob_pw, wrong_pw, *set(tokens)]
    assert len(set(tokens)) >= 3  # ADMIN's, bob's key, bob's temporary session
    for record in records:
        text = " ".join([record.getMessage(), record.exc_text or "", repr(record.args)])
        for secret in secrets_sent:
            assert secret not in text, (record.name, record.levelname, text[:300])


# --- the login throttle over HTTP ---------------------------------------------------------------------


def test_the_throttle_blocks_one_address_not_the_other_and_ignores_forwarding_headers(
        own_server: EmulatorServer, other_address: str) -> None:
    wrong = {"action": "createSession", "params": {"username": "ADMIN", "password": "guess"}}
    right = {"action": "createSession", "debug": "none", "params": {"username": "ADMIN", "password": "ADMIN"}}
    with (
        httpx.Client(timeout=30, trust_env=False) as here,
        httpx.Client(timeout=30, trust_env=False, transport=httpx.HTTPTransport(local_address=other_address)) as there,
    ):
        for _ in range(5):
            assert ask(own_server, wrong, here)["errorCode"] == 12033
        blocked = ask(own_server, right, here)
        assert blocked["errorCode"] == 12033 and "blocked" in blocked["errorMessage"]
        # the server believes the socket's address, not what the request claims about itself
        for header in ({"X-Forwarded-For": other_address}, {"X-Real-Ip": other_address},
                       {"Forwarded": f"for={other_address}"}, {"X-Forwarded-For": "203.0.113.9"}):
            claimed = strict_json(here.post(own_server.url, content=json.dumps(right), headers=header).content)
            assert claimed["errorCode"] == 12033 and "blocked" in claimed["errorMessage"], header
        # the same address over a WebSocket is blocked too
        ws_answer = asyncio.run(_ws_ask(own_server.url.replace("http://", "ws://"), right))
        assert ws_answer["errorCode"] == 12033 and "blocked" in ws_answer["errorMessage"]
        # the other address logs in, and its own wrong guesses count separately
        assert ask(own_server, right, there)["errorCode"] == 0
        for _ in range(4):
            assert "blocked" not in ask(own_server, wrong, there)["errorMessage"]
        assert ask(own_server, right, there)["errorCode"] == 0  # a success clears its count
        # 60 seconds later (moved on the server's clock) the first address may log in again
        throttle = own_server.core.backend.throttle  # type: ignore[union-attr]
        own_server.call_in_loop(
            setattr, throttle, "clock", lambda: time.time() + choice("login_throttle_block_seconds") + 1
        )
        assert ask(own_server, right, here)["errorCode"] == 0


async def _ws_ask(url: str, body: dict[str, Any]) -> dict[str, Any]:
    conn = await asyncio.wait_for(websocket_connect(url), timeout=10)
    try:
        await conn.write_message(json.dumps(body))
        message = await asyncio.wait_for(conn.read_message(), timeout=30)
        assert isinstance(message, str)
        return strict_json(message)
    finally:
        conn.close()


# --- where the server listens -------------------------------------------------------------------------


def test_the_default_bind_address_is_loopback() -> None:
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert inspect.signature(EmulatorServer).parameters["host"].default == "127.0.0.1"


def test_binding_every_interface_logs_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    set_admin_password(tmp_path, "a-password-of-the-trainer")  # ADMIN/ADMIN is refused there (issue 12.12)
    try:
        srv = EmulatorServer(tmp_path, host="0.0.0.0", port=0, env=NO_REPRODUCIBLE).start()
    except OSError as err:
        pytest.skip(f"cannot bind 0.0.0.0 here: {err}")
    try:
        # still answered on loopback; the warning names the address
        answer = ask(f"http://127.0.0.1:{srv.port}/api", {"action": "pingSession", "debug": "none"})
        assert answer["errorCode"] == 0
    finally:
        srv.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("0.0.0.0" in w and "log in" in w for w in warnings), warnings


def test_binding_loopback_logs_no_such_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with EmulatorServer(tmp_path, port=0, env=NO_REPRODUCIBLE):
        pass
    assert not [r for r in caplog.records if "every machine" in r.getMessage()]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.0.2.10", "10.1.2.3", "example.org", "fe80::1"])
def test_reproducible_mode_is_refused_unless_the_host_is_loopback(host: str) -> None:
    with pytest.raises(KitUsageError, match="guessable") as info:
        reproducible_from_env({ENV_VAR: "1"}, host)
    assert "loopback" in str(info.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_reproducible_mode_is_allowed_on_loopback(host: str) -> None:
    assert reproducible_from_env({ENV_VAR: "1"}, host) == Reproducible()
    assert reproducible_from_env({ENV_VAR: "0"}, host) is None and reproducible_from_env({}, host) is None


def test_reproducible_mode_on_every_interface_stops_the_start_before_any_data(tmp_path: Path) -> None:
    with pytest.raises(KitUsageError, match="loopback"):
        EmulatorServer(tmp_path, host="0.0.0.0", port=0, env={ENV_VAR: "1"}).start()
    assert not (tmp_path / "data").exists()  # the store was never opened


@pytest.mark.slow
def test_serve_refuses_reproducible_mode_on_every_interface(tmp_path: Path) -> None:
    serve = ServeProcess(tmp_path, "--host", "0.0.0.0", env={ENV_VAR: "1"})
    code, out, err = serve.finish(timeout=30)
    assert out == ""  # no "serving" line: it never listened
    assert code == 1 and ENV_VAR in err and "loopback" in err and "Traceback" not in err, err
