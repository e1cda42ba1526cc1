"""Crash safety: ``kill -9`` in the middle of a stream of permanent createSession calls.

A real ``tutorial-kit serve`` process takes permanent createSession calls from two client threads
back to back; the test SIGKILLs it at a different moment each round (before the first answer can
arrive, after a number of answers, after a delay), restarts it on the same home and checks that
every session whose answer arrived with errorCode 0 is there and works as an API key, and that the
SQLite file passes ``PRAGMA integrity_check``. ``test_server_process.py`` kills the server after
the answers are in; here the kill lands while requests are in flight.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from _hardening import RawConnection, ServeProcess, create_body, write_services

pytestmark = pytest.mark.slow

STREAMS = 2
#: when each round's kill comes: ("delay", seconds after the stream starts) or ("answers", count)
KILL_MOMENTS = [("delay", 0.03), ("answers", 7), ("delay", 0.45)]
ROUND_DEADLINE = 10.0  # seconds a round may stream before the kill at the latest


class Stream(threading.Thread):
    """Sends permanent createSession calls on one keep-alive connection until the server dies."""

    def __init__(self, port: int, label: str, acked: list[tuple[str, str]], lock: threading.Lock,
                 go: threading.Event) -> None:
        super().__init__(daemon=True, name=f"stream-{label}")
        self.port, self.label, self.acked, self.lock, self.go = port, label, acked, lock, go
        self.sent = 0
        self.unexpected: list[Any] = []

    def run(self) -> None:
        try:
            conn = RawConnection(self.port, timeout=ROUND_DEADLINE + 5)
        except OSError:
            return
        self.go.wait(timeout=ROUND_DEADLINE)
        deadline = time.monotonic() + ROUND_DEADLINE + 2
        with conn:
            while time.monotonic() < deadline:
                description = f"{self.label}-{self.sent}"
                try:
                    self.sent += 1
                    status, answer = conn.post(create_body(permanentSession=True, description=description))
                except (OSError, ValueError):  # killed: reset, closed, or half an answer
                    return
                if status != 200 or answer.get("errorCode") != 0:
                    self.unexpected.append(answer)
                    return
                with self.lock:
                    self.acked.append((answer["authToken"], description))


def integrity_ok(home: Path) -> None:
    conn = sqlite3.connect(home / "data" / "kit.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


def stored_sessions(home: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(home / "data" / "kit.sqlite3")
    try:
        return {token: json.loads(settings) for token, settings in
                conn.execute("SELECT token, settings FROM permanent_sessions")}
    finally:
        conn.close()


def check_all_present(url_port: int, acked: list[tuple[str, str]]) -> None:
    """Every acknowledged session exists, is permanent, has its description, and works as a key."""
    with RawConnection(url_port) as conn:
        _, admin = conn.post(create_body())
        assert admin["errorCode"] == 0, admin
        tokens = [token for token, _ in acked]
        if not tokens:  # an empty authTokens is no filter (FairCom's default is []): nothing to check
            conn.post({"action": "deleteSession", "authToken": admin["authToken"]})
            return
        _, described = conn.post({"action": "describeSessions", "authToken": admin["authToken"], "debug": "none",
                                  "params": {"authTokens": tokens}})
        found = described["result"]["sessions"]
        assert [s["authToken"] for s in found] == tokens, "acknowledged sessions are missing after the crash"
        assert [s["description"] for s in found] == [d for _, d in acked]
        assert all(s["permanentSession"] and s["idleConnectionTimeoutSeconds"] == -1 for s in found)
        for token, description in acked:  # each key works on its own
            _, own = conn.post({"action": "describeSessions", "authToken": token, "debug": "none",
                                "params": {"authTokens": [token]}})
            assert own["errorCode"] == 0 and own["result"]["sessions"][0]["description"] == description, own
        conn.post({"action": "deleteSession", "authToken": admin["authToken"]})


def test_sigkill_in_the_middle_of_permanent_create_sessions_loses_no_acknowledged_one(tmp_path: Path) -> None:
    home = tmp_path
    write_services(home, enablePermanentJsonApiSessions=True, maxJsonApiSessions=100_000,
                   maxJsonApiSessionsPerIpAddress=100_000, maxJsonApiSessionsPerUsername=100_000)
    acked: list[tuple[str, str]] = []
    figures = []
    for round_no, (kind, amount) in enumerate(KILL_MOMENTS):
        serve = ServeProcess(home)
        try:
            serve.wait_ready()
            check_all_present(serve.port, acked)  # everything from the earlier rounds survived
            lock, go = threading.Lock(), threading.Event()
            this_round: list[tuple[str, str]] = []
            streams = [Stream(serve.port, f"r{round_no}s{n}", this_round, lock, go) for n in range(STREAMS)]
            for stream in streams:
                stream.start()
            go.set()
            started = time.monotonic()
            if kind == "delay":
                time.sleep(amount)
            else:
                while len(this_round) < amount and time.monotonic() - started < ROUND_DEADLINE:
                    time.sleep(0.001)
            serve.kill9()
            killed_at = time.monotonic() - started
            for stream in streams:
                stream.join(timeout=15)
                assert not stream.is_alive()
                assert not stream.unexpected, stream.unexpected
        finally:
            if serve.proc.poll() is None:
                serve.kill9()
            serve.stop()
        sent = sum(s.sent for s in streams)
        figures.append(
            f"round {round_no}: killed after {killed_at * 1000:.0f} ms, {sent} sent, {len(this_round)} acknowledged"
        )
        integrity_ok(home)  # the file as the crash left it (SQLite replays its WAL on open)
        stored = stored_sessions(home)
        missing = [token for token, _ in this_round if token not in stored]
        assert not missing, f"round {round_no}: acknowledged but not on disk: {missing}"
        # whatever is on disk and was not acknowledged is a request that was in flight at the kill
        unacknowledged = set(stored) - {t for t, _ in acked} - {t for t, _ in this_round}
        assert len(unacknowledged) <= STREAMS
        acked.extend(this_round)
        acked.extend((token, stored[token]["description"]) for token in sorted(unacknowledged))
    print("\n" + "\n".join(figures))
    assert sum(1 for _, d in acked if d.startswith("r1")) >= KILL_MOMENTS[1][1]

    serve = ServeProcess(home)  # the final restart: everything is still there, then a clean stop
    try:
        serve.wait_ready()
        check_all_present(serve.port, acked)
    finally:
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err
    integrity_ok(home)
    assert len(stored_sessions(home)) == len(acked)
