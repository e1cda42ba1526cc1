"""Workshop tooling: learner accounts and their roster, and the view of the room (against a real in-process server)."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutorial_kit import JsonActionError, KitUsageError
from tutorial_kit.cli.main import main
from tutorial_kit.client.kit_client import KitClient
from tutorial_kit.server import EmulatorServer
from tutorial_kit.server.kit_choices import choice
from tutorial_kit.workshop.room import RoomSnapshot, format_room, room, summarize_room
from tutorial_kit.workshop.roster import (
    PASSWORD_ALPHABET,
    Account,
    admin_password,
    check_names,
    default_url,
    generate_password,
    learner_names,
    provision,
    read_names,
    read_roster,
    tls_verify,
    write_roster,
)

PASSWORD_RE = re.compile(rf"^[{PASSWORD_ALPHABET}]{{4}}(-[{PASSWORD_ALPHABET}]{{4}}){{3}}$")


# --- servers -------------------------------------------------------------------------------------

@pytest.fixture
def srv(tmp_path: Path) -> Iterator[EmulatorServer]:
    """A fresh server (ADMIN/ADMIN) on a free port."""
    with EmulatorServer(tmp_path / "home", port=0) as server:
        yield server


@pytest.fixture
def permanent_srv(tmp_path: Path) -> Iterator[EmulatorServer]:
    """A fresh server whose running configuration allows permanent sessions."""
    home = tmp_path / "home"
    with EmulatorServer(home, port=0) as server:
        services = home / "config" / "services.json"
        config = json.loads(services.read_text(encoding="utf-8"))
        config["jsonActionApiDefaults"]["enablePermanentJsonApiSessions"] = True
        services.write_text(json.dumps(config, indent=2), encoding="utf-8")
        server.restart()
        yield server


def _login(url: str, username: str, password: str, *, permanent: bool = False) -> str:
    with KitClient(url) as client:
        return client.create_session(username, password, permanent=permanent).auth_token


def _admin_sessions(url: str) -> list[dict]:
    """Every live session as the administrator sees it (the session used to look is deleted again)."""
    with KitClient(url) as client:
        client.create_session("ADMIN", "ADMIN")
        sessions = client.describe_sessions().result["sessions"]
        client.delete_session()
    return sessions


# --- names and passwords ---------------------------------------------------------------------

def test_generated_passwords_are_readable_and_never_repeat() -> None:
    passwords = [generate_password() for _ in range(300)]
    assert all(PASSWORD_RE.match(p) for p in passwords), passwords[:3]
    assert len(set(passwords)) == len(passwords)
    assert not set("".join(passwords)) & set("01ilo")  # no look-alike characters
    assert len(set("".join(passwords).replace("-", ""))) > 25  # the whole alphabet is used


def test_learner_names_are_numbered_and_padded() -> None:
    assert learner_names(3) == ["learner01", "learner02", "learner03"]
    assert learner_names(2, "room-b-") == ["room-b-01", "room-b-02"]
    hundred = learner_names(100)
    assert hundred[0] == "learner001" and hundred[-1] == "learner100"
    with pytest.raises(KitUsageError, match="at least 1"):
        learner_names(0)


def test_names_file_skips_blank_lines_and_comments(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("# room B\nada\n\n  grace  \n# end\n", encoding="utf-8")
    assert read_names(names) == ["ada", "grace"]
    with pytest.raises(KitUsageError, match="cannot read"):
        read_names(tmp_path / "missing.txt")


@pytest.mark.parametrize(("names", "problem"), [
    (["ada", "ADA"], "twice"),
    (["x" * 32], "longer than 31 bytes"),
    (["ada lovelace"], "space or a comma"),
    (["ada,b"], "space or a comma"),
    ([], "no usernames"),
])
def test_bad_names_are_refused_before_anything_is_created(names: list[str], problem: str) -> None:
    with pytest.raises(KitUsageError, match=problem):
        check_names(names)


def test_the_admin_password_comes_from_the_environment() -> None:
    assert admin_password({}) == "ADMIN"
    assert admin_password({"TUTORIAL_KIT_PASSWORD": "s3cret"}) == "s3cret"
    assert admin_password({"TRAINER_PW": "x-y"}, "TRAINER_PW") == "x-y"
    with pytest.raises(KitUsageError, match="TRAINER_PW"):
        admin_password({"TUTORIAL_KIT_PASSWORD": "s3cret"}, "TRAINER_PW")  # no silent fallback


def test_tls_verification_follows_the_helpers_variables() -> None:
    assert tls_verify({}) is True
    assert tls_verify({"TUTORIAL_KIT_VERIFY": "0"}) is False
    assert tls_verify({"TUTORIAL_KIT_CA_FILE": "/ca.pem"}) == "/ca.pem"
    assert tls_verify({}, ca_file="/mine.pem") == "/mine.pem"
    assert tls_verify({"TUTORIAL_KIT_CA_FILE": "/ca.pem"}, insecure=True) is False


def test_default_url_is_the_environment_or_a_clear_error(tmp_path: Path) -> None:
    assert default_url({"TUTORIAL_KIT_URL": " http://h:1/api "}) == "http://h:1/api"
    with pytest.raises(KitUsageError, match="pass --url"):
        default_url({"TUTORIAL_KIT_HOME": str(tmp_path / "no-server")})


def test_roster_is_private_and_round_trips(tmp_path: Path) -> None:
    path = write_roster(tmp_path / "roster.csv", [Account("ada", "a-b"), Account("grace", "c,d")])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8").splitlines()[0] == "username,password"
    assert read_roster(path) == [Account("ada", "a-b"), Account("grace", "c,d")]
    assert "a-b" not in repr(read_roster(path))  # passwords stay out of reprs


# --- accounts on a server ----------------------------------------------------------------------

def test_provision_creates_accounts_that_learners_can_log_in_with(srv: EmulatorServer, tmp_path: Path) -> None:
    result = provision(srv.url, learner_names(3), tmp_path / "roster.csv", admin_password="ADMIN",
                       description="room B")

    assert stat.S_IMODE(result.roster.stat().st_mode) == 0o600
    roster = read_roster(result.roster)
    assert [a.username for a in roster] == ["learner01", "learner02", "learner03"]
    assert all(PASSWORD_RE.match(a.password) for a in roster)
    for account in roster:
        assert len(_login(srv.url, account.username, account.password)) == 64
    with KitClient(srv.url) as client:
        client.create_session("ADMIN", "ADMIN")
        accounts = {a["username"]: a["accountDescription"] for a in client.list_accounts().result["accounts"]}
        client.delete_session()
    assert accounts["learner02"] == "room B"
    admins = [s for s in _admin_sessions(srv.url) if s["username"] == "ADMIN"]
    assert len(admins) == 1, "provision left its administrator session open"


def test_an_existing_roster_is_never_overwritten_by_accident(srv: EmulatorServer, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("username,password\nold,keep-me\n", encoding="utf-8")

    with pytest.raises(KitUsageError, match="--force"):
        provision(srv.url, ["ada"], roster, admin_password="ADMIN")

    assert "keep-me" in roster.read_text(encoding="utf-8")
    with KitClient(srv.url) as client:
        client.create_session("ADMIN", "ADMIN")
        assert [a["username"] for a in client.list_accounts().result["accounts"]] == ["ADMIN"]


def _existing_learner02(url: str, tmp_path: Path) -> Account:
    provision(url, ["learner02"], tmp_path / "first.csv", admin_password="ADMIN")
    return read_roster(tmp_path / "first.csv")[0]


def test_a_taken_name_stops_the_run_but_the_roster_keeps_what_was_made(srv: EmulatorServer, tmp_path: Path) -> None:
    _existing_learner02(srv.url, tmp_path)
    roster = tmp_path / "roster.csv"

    with pytest.raises(JsonActionError) as caught:
        provision(srv.url, learner_names(3), roster, admin_password="ADMIN")

    assert caught.value.error_code == choice("error.account_exists")
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert str(roster) in notes and "existing='skip'" in notes
    assert [a.username for a in read_roster(roster)] == ["learner01"]
    assert stat.S_IMODE(roster.stat().st_mode) == 0o600


def test_taken_names_can_be_skipped(srv: EmulatorServer, tmp_path: Path) -> None:
    first = _existing_learner02(srv.url, tmp_path)
    result = provision(srv.url, learner_names(3), tmp_path / "roster.csv", admin_password="ADMIN", existing="skip")

    assert result.skipped == ("learner02",)
    assert [a.username for a in read_roster(result.roster)] == ["learner01", "learner03"]
    assert _login(srv.url, "learner02", first.password)  # its password is unchanged


def test_taken_names_can_get_a_new_password(srv: EmulatorServer, tmp_path: Path) -> None:
    first = _existing_learner02(srv.url, tmp_path)
    result = provision(srv.url, learner_names(3), tmp_path / "roster.csv", admin_password="ADMIN", existing="reset")

    new = {a.username: a.password for a in read_roster(result.roster)}
    assert set(new) == {"learner01", "learner02", "learner03"}
    assert new["learner02"] != first.password
    assert _login(srv.url, "learner02", new["learner02"])
    with KitClient(srv.url) as client:
        assert client.create_session("learner02", first.password, check=False).error_code == choice(
            "error.bad_credentials"
        )


def test_a_wrong_admin_password_fails_without_showing_it(srv: EmulatorServer, tmp_path: Path) -> None:
    with pytest.raises(JsonActionError) as caught:
        provision(srv.url, ["ada"], tmp_path / "roster.csv", admin_password="wrong-Secret-77")

    assert caught.value.error_code == choice("error.bad_credentials")
    assert "wrong-Secret-77" not in str(caught.value) + repr(caught.value)
    assert not (tmp_path / "roster.csv").exists()


# --- the command line ------------------------------------------------------------------------

def test_cli_creates_accounts_and_prints_no_password(srv: EmulatorServer, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TUTORIAL_KIT_PASSWORD", raising=False)
    roster = tmp_path / "roster.csv"

    code = main(["accounts", "create", "--count", "2", "--prefix", "b", "--url", srv.url, "--roster", str(roster)])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "2 account(s) ready" in out and str(roster) in out
    for account in read_roster(roster):
        assert account.password not in out + err
    assert [a.username for a in read_roster(roster)] == ["b01", "b02"]


def test_cli_takes_the_admin_password_from_the_named_variable_and_never_prints_it(
        srv: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with KitClient(srv.url) as client:
        client.create_session("ADMIN", "ADMIN")
        client.alter_account("Trainer-Only-123")
    monkeypatch.setenv("TUTORIAL_KIT_PASSWORD", "ADMIN")  # no longer right
    args = ["accounts", "create", "--count", "1", "--url", srv.url, "--roster", str(tmp_path / "r.csv")]

    assert main(args) == 1
    refused = capsys.readouterr()
    monkeypatch.setenv("TRAINER_PW", "Trainer-Only-123")
    assert main([*args, "--admin-password-env", "TRAINER_PW"]) == 0
    accepted = capsys.readouterr()

    assert str(choice("error.bad_credentials")) in refused.err
    for shown in (refused.out, refused.err, accepted.out, accepted.err):
        assert "Trainer-Only-123" not in shown
    assert [a.username for a in read_roster(tmp_path / "r.csv")] == ["learner01"]


def test_cli_checks_count_against_the_names_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = tmp_path / "names.txt"
    names.write_text("ada\ngrace\n", encoding="utf-8")

    code = main(["accounts", "create", "--names", str(names), "--count", "3", "--url", "http://127.0.0.1:9/api",
                 "--roster", str(tmp_path / "r.csv")])

    assert code == 1
    assert "holds 2 name(s)" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


# --- the room --------------------------------------------------------------------------------

def _session(token: str, username: str, permanent: bool = False, seen: str = "2026-01-01T09:00:00") -> dict:
    return {"authToken": token, "username": username, "permanentSession": permanent,
            "sessionLastAccessedTimestamp": seen}


def test_summarize_room_counts_sessions_keys_and_revocations() -> None:
    first = [_session("T1", "ada", True), _session("T2", "ada"), _session("T3", "GRACE", seen="2026-01-01T09:05:00"),
             _session("T4", "grace", seen="2026-01-01T09:01:00"), _session("ME", "ADMIN")]
    rows, snap = summarize_room(first, ["ada", "grace", "linus"], exclude_tokens=["ME"])

    assert [(r.username, r.live_sessions, r.has_api_key, r.revoked) for r in rows] == [
        ("ada", 2, True, 0), ("grace", 2, False, 0), ("linus", 0, False, 0)]
    assert rows[1].last_request == "2026-01-01T09:05:00" and rows[2].last_request is None
    assert "T1" not in json.dumps(snap.to_json())  # fingerprints only, never a token

    second, snap2 = summarize_room([_session("T2", "ada")], ["ada", "grace", "linus"], snap)
    assert [(r.username, r.live_sessions, r.has_api_key, r.revoked) for r in second][0] == ("ada", 1, False, 1)
    third, _ = summarize_room([_session("T5", "ada", True)], ["ada"], RoomSnapshot.from_json(snap2.to_json()))
    assert (third[0].has_api_key, third[0].revoked) == (True, 1)  # a revocation stays counted


def test_summarize_room_without_a_learner_list_shows_everyone_but_the_admin() -> None:
    rows, _ = summarize_room([_session("A", "ADMIN"), _session("B", "zoe"), _session("C", "bob", True)],
                             exclude_users=["admin"])
    assert [(r.username, r.permanent_sessions) for r in rows] == [("bob", 1), ("zoe", 0)]


def test_format_room_is_a_table_with_a_summary() -> None:
    rows, _ = summarize_room([_session("T1", "ada", True)], ["ada", "grace"])
    lines = format_room(rows).splitlines()

    assert lines[0].split() == ["learner", "live", "sessions", "API", "key", "revoked", "last", "request", "(UTC)"]
    assert lines[1].split() == ["ada", "1", "yes", "0", "2026-01-01T09:00:00"]
    assert lines[2].split() == ["grace", "0", "-", "0", "-"]
    assert lines[-1] == "2 learner(s): 1 with a live session, 1 holding an API key, 0 revoked one"


def test_room_follows_learners_through_the_api_key_exercise(permanent_srv: EmulatorServer, tmp_path: Path) -> None:
    url, snapshot = permanent_srv.url, tmp_path / "room.json"
    accounts = {a.username: a.password for a in
                provision(url, learner_names(3), tmp_path / "roster.csv", admin_password="ADMIN").accounts}
    key = _login(url, "learner01", accounts["learner01"], permanent=True)
    _login(url, "learner01", accounts["learner01"])
    _login(url, "learner02", accounts["learner02"])

    before = room(url, admin_password="ADMIN", snapshot=snapshot)
    with KitClient(url) as client:
        client.delete_session(key)  # learner01 revokes the API key
    after = room(url, admin_password="ADMIN", snapshot=snapshot)

    assert [(r.username, r.live_sessions, r.has_api_key, r.revoked) for r in before] == [
        ("learner01", 2, True, 0), ("learner02", 1, False, 0), ("learner03", 0, False, 0)]
    assert [(r.username, r.live_sessions, r.has_api_key, r.revoked) for r in after][0] == ("learner01", 1, False, 1)
    assert key not in snapshot.read_text(encoding="utf-8")
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert [s["username"] for s in _admin_sessions(url)].count("ADMIN") == 1, "room left its session open"


def test_cli_room_prints_the_roster_learners(permanent_srv: EmulatorServer, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TUTORIAL_KIT_PASSWORD", raising=False)
    roster = tmp_path / "roster.csv"
    provision(permanent_srv.url, ["ada", "grace"], roster, admin_password="ADMIN")
    _login(permanent_srv.url, "ada", read_roster(roster)[0].password, permanent=True)

    code = main(["room", "--url", permanent_srv.url, "--roster", str(roster), "--snapshot", str(tmp_path / "s.json")])

    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"^ada\s+1\s+yes\s+0\s+\d{4}-", out, re.MULTILINE)
    assert re.search(r"^grace\s+0\s+-\s+0\s+-$", out, re.MULTILINE)
    assert "2 learner(s): 1 with a live session, 1 holding an API key, 0 revoked one" in out


def test_room_lists_everyone_seen_when_the_server_has_no_list_accounts() -> None:
    import httpx

    from tutorial_kit.workshop.room import _accounts_on_server

    def real_faircom(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"errorCode": 12008, "errorMessage": "unknown action"})

    with KitClient("http://faircom.test/api", transport=httpx.MockTransport(real_faircom)) as client:
        assert _accounts_on_server(client) is None


# --- the documents stay true to the code -------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _all_options(parser: object) -> set[str]:
    import argparse

    found: set[str] = set()
    for action in getattr(parser, "_actions", []):
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _all_options(sub)
    return found


def test_every_option_the_workshop_guide_mentions_exists() -> None:
    from tutorial_kit.cli.main import build_parser

    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", (DOCS / "workshop.md").read_text(encoding="utf-8")))
    assert {"--roster", "--existing", "--watch"} <= mentioned
    assert mentioned <= _all_options(build_parser()), mentioned - _all_options(build_parser())


def test_the_real_server_guide_lists_every_error_code_the_kit_chose() -> None:
    from tutorial_kit.server.kit_choices import KIT_CHOICES

    text = (DOCS / "real-server.md").read_text(encoding="utf-8")
    codes = {c.value for name, c in KIT_CHOICES.items() if name.startswith("error.")}
    missing = sorted(code for code in codes if f"| {code} |" not in text)
    assert not missing, f"docs/real-server.md does not list the kit's codes {missing}"
