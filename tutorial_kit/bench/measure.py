"""The measurements, one function each. Every loop is bounded in count and in time."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..control.process import terminate
from ..control.servicesfile import set_default
from ..control.spawn import spawn_server
from ..server.kit_choices import choice
from ..server.runner import EmulatorServer, services_path
from . import procs
from .homes import add_live_sessions, make_home
from .httpraw import RawClient
from .load import percentile
from .procs import LoadWorker, ServerProcess, bare_argv, clean_env, ours_argv, wait_exact

__all__ = ["request_cost", "inprocess_start", "background_start", "background_start_uncompiled",
           "spawn_ratios", "live_sessions_series", "SPAWN_SESSIONS", "BARE_SPAWN_CODE"]

_HOST = "127.0.0.1"
_PING = b'{"api": "admin", "action": "pingSession", "debug": "none"}'


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _login(client: RawClient) -> str:
    status, body = client.request("/api", _dumps({"api": "admin", "action": "createSession", "debug": "none",
                                                  "params": {"username": "ADMIN", "password": "ADMIN"}}))
    answer = json.loads(body)
    if status != 200 or answer.get("errorCode") != 0:
        raise RuntimeError(f"createSession failed: HTTP {status} {body[:300]!r}")
    return answer["authToken"]


def _first_answer(port: int, timeout: float = 30.0) -> None:
    """One pingSession on a fresh connection; raises unless it is answered with errorCode 0."""
    with RawClient(_HOST, port, timeout=timeout) as client:
        status, body = client.request("/api", _PING)
    if status != 200 or b'"errorCode":0' not in body:
        raise RuntimeError(f"the server answered HTTP {status} {body[:300]!r}")


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _summary(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    return {"median_ms": statistics.median(ordered), "min_ms": ordered[0], "max_ms": ordered[-1],
            "first_ms": values_ms[0], "runs": len(values_ms)}


# --- request cost: ours vs a bare tornado handler, server CPU per request ---------------------


def _cost_cases(client: RawClient) -> dict[str, tuple[str, dict[str, Any]]]:
    """The two measured requests, each on its own path so the bare server can answer it in kind."""
    token = _login(client)
    return {
        "pingSession": ("/api/ping", {"api": "admin", "action": "pingSession", "authToken": token, "debug": "none"}),
        "describeSessions_one": ("/api/describe", {"api": "admin", "action": "describeSessions", "authToken": token,
                                                   "params": {"authTokens": [token]}, "debug": "none"}),
    }


def _our_answers(client: RawClient, cases: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """Our server's answer to each case: the bare server returns the same bytes as a constant."""
    bodies = {}
    for path, request in cases.values():
        status, answer = client.request(path, _dumps(request))
        if status != 200 or b'"errorCode":0,' not in answer:
            raise RuntimeError(f"{request['action']} failed: HTTP {status} {answer[:300]!r}")
        bodies[path] = answer.decode()
    return bodies


def _measure_rounds(servers: dict[str, ServerProcess], worker: LoadWorker,
                    cases: dict[str, tuple[str, dict[str, Any]]], *, requests: int, rounds: int,
                    warmup: int, max_seconds: float) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Alternate the servers round by round; each run records its server's CPU per request."""
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {c: {"bare": [], "ours": []} for c in cases}
    for path, request in cases.values():
        for server in servers.values():
            worker.run(server.port, path, json.dumps(request), warmup, max_seconds)
    for r in range(rounds):
        for case, (path, request) in cases.items():
            for name in (("bare", "ours") if r % 2 == 0 else ("ours", "bare")):
                server = servers[name]
                before = server.cpu()
                out = worker.run(server.port, path, json.dumps(request), requests, max_seconds)
                used = server.cpu() - before
                if out["errors"]:
                    raise RuntimeError(f"{name} answered {case} with errors: {out['first_error']}")
                out["cpu_us_per_request"] = used / out["count"] * 1e6
                samples[case][name].append(out)
    return samples


def _cost_row(by_server: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per server, and the ratio bare/ours (the median of each round's own ratio)."""
    row: dict[str, Any] = {}
    for name, runs in by_server.items():
        row[name] = {
            "cpu_us_per_request": statistics.median(r["cpu_us_per_request"] for r in runs),
            "throughput_rps": statistics.median(r["throughput_rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs),
            "requests": sum(r["count"] for r in runs),
            "rounds_cpu_us": [round(r["cpu_us_per_request"], 2) for r in runs],
        }
    # each round measures both servers back to back: their ratio is steadier than a ratio of
    # medians taken minutes apart on a shared machine
    ratios = [
        b["cpu_us_per_request"] / o["cpu_us_per_request"]
        for b, o in zip(by_server["bare"], by_server["ours"], strict=True)
    ]
    row["ratio_bare_over_ours"] = statistics.median(ratios)
    row["ratio_of_medians"] = row["bare"]["cpu_us_per_request"] / row["ours"]["cpu_us_per_request"]
    row["rounds_ratio"] = [round(r, 3) for r in ratios]
    return row


def request_cost(tmp: Path, *, requests: int, rounds: int, warmup: int, max_seconds: float) -> dict[str, Any]:
    """Server CPU per request for pingSession and describeSessions(one token), ours vs bare."""
    home = make_home(tmp / "cost-home")
    servers: dict[str, ServerProcess] = {}
    worker = None
    try:
        servers["ours"] = ours = ServerProcess(ours_argv(home), log_path=tmp / "ours.log")
        with RawClient(_HOST, ours.port) as client:
            cases = _cost_cases(client)
            bodies = _our_answers(client, cases)
        bodies_file = tmp / "bare-bodies.json"
        bodies_file.write_text(json.dumps(bodies), encoding="utf-8")
        servers["bare"] = ServerProcess(bare_argv(bodies_file), log_path=tmp / "bare.log")
        worker = LoadWorker()
        samples = _measure_rounds(servers, worker, cases, requests=requests, rounds=rounds,
                                  warmup=warmup, max_seconds=max_seconds)
    finally:
        if worker is not None:
            worker.close()
        for server in servers.values():
            server.stop()
    return {case: _cost_row(by_server) for case, by_server in samples.items()}


# --- start and restart ------------------------------------------------------------------------


def inprocess_start(home: Path, reps: int) -> dict[str, Any]:
    """EmulatorServer: call to start() (or restart()) until the first request is answered."""
    starts, restarts = [], []
    for _ in range(reps):
        server = EmulatorServer(home, port=0)
        try:
            t0 = time.perf_counter()
            server.start()
            _first_answer(server.port)
            starts.append(_ms(time.perf_counter() - t0))
            t0 = time.perf_counter()
            server.restart()
            _first_answer(server.port)
            restarts.append(_ms(time.perf_counter() - t0))
        finally:
            server.stop()
    return {"start": _summary(starts), "restart": _summary(restarts)}


def background_start(home: Path, reps: int, log_path: Path) -> dict[str, Any]:
    """``python -m tutorial_kit serve``: spawn to first answer; restart = SIGTERM + spawn on the same port.

    Besides the wall time, the new process's own CPU time up to its first answer (steadier than
    wall time when other work shares the machine; it leaves out the old process's exit).
    """
    starts, restarts, start_cpu, restart_cpu, stops = [], [], [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        server = ServerProcess(ours_argv(home), log_path=log_path)
        try:
            _first_answer(server.port)
            starts.append(_ms(time.perf_counter() - t0))
            start_cpu.append(_ms(server.cpu()))
            port = server.port
            t0 = time.perf_counter()
            server.stop()
            stops.append(_ms(time.perf_counter() - t0))
            argv = ours_argv(home)
            argv[-1] = str(port)
            server = ServerProcess(argv, log_path=log_path)
            _first_answer(server.port)
            restarts.append(_ms(time.perf_counter() - t0))
            restart_cpu.append(_ms(server.cpu()))
        finally:
            server.stop()
    return {"start": _summary(starts), "restart": _summary(restarts), "stop": _summary(stops),
            "start_cpu": _summary(start_cpu), "restart_cpu": _summary(restart_cpu)}


def background_start_uncompiled(home: Path, reps: int, log_path: Path) -> dict[str, Any]:
    """Spawn to first answer when the kit's own modules have no bytecode yet and are compiled at
    start (the first start after an install or an edit, or with PYTHONDONTWRITEBYTECODE and no
    ``__pycache__``): everything else is read from the bytecode cache the other spawns filled."""
    cache = Path(procs.PYCACHE["prefix"])
    package = Path(__file__).resolve().parents[1]
    bare_cache = cache.with_name(cache.name + "-without-kit")
    shutil.rmtree(bare_cache, ignore_errors=True)
    shutil.copytree(cache, bare_cache)
    shutil.rmtree(bare_cache / package.relative_to(package.anchor), ignore_errors=True)
    saved = dict(procs.PYCACHE)
    procs.PYCACHE.update(prefix=str(bare_cache), readonly=True)
    try:
        starts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            server = ServerProcess(ours_argv(home), log_path=log_path)
            try:
                _first_answer(server.port)
                starts.append(_ms(time.perf_counter() - t0))
            finally:
                server.stop()
    finally:
        procs.PYCACHE.clear()
        procs.PYCACHE.update(saved)
    return _summary(starts)


# --- spawns side by side: a bare tornado import, a fresh start, a restart with 2,000 API keys ---

#: the reference spawn: the same Python, the same environment, importing tornado.web and exiting
BARE_SPAWN_CODE = "import tornado.web"
#: permanent sessions in the home of the measured restart
SPAWN_SESSIONS = 2000


def _bare_spawn() -> float:
    """``python -c "import tornado.web"``: spawn to exit, ms."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", BARE_SPAWN_CODE], stdin=subprocess.DEVNULL, env=clean_env())
    wait_exact(proc, 60.0)
    elapsed = _ms(time.perf_counter() - t0)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {BARE_SPAWN_CODE!r} exited with code {proc.returncode}")
    return elapsed


def _served_spawn(home: Path) -> float:
    """The lessons' server start (:func:`~tutorial_kit.control.spawn.spawn_server`, as ServerControl
    calls it: detached ``python -m tutorial_kit serve --home HOME --port 0 --owner-pid PID
    --idle-timeout S``): spawn to the first answered request, ms. The server is stopped after."""
    t0 = time.perf_counter()
    spawned = spawn_server(home, 0, env=clean_env(), log_path=home / "run" / "server.log",
                           services=services_path(home), timeout=60.0, owner_pid=os.getpid(),
                           idle_timeout=choice("serve_idle_timeout_seconds"))
    try:
        _first_answer(spawned.port)
        return _ms(time.perf_counter() - t0)
    finally:
        terminate(spawned.pid, 10.0)


def spawn_ratios(tmp: Path, reps: int) -> dict[str, Any]:
    """Interleaved, ``reps`` rounds (after one unmeasured warm-up round, which fills the bytecode
    cache): the bare spawn, a start on a fresh (empty) home, and a restart of a home holding
    :data:`SPAWN_SESSIONS` permanent sessions (permanent sessions enabled). The order rotates
    from round to round. Ratios are each round's own (server / bare, same round), then the median."""
    restart_home = make_home(tmp / f"spawn-{SPAWN_SESSIONS}", permanent=SPAWN_SESSIONS)
    set_default(services_path(restart_home), "enablePermanentJsonApiSessions", True)
    kinds: dict[str, Callable[[int], float]] = {
        "bare": lambda n: _bare_spawn(),
        "fresh_start": lambda n: _served_spawn(tmp / f"spawn-fresh-{n}"),
        "restart": lambda n: _served_spawn(restart_home),
    }
    samples: dict[str, list[float]] = {name: [] for name in kinds}
    for n in range(reps + 1):
        names = list(kinds)
        names = names[n % 3:] + names[:n % 3]
        for name in names:
            value = kinds[name](n)
            if n:  # round 0 warms the caches up
                samples[name].append(value)
    out: dict[str, Any] = {name: _summary(values) for name, values in samples.items()}
    for name, target in (("fresh_start", 1.3), ("restart", 1.5)):
        ratios = [v / b for v, b in zip(samples[name], samples["bare"], strict=True)]
        out[name].update(ratio=statistics.median(ratios),
                         ratio_of_medians=out[name]["median_ms"] / out["bare"]["median_ms"],
                         rounds_ratio=[round(r, 3) for r in ratios], target_ratio=target)
    out["bare"]["code"] = BARE_SPAWN_CODE
    out["restart"]["permanent_sessions"] = SPAWN_SESSIONS
    out["rounds"] = reps
    return out


# --- live sessions: describeSessions of all, and ping, with N sessions -------------------------


def live_sessions_series(tmp: Path, sizes: list[int], *, reps: int, ping_requests: int,
                         max_seconds: float) -> dict[str, Any]:
    """With N live sessions: describeSessions (all, debug none) round trip, and pingSession latency."""
    home = make_home(tmp / "live-home")
    out: dict[str, Any] = {}
    with EmulatorServer(home, port=0) as server, RawClient(_HOST, server.port) as client:
        token = _login(client)
        describe = _dumps({"api": "admin", "action": "describeSessions", "authToken": token, "debug": "none"})
        ping = _dumps({"api": "admin", "action": "pingSession", "authToken": token, "debug": "none"})
        live = 1
        for size in sorted(sizes):
            add_live_sessions(server, size - live, seed=size)
            live = size
            times, size_bytes = [], 0
            deadline = time.monotonic() + max_seconds
            for _ in range(reps):
                t0 = time.perf_counter()
                status, body = client.request("/api", describe)
                times.append(_ms(time.perf_counter() - t0))
                size_bytes = len(body)
                if time.monotonic() > deadline:
                    break
            answer = json.loads(body)
            if status != 200 or answer["errorCode"] != 0 or len(answer["result"]["sessions"]) != size:
                raise RuntimeError(f"describeSessions with {size} sessions went wrong: HTTP {status} {body[:300]!r}")
            pings = []
            for _ in range(ping_requests):
                t0 = time.perf_counter()
                client.request("/api", ping)
                pings.append(_ms(time.perf_counter() - t0))
                if time.monotonic() > deadline:
                    break
            pings.sort()
            out[str(size)] = {"describe_all": {**_summary(times), "bytes": size_bytes},
                              "ping": {"p50_ms": percentile(pings, 50), "p99_ms": percentile(pings, 99),
                                       "requests": len(pings)}}
    return out
