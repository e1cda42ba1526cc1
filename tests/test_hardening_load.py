"""Load: 20 keep-alive clients for a few seconds against a real ``tutorial-kit serve`` process,
pinging with tokens and describing sessions, while storms of simultaneous createSession calls
hit a small ``maxJsonApiSessionsPerUsername``.

Asserted: zero errors, every answer a correct envelope, and the limit holds exactly under the
load. Measured, not asserted: latency p50/p99 and throughput (printed with ``-s``, and recorded
as junit properties ``load_*``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from _hardening import RawConnection, ServeProcess, create_body, percentile, write_services

pytestmark = pytest.mark.slow

CLIENTS = 20
DURATION = 3.0  # seconds of load
MAX_PER_CLIENT = 20_000  # a bound on the loop even on a very fast machine
LIMIT = 4  # maxJsonApiSessionsPerUsername
STORM = 12  # simultaneous createSession calls per wave


class LoadClient(threading.Thread):
    """One keep-alive connection cycling through pingSession (token), describeSessions (all) and
    describeSessions (its own token), recording each latency."""

    def __init__(self, port: int, token: str, key: str, stop_at: float, start: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.key, self.stop_at, self.start_signal = port, token, key, stop_at, start
        self.latencies: list[float] = []
        self.errors: list[Any] = []
        self.kinds: Counter[str] = Counter()

    def run(self) -> None:
        bodies = [
            ("ping", {"action": "pingSession", "authToken": self.token, "debug": "none"}),
            ("ping-key", {"action": "pingSession", "authToken": self.key, "debug": "none"}),
            ("describe", {"action": "describeSessions", "authToken": self.token, "debug": "none"}),
            ("describe-own", {"action": "describeSessions", "authToken": self.key, "debug": "none",
                              "params": {"authTokens": [self.key]}}),
        ]
        self.start_signal.wait(timeout=30)
        try:
            with RawConnection(self.port, timeout=30) as conn:
                for n in range(MAX_PER_CLIENT):
                    if time.monotonic() >= self.stop_at:
                        break
                    kind, body = bodies[n % len(bodies)]
                    started = time.perf_counter()
                    status, answer = conn.post(body)
                    self.latencies.append(time.perf_counter() - started)
                    self.kinds[kind] += 1
                    if status != 200 or answer["errorCode"] != 0 or "result" not in answer:
                        self.errors.append((kind, status, answer))
                    elif kind == "describe-own" and [s["authToken"] for s in answer["result"]["sessions"]] != [
                        self.key
                    ]:
                        self.errors.append((kind, "wrong sessions", answer))
        except Exception as exc:  # noqa: BLE001 - any failure is an error of the load run
            self.errors.append(("exception", repr(exc)))


def storm(port: int, count: int, **params: Any) -> list[dict[str, Any]]:
    """``count`` createSession calls released at the same moment, each on its own connection."""
    conns = [RawConnection(port, timeout=30) for _ in range(count)]
    barrier = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def fire(index: int) -> None:
        body = create_body("storm", "storm-pw", permanentSession=index % 2 == 0, description=f"storm {index}", **params)
        barrier.wait(timeout=10)
        answers[index] = conns[index].post(body)[1]

    threads = [threading.Thread(target=fire, args=(n,), daemon=True) for n in range(count)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for conn in conns:
            conn.close()
    assert all(a is not None for a in answers)
    return answers


def test_twenty_keep_alive_clients_and_login_storms(tmp_path: Path, record_property: Any) -> None:
    write_services(tmp_path, enablePermanentJsonApiSessions=True, maxJsonApiSessionsPerUsername=LIMIT)
    serve = ServeProcess(tmp_path)
    try:
        serve.wait_ready()
        with RawConnection(serve.port) as conn:
            admin = conn.post(create_body())[1]["authToken"]
            key = conn.post(create_body(permanentSession=True))[1]["authToken"]
            made = conn.post({"action": "createAccount", "authToken": admin, "debug": "none",
                              "params": {"username": "storm", "password": "storm-pw"}})[1]
            assert made["errorCode"] == 0, made

        go = threading.Event()
        stop_at = time.monotonic() + DURATION
        clients = [LoadClient(serve.port, admin, key, stop_at, go) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        go.set()

        time.sleep(0.3)  # the load is running
        first = storm(serve.port, STORM)
        codes = Counter(a["errorCode"] for a in first)
        assert codes == {0: LIMIT, 12015: STORM - LIMIT}, codes
        assert all("maxJsonApiSessionsPerUsername" in a["errorMessage"] for a in first if a["errorCode"] == 12015)
        winners = [a for a in first if a["errorCode"] == 0]
        # free two slots (a permanent and a temporary one when both won), then a second storm
        permanent = [a for a in winners if a["result"]["permanentSession"]]
        temporary = [a for a in winners if not a["result"]["permanentSession"]]
        freed = permanent[:1] + temporary[:1] if permanent and temporary else winners[:2]
        with RawConnection(serve.port) as conn:
            for answer in freed:
                assert conn.post({"action": "deleteSession", "authToken": answer["authToken"]})[1]["errorCode"] == 0
        second = storm(serve.port, STORM)
        codes = Counter(a["errorCode"] for a in second)
        assert codes == {0: 2, 12015: STORM - 2}, codes

        for client in clients:
            client.join(timeout=DURATION + 30)
            assert not client.is_alive()

        with RawConnection(serve.port) as conn:
            listed = conn.post({"action": "listSessions", "authToken": admin, "debug": "none",
                                "params": {"usernameFilter": ["storm"]}})[1]
        assert len(listed["result"]["sessions"]) == LIMIT  # exactly the limit, not one more
        live = {s["authToken"] for s in listed["result"]["sessions"]}
        assert live == {a["authToken"] for a in [*winners, *second] if a["errorCode"] == 0} - {
            a["authToken"] for a in freed
        }
    finally:
        code, err = serve.stop()
    assert code == 0 and "Traceback" not in err, err

    errors = [e for c in clients for e in c.errors]
    assert not errors, errors[:5]
    latencies = sorted(x for c in clients for x in c.latencies)
    kinds = sum((c.kinds for c in clients), Counter())
    assert len(latencies) >= CLIENTS and all(kinds[k] > 0 for k in ("ping", "ping-key", "describe", "describe-own"))
    p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
    rate = len(latencies) / DURATION
    for name, value in (("requests", len(latencies)), ("per_second", round(rate)), ("p50_ms", round(p50, 2)),
                        ("p99_ms", round(p99, 2)), ("max_ms", round(latencies[-1] * 1000, 2))):
        record_property(f"load_{name}", value)
    print(f"\nload: {CLIENTS} keep-alive clients for {DURATION:.0f} s, two storms of {STORM} logins: "
          f"{len(latencies)} requests ({rate:.0f}/s), 0 errors, latency p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms; {dict(kinds)}")
