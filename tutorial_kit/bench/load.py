"""The load process: ``python -m tutorial_kit.bench.load``, driven by JSON lines on stdin.

Each command line ``{"host", "port", "path", "body", "count", "max_seconds"}`` sends ``count``
identical POSTs over one keep-alive connection (kept per port between commands) and answers one
JSON line: requests done, wall time, latency p50/p99, errors. ``{"quit": true}`` or EOF ends it.
Running in its own process keeps the client's CPU time out of the server's.
"""

from __future__ import annotations

import json
import sys
import time

from .httpraw import RawClient, build_request

__all__ = ["run_load", "percentile"]

_OK = b'"errorCode":0,'


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def run_load(client: RawClient, path: str, body: bytes, count: int, max_seconds: float) -> dict[str, object]:
    request = build_request(client.host, client.port, path, body)
    latencies: list[int] = []
    errors, first_error, timed_out = 0, "", False
    clock = time.perf_counter_ns
    deadline = time.monotonic() + max_seconds
    started = clock()
    for i in range(count):
        t0 = clock()
        status, answer = client.roundtrip(request)
        latencies.append(clock() - t0)
        if status != 200 or _OK not in answer:
            errors += 1
            first_error = first_error or f"HTTP {status}: {answer[:300]!r}"
        if not i & 127 and time.monotonic() > deadline:
            timed_out = True
            break
    wall = (clock() - started) / 1e9
    ms = sorted(v / 1e6 for v in latencies)
    return {
        "count": len(latencies), "wall_s": wall, "throughput_rps": len(latencies) / wall if wall else 0.0,
        "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "errors": errors,
        "first_error": first_error, "timed_out": timed_out,
    }


def main() -> int:
    clients: dict[tuple[str, int], RawClient] = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("quit"):
            break
        key = (cmd["host"], cmd["port"])
        try:
            client = clients.get(key)
            if client is None:
                client = clients[key] = RawClient(*key)
            out = run_load(client, cmd["path"], cmd["body"].encode(), int(cmd["count"]), float(cmd["max_seconds"]))
        except (OSError, ValueError) as err:
            clients.pop(key, None)
            out = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps(out), flush=True)
    for client in clients.values():
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
