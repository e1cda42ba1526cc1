"""Issue 12, items 5, 6 and 9: the database tells the truth, never stalls the others, and a
damaged one is named.

The attacks, against a real ``tutorial-kit serve`` process:

- another program holds SQLite's write lock while API keys are revoked. Before the fix
  ``deleteSession`` dropped the key from memory first, answered 12009 after 5 s, a retry answered
  0 ("nothing to delete"), and after a restart the revoked key worked again (5 of 5 retried
  revocations lost); every other client waited the 5 s too. Now the disk is written first (off
  the loop), a busy database gets an envelope that says so, the key keeps working until a
  revocation succeeds, and other clients are answered meanwhile.
- a full disk (the server runs with ``ulimit -f``, so that writes past a size fail): the same rule.
- a corrupt ``kit.sqlite3`` (before: a 27-line traceback) and a 0-byte one (before: a silent
  fresh start with ADMIN/ADMIN valid again): one short message naming the file and what to do.
"""

from __future__ import annotations

import json
import select
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from _hardening import RawConnection, ServeProcess, create_body, http_request, jbody, write_services

PERMANENT = {"enablePermanentJsonApiSessions": True}


def ping(port: int, token: str) -> int:
    with RawConnection(port) as conn:
        return conn.post({"action": "pingSession", "authToken": token, "debug": "none"})[1]["errorCode"]


def revoke(port: int, token: str) -> dict[str, Any]:
    with RawConnection(port, timeout=30) as conn:
        return conn.post({"action": "deleteSession", "authToken": token, "debug": "none"})[1]


def api_key(conn: RawConnection) -> str:
    _, answer = conn.post(create_body(permanentSession=True))
    assert answer["errorCode"] == 0, answer
    return answer["authToken"]


def test_a_revocation_refused_by_a_locked_database_is_never_lost(tmp_path: Path, record_property: Any) -> None:
    write_services(tmp_path, **PERMANENT)
    proc = ServeProcess(tmp_path)
    try:
        proc.wait_ready()
        with RawConnection(proc.port) as conn:
            first, second = api_key(conn), api_key(conn)
        holder = sqlite3.connect(tmp_path / "data" / "kit.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        try:
            with RawConnection(proc.port, timeout=30) as waiting, RawConnection(proc.port) as other:
                waiting.send(http_request(jbody({"action": "deleteSession", "authToken": first, "debug": "none"})))
                # while that write waits for the lock, another client is answered (the loop is free)
                assert other.post({"action": "pingSession", "debug": "none"})[1]["errorCode"] == 0
                assert other.post(create_body())[1]["errorCode"] == 0  # a temporary login needs no write
                assert not select.select([waiting.sock], [], [], 0)[0], "the revocation is still waiting"
                _, body = waiting.read_answer()
            busy = json.loads(body)
            assert busy["errorCode"] == 12009 and "busy" in busy["errorMessage"], busy
            assert "Nothing was changed" in busy["errorMessage"] and len(busy["errorMessage"].encode()) <= 256
            assert ping(proc.port, first) == 0, "a revocation that failed leaves the key working"
            with RawConnection(proc.port) as conn:  # a new API key cannot be stored either
                refused = conn.post(create_body(permanentSession=True))[1]
            assert refused["errorCode"] == 12009 and "authToken" not in refused
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert revoke(proc.port, first)["errorCode"] == 0  # the retry revokes it for real
        assert ping(proc.port, first) == 12031
    finally:
        proc.stop()
    restarted = ServeProcess(tmp_path)
    try:
        restarted.wait_ready()
        assert ping(restarted.port, first) == 12031, "the revoked key stays revoked after a restart"
        assert ping(restarted.port, second) == 0
    finally:
        code, err = restarted.stop()
    assert code == 0 and "Traceback" not in err


def test_a_full_disk_gets_the_same_truth(tmp_path: Path) -> None:
    write_services(tmp_path, **PERMANENT, maxJsonApiSessions=5000, maxJsonApiSessionsPerIpAddress=5000,
                   maxJsonApiSessionsPerUsername=5000)
    first = ServeProcess(tmp_path)
    first.wait_ready()
    with RawConnection(first.port) as conn:
        kept = api_key(conn)
    first.stop()
    proc = ServeProcess(tmp_path, fsize=200_000)  # writes past 200 kB fail, as on a full disk
    acknowledged, refused = [kept], []
    try:
        proc.wait_ready()
        with RawConnection(proc.port) as conn:
            for _ in range(200):
                _, answer = conn.post(create_body(permanentSession=True))
                if answer["errorCode"] == 0:
                    acknowledged.append(answer["authToken"])
                else:
                    refused.append(answer)
                    if len(refused) == 3:
                        break
        assert refused, "the disk never filled up"
        assert all(a["errorCode"] == 12009 and "could not write" in a["errorMessage"] for a in refused)
        answer = revoke(proc.port, kept)
        assert answer["errorCode"] == 12009 and ping(proc.port, kept) == 0
    finally:
        code, err = proc.stop()
    assert err.count("database writes fail") == 1, err[-1500:]  # logged once, not per request
    assert "Traceback" not in err
    restarted = ServeProcess(tmp_path)
    try:
        restarted.wait_ready()
        assert all(ping(restarted.port, token) == 0 for token in acknowledged), "every acknowledged key is kept"
        assert revoke(restarted.port, kept)["errorCode"] == 0 and ping(restarted.port, kept) == 12031
    finally:
        restarted.stop()


def _damage(home: Path, how: str) -> bytes:
    write_services(home, **PERMANENT)
    proc = ServeProcess(home)
    proc.wait_ready()
    with RawConnection(proc.port) as conn:
        api_key(conn)
    proc.stop()
    db = home / "data" / "kit.sqlite3"
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    if how == "corrupt":
        data[100:4096] = bytes((n * 37 + 11) % 256 for n in range(3996))
    elif how == "not-sqlite":
        data = bytearray(b"this is not a database\n" * 100)
    else:
        data = bytearray()
    db.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize("how", ["corrupt", "not-sqlite", "empty"])
def test_a_damaged_database_stops_the_start_with_one_short_message(tmp_path: Path, how: str) -> None:
    before = _damage(tmp_path, how)
    proc = ServeProcess(tmp_path)
    code, out, err = proc.finish(timeout=30)
    db = tmp_path / "data" / "kit.sqlite3"
    assert code == 1 and out == ""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(db) in err and "Restore" in err and "move it aside" in err, err
    assert db.read_bytes() == before, "the file is left as it was"
    assert not any(p.name.startswith("kit.sqlite3.new") for p in db.parent.iterdir())


def test_a_fresh_home_is_created_whole(tmp_path: Path) -> None:
    """The kit itself never leaves an empty kit.sqlite3 behind: it builds a new one aside and renames it."""
    proc = ServeProcess(tmp_path)
    proc.wait_ready()
    proc.stop()
    db = tmp_path / "data" / "kit.sqlite3"
    assert db.stat().st_size > 0 and oct(db.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith("kit.sqlite3.new")) == []
