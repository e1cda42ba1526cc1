"""Issue 12, item 3: an answer stays within a small multiple of its request.

The attack: an unauthenticated 1 MiB ``pingSession`` whose ``requestId`` is a 62-deep nested
array (or a wide array, or a long non-ASCII string), under the default ``debug: "max"``. Before
the fix the answer copied the requestId twice, indented: 131 MiB (x131), 9 MiB and 6 MiB, and
the deep one held the server's loop for about 5 s; 8 at once took the server to 1.1 GB. Now a
requestId whose copy would not fit is refused before the action runs (12034), a
``debugInfo.request`` copy that would not fit is left out with a warning, and every answer is
at most ``answer_echo_factor`` (2) times its request plus the envelope.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _hardening import RawConnection, ServeProcess, http_request
from conftest import strict_json

MiB = 1024 * 1024


def deep_request_id(depth: int = 62) -> bytes:
    inner = ",".join(["0"] * ((MiB - 200) // 2 - depth))
    return ('{"action":"pingSession","requestId":' + "[" * depth + inner + "]" * depth + "}").encode()


def wide_request_id() -> bytes:
    return ('{"action":"pingSession","requestId":[' + ",".join(["0"] * ((MiB - 100) // 2)) + "]}").encode()


def non_ascii_request_id() -> bytes:
    return ('{"action":"pingSession","requestId":"' + "\u00e9" * ((MiB - 100) // 2) + '"}').encode()


def deep_params() -> bytes:
    inner = ",".join(["0"] * ((MiB - 200) // 2 - 62))
    return ('{"action":"pingSession","params":{"x":' + "[" * 60 + inner + "]" * 60 + "}}").encode()


ATTACKS = {"deep": deep_request_id, "wide": wide_request_id, "non-ascii": non_ascii_request_id}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    proc = ServeProcess(tmp_path_factory.mktemp("answers-home"))
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def ask(port: int, body: bytes) -> tuple[bytes, float]:
    with RawConnection(port, timeout=60) as conn:
        started = time.perf_counter()
        conn.send(http_request(body))
        status, answer = conn.read_answer()
    assert status == 200
    return answer, time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_mebibyte_request_id_is_refused_without_its_copy(served: ServeProcess, attack: str,
                                                           record_property: Any) -> None:
    body = ATTACKS[attack]()
    assert MiB - 300 < len(body) <= MiB
    answer, took = ask(served.port, body)
    record_property(f"{attack}_answer_bytes", len(answer))
    record_property(f"{attack}_seconds", round(took, 3))
    assert len(answer) <= 2 * len(body) + 4096
    envelope = strict_json(answer)
    assert envelope["errorCode"] == 12034 and "requestId" in envelope["errorMessage"], envelope["errorMessage"]
    assert len(envelope["errorMessage"].encode()) <= 256
    assert "requestId" not in envelope and envelope["debugInfo"]["request"].startswith("(left out")


def test_a_deep_structure_in_params_is_not_copied_back(served: ServeProcess) -> None:
    answer, _ = ask(served.port, deep_params())
    envelope = strict_json(answer)
    assert len(answer) < 64 * 1024 and envelope["errorCode"] == 0  # the ping itself is answered
    assert envelope["debugInfo"]["request"].startswith("(left out")
    assert any("copy of the request was left out" in w["message"] for w in envelope["debugInfo"]["warnings"])


def test_request_ids_that_fit_come_back_whole(served: ServeProcess) -> None:
    """The bound only cuts what is out of proportion: big flat ids and small structured ones come back."""
    for request_id, pad in (("r" * 300_000, 100_000), ([[n, str(n)] for n in range(1000)], 0)):
        body = json.dumps({"action": "pingSession", "requestId": request_id, "params": {"pad": "x" * pad}}).encode()
        answer, _ = ask(served.port, body)
        envelope = strict_json(answer)
        assert envelope["errorCode"] == 0 and envelope["requestId"] == request_id
        assert envelope["debugInfo"]["request"]["requestId"] == request_id
        assert len(answer) <= max(2 * len(body), 256 * 1024) + 4096
        compact = ask(
            served.port, json.dumps({"action": "pingSession", "debug": "none", "requestId": request_id}).encode()
        )
        assert strict_json(compact[0])["requestId"] == request_id


def test_eight_at_once_keep_memory_and_the_loop_in_bounds(served: ServeProcess, record_property: Any) -> None:
    """Before: 8 deep ones took the server to 1.1 GB and every other client waited seconds."""
    bodies = [deep_request_id(), wide_request_id()] * 4
    sizes: list[int] = []
    pings: list[float] = []
    done = threading.Event()

    def attack(body: bytes) -> None:
        sizes.append(len(ask(served.port, body)[0]))

    def ping() -> None:
        with RawConnection(served.port) as conn:
            while not done.is_set():
                started = time.perf_counter()
                assert conn.post({"action": "pingSession", "debug": "none"})[1]["errorCode"] == 0
                pings.append(time.perf_counter() - started)
                time.sleep(0.02)

    pinger = threading.Thread(target=ping)
    pinger.start()
    attackers = [threading.Thread(target=attack, args=(body,)) for body in bodies]
    for thread in attackers:
        thread.start()
    for thread in attackers:
        thread.join(timeout=60)
    done.set()
    pinger.join(timeout=30)
    record_property("slowest_concurrent_ping_ms", round(max(pings) * 1000))
    record_property("server_peak_rss_mb", round(peak_rss_mb(served.proc.pid)))
    assert len(sizes) == 8 and max(sizes) < 64 * 1024
    assert pings, "the concurrent client was answered"
    assert peak_rss_mb(served.proc.pid) < 600
