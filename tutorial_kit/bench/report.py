"""The machine, the targets, and the printed table."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

__all__ = ["machine_info", "targets", "format_report"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(cpu_clock: str) -> dict[str, Any]:
    import tornado

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "cores_usable": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "tornado": tornado.version,
        "platform": platform.platform(),
        "executable": sys.executable,
        "cpu_clock": {"sched": "/proc/<pid>/task/*/sched se.sum_exec_runtime",
                      "stat": "/proc/<pid>/stat utime+stime"}[cpu_clock],
        "caller_writes_bytecode": not os.environ.get("PYTHONDONTWRITEBYTECODE"),
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The design's targets, each with the measured value and whether it is met."""
    cost, starts, live, spawn = results["request_cost"], results["start"], results["live_sessions"], results["spawn"]
    small, big = str(min(int(k) for k in starts)), str(max(int(k) for k in starts))
    most = str(max(int(k) for k in live))
    fresh, restart = spawn["fresh_start"], spawn["restart"]
    first, last = starts[small], starts[big]
    rows = [
        ("pingSession cost ratio bare/ours", cost["pingSession"]["ratio_bare_over_ours"], ">=", 0.9),
        (f"in-process start, {small} permanent sessions (ms)", first["inprocess"]["start"]["median_ms"], "<", 100),
        (f"in-process restart, {small} permanent sessions (ms)", first["inprocess"]["restart"]["median_ms"], "<", 100),
        (f"background start, {small} permanent sessions (ms)", first["background"]["start"]["median_ms"], "<", 300),
        (f"background restart, {big} permanent sessions (ms)", last["background"]["restart"]["median_ms"], "<", 500),
        (f"describeSessions all, {most} live sessions (ms)", live[most]["describe_all"]["median_ms"], "<", 50),
        ("fresh start / bare tornado spawn (ratio)", fresh["ratio"], "<=", fresh["target_ratio"]),
        (f"restart, {restart['permanent_sessions']:,} keys / bare spawn (ratio)", restart["ratio"], "<=",
         restart["target_ratio"]),
    ]
    met = {">=": lambda v, lim: v >= lim, "<=": lambda v, lim: v <= lim, "<": lambda v, lim: v < lim}
    return [{"name": name, "value": value, "target": f"{op} {limit:g}", "met": met[op](value, limit)}
            for name, value, op, limit in rows]


def _f(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def _cost_lines(results: dict[str, Any]) -> list[str]:
    cfg = results["config"]
    lines = [
        f"Request cost: server CPU per request, loopback keep-alive, one connection, debug none "
        f"({cfg['requests']} requests x {cfg['rounds']} rounds each, servers alternating; medians; "
        "bare/ours = median of the rounds' ratios)",
        f"  {'':26}{'bare us':>9}{'ours us':>9}{'bare/ours':>10}  "
        f"{'bare req/s':>10}{'p50 ms':>8}{'p99 ms':>8}  {'ours req/s':>10}{'p50 ms':>8}{'p99 ms':>8}",
    ]
    for case, label in (("pingSession", "pingSession (token)"), ("describeSessions_one", "describeSessions (1 token)")):
        row = results["request_cost"][case]
        b, o = row["bare"], row["ours"]
        lines.append(
            f"  {label:26}{_f(b['cpu_us_per_request']):>9}{_f(o['cpu_us_per_request']):>9}"
            f"{_f(row['ratio_bare_over_ours'], 3):>10}  {b['throughput_rps']:>10.0f}{_f(b['p50_ms'], 3):>8}"
            f"{_f(b['p99_ms'], 3):>8}  {o['throughput_rps']:>10.0f}{_f(o['p50_ms'], 3):>8}{_f(o['p99_ms'], 3):>8}"
        )
    return lines


def _start_lines(results: dict[str, Any]) -> list[str]:
    m, starts = results["machine"], results["start"]
    sizes = sorted(starts, key=int)
    lines = ["Start and restart: call/spawn -> first answered request, ms (median of runs; first run)",
             f"  {'permanent sessions on disk':34}" + "".join(f"{int(s):>16,}" for s in sizes)]
    for kind, what, label in (
        ("inprocess", "start", "in-process start"),
        ("inprocess", "restart", "in-process restart"),
        ("background", "start", "background start (spawn)"),
        ("background", "start_cpu", "  its CPU ms until answering"),
        ("background", "stop", "background stop (SIGTERM-exit)"),
        ("background", "restart", "background restart (stop+spawn)"),
        ("background", "restart_cpu", "  new process CPU ms"),
    ):
        cells = "".join(
            f"{_f(starts[s][kind][what]['median_ms']) + ' (' + _f(starts[s][kind][what]['first_ms'], 0) + ')':>16}"
            for s in sizes
        )
        lines.append(f"  {label:34}{cells}")
    unc = results["start_uncompiled"]
    lines.append(
        f"  {'background start, kit not compiled':34}{_f(unc['median_ms']) + ' (' + _f(unc['first_ms'], 0) + ')':>16}"
        "   (its modules compiled at start: first start after an install or edit)"
    )
    lines.append("  (spawned servers cache bytecode as Python does by default, in a temporary PYTHONPYCACHEPREFIX; "
                 f"this shell {'writes' if m['caller_writes_bytecode'] else 'does not write'} bytecode)")
    return lines


def _spawn_lines(results: dict[str, Any]) -> list[str]:
    spawn = results["spawn"]
    lines = [f"Spawns side by side: {spawn['rounds']} round(s), interleaved (order rotating), after a warm-up "
             "round; ms, median (min-max); ratio = the median of each round's own server/bare",
             f"  {'':60}{'median':>8}{'min-max':>14}{'ratio':>8}{'target':>9}"]
    rows = (("bare", "bare: python -c \"" + spawn["bare"]["code"] + "\", spawn to exit"),
            ("fresh_start", "fresh start (empty home), spawn to first answer"),
            ("restart", f"restart, {spawn['restart']['permanent_sessions']:,} permanent sessions, "
                        "spawn to first answer"))
    for key, label in rows:
        row = spawn[key]
        spread = f"{_f(row['min_ms'], 0)}-{_f(row['max_ms'], 0)}"
        ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
        target = f"<= {row['target_ratio']:g}x" if "target_ratio" in row else ""
        lines.append(f"  {label:60}{_f(row['median_ms']):>8}{spread:>14}{ratio:>8}{target:>9}")
    lines.append("  (the servers start as the lessons' ServerControl starts them: python -m tutorial_kit serve "
                 "--home H --port 0 --owner-pid P --idle-timeout S, detached; the first answer is a pingSession)")
    return lines


def _live_lines(results: dict[str, Any]) -> list[str]:
    live = results["live_sessions"]
    sizes = sorted(live, key=int)
    lines = ["Live sessions (in-process server, client in the bench process)",
             f"  {'live sessions':34}" + "".join(f"{int(s):>12,}" for s in sizes)]
    for label, get in (
        ("describeSessions all, median ms", lambda r: _f(r["describe_all"]["median_ms"], 2)),
        ("describeSessions all, first ms", lambda r: _f(r["describe_all"]["first_ms"], 2)),
        ("describeSessions all, answer KB", lambda r: _f(r["describe_all"]["bytes"] / 1024, 0)),
        ("pingSession p50 ms", lambda r: _f(r["ping"]["p50_ms"], 3)),
        ("pingSession p99 ms", lambda r: _f(r["ping"]["p99_ms"], 3)),
    ):
        lines.append(f"  {label:34}" + "".join(f"{get(live[s]):>12}" for s in sizes))
    return lines


def format_report(results: dict[str, Any]) -> str:
    """The benchmark's figures as the table ``make bench`` prints."""
    m = results["machine"]
    lines = [f"machine: {m['cpu_model']}, {m['cores']} cores ({m['cores_usable']} usable), {m['python']}, "
             f"tornado {m['tornado']}, {m['platform']}", f"server CPU clock: {m['cpu_clock']}", ""]
    lines += _cost_lines(results) + [""] + _start_lines(results) + [""] + _spawn_lines(results) + [""]
    lines += _live_lines(results)
    lines += ["", "Targets (design, \"Performance targets\")"]
    for t in results["targets"]:
        lines.append(f"  {t['name']:52}{t['value']:>10.3f}  {t['target']:>7}  {'ok' if t['met'] else 'MISSED'}")
    return "\n".join(lines)
