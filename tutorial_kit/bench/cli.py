"""``python -m tutorial_kit.bench``: run every measurement, print the table, write the JSON."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import procs
from .homes import make_home
from .measure import (
    background_start,
    background_start_uncompiled,
    inprocess_start,
    live_sessions_series,
    request_cost,
    spawn_ratios,
)
from .procs import cpu_clock_name
from .report import format_report, machine_info, targets

__all__ = ["main", "run"]

FULL = {"requests": 2000, "rounds": 10, "warmup": 500, "sizes": [100, 1000, 10000], "start_reps": 5,
        "describe_reps": 20, "ping_requests": 500, "spawn_rounds": 9}
QUICK = {"requests": 200, "rounds": 1, "warmup": 20, "sizes": [100], "start_reps": 1,
         "describe_reps": 3, "ping_requests": 20, "spawn_rounds": 1}
MAX_SECONDS = 120.0  # per measurement loop


def run(config: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    say = progress or (lambda message: None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        results: dict[str, Any] = {"machine": machine_info(cpu_clock_name()), "config": config}
        # spawned servers cache bytecode as Python does by default (in tmp: the work tree is left alone)
        procs.PYCACHE.update(prefix=str(tmp / "pycache"))
        say("request cost: ours vs bare tornado ...")
        results["request_cost"] = request_cost(tmp, requests=config["requests"], rounds=config["rounds"],
                                               warmup=config["warmup"], max_seconds=MAX_SECONDS)
        starts = {}
        for size in [0, *config["sizes"]]:
            say(f"start and restart with {size} permanent sessions ...")
            home = make_home(tmp / f"perm-{size}", permanent=size)
            starts[str(size)] = {"inprocess": inprocess_start(home, config["start_reps"]),
                                 "background": background_start(home, config["start_reps"], tmp / "background.log")}
        results["start"] = starts
        say("spawns side by side: bare `import tornado.web`, fresh start, restart with 2,000 API keys ...")
        results["spawn"] = spawn_ratios(tmp, config["spawn_rounds"])
        say("background start with the kit's modules not byte-compiled ...")
        results["start_uncompiled"] = background_start_uncompiled(tmp / "perm-0", config["start_reps"],
                                                                  tmp / "background.log")
        procs.PYCACHE.clear()
        say("live sessions ...")
        results["live_sessions"] = live_sessions_series(tmp, config["sizes"], reps=config["describe_reps"],
                                                        ping_requests=config["ping_requests"], max_seconds=MAX_SECONDS)
    results["targets"] = targets(results)
    results["elapsed_s"] = time.perf_counter() - started
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial_kit.bench", description=__doc__)
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a few requests and 100 sessions (for the smoke test)")
    parser.add_argument("--requests", type=int, help="requests per round of the request-cost comparison")
    parser.add_argument("--rounds", type=int, help="rounds of the request-cost comparison (alternating servers)")
    parser.add_argument("--sizes", help="comma-separated session counts, e.g. 100,1000,10000")
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL, quick=args.quick)
    if args.requests:
        config["requests"] = max(1, args.requests)
    if args.rounds:
        config["rounds"] = max(1, args.rounds)
    if args.sizes:
        config["sizes"] = sorted({max(2, int(s)) for s in args.sizes.split(",")})
    results = run(config, progress=lambda message: print(message, file=sys.stderr, flush=True))
    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0
