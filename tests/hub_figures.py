"""`make hub-figures`: what a learner costs on a JupyterHub, measured on this machine (root).

The same hub as the hub test (tests/_hub.py). Three rounds start 1, 3 and 5 learners at once
through the REST API, each learner a new Unix user (a first start, as on the morning of a
workshop), and time each until the hub says the server is ready. The learner of the first round,
alone, and the five of the last round, at the same time, then open the nbgitpuller link and run
every lesson while the memory (PSS and RSS) and CPU of each learner's processes are sampled: alone
shows what one learner asks of the machine, five at once what they get on this one. The figures
go to ``--out`` (deploy/figures.json, which docs/jupyterhub.md and the deploy recipes quote).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _hub  # noqa: E402
from _hub import Hub, Learners, kit_servers_of, memory_mib  # noqa: E402
from _hub_steps import Usage, open_link, run_every_lesson  # noqa: E402
from _jupyter import JupyterClient  # noqa: E402

ROUNDS = (1, 3, 5)


def _machine(site: _hub.Site) -> dict[str, Any]:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    versions = _hub.run([str(site.python), "-c", "import sys, jupyterhub, jupyterlab; "
                         "print(sys.version.split()[0], jupyterhub.__version__, jupyterlab.__version__)"]).split()
    return {"cpus": os.cpu_count(), "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1),
            "kernel": platform.release(), "python": versions[0], "jupyterhub": versions[1], "jupyterlab": versions[2]}


async def _spawn_round(hub: Hub, names: list[str]) -> list[float]:
    return [round(t, 2) for t in await asyncio.gather(*(hub.spawn(name) for name in names))]


async def _course(hub: Hub, learners: Learners, names: list[str], site: _hub.Site) -> dict[str, Any]:
    """Every named learner opens the link and runs every lesson at once; what it cost each."""
    clients = [JupyterClient(f"{hub.url}/user/{name}/", await hub.learner_token(name), timeout=240) for name in names]
    try:
        await asyncio.gather(*(open_link(client, site, hub.url, hub.password) for client in clients))
        usage = Usage({name: learners.uid(name) for name in names})
        work = asyncio.ensure_future(asyncio.gather(*(run_every_lesson(client) for client in clients)))
        await usage.sample_while(work)
        failures = [failure for result in work.result() for failure in result]
        if failures:
            raise SystemExit("lessons failed:\n" + "\n".join(failures))
        after = {name: round(memory_mib(learners.uid(name)), 1) for name in names}
        after_rss = {name: round(memory_mib(learners.uid(name), "Rss"), 1) for name in names}
        kit = {name: round(sum(_hub.smaps_kib(pid) for pid in kit_servers_of(learners.uid(name))) / 1024, 1)
               for name in names}
    finally:
        for client in clients:
            await client.close()
    hub_mib = sum(_hub.smaps_kib(pid) for pid in _descendants(hub.proc.pid) if pid not in _learner_pids(learners))
    return {
        "learners": len(names),
        "wall_seconds": round(usage.seconds, 1),
        "hub_and_proxy_mib": round(hub_mib / 1024, 1),
        "peak_mib": {k: round(v, 1) for k, v in usage.peak_mib.items()},
        "peak_rss_mib": {k: round(v, 1) for k, v in usage.peak_rss_mib.items()},
        "cpu_seconds": {k: round(v, 1) for k, v in usage.cpu_used.items()},
        "peak_cores": {k: round(v, 2) for k, v in usage.peak_cores.items()},
        "idle_after_mib": after,
        "idle_after_rss_mib": after_rss,
        "kit_server_mib": kit,
    }


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the hub and its proxy)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo += children.get(current, [])
    return found


def _learner_pids(learners: Learners) -> set[int]:
    return {pid for name in learners.names for pid in _hub.processes_of(learners.uid(name))}


def measure() -> dict[str, Any]:
    site = _hub.build_site()
    site.serve_lessons()
    learners = Learners(sum(ROUNDS)).create()
    hub = Hub(site, learners, Path(tempfile.mkdtemp(prefix="kit-hub-figures-")))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    spawn: dict[str, list[float]] = {}
    courses: dict[str, dict[str, Any]] = {}
    try:
        machine = _machine(site)
        hub.start()
        loop.run_until_complete(hub.add_users())
        start = 0
        for count in ROUNDS:
            names = learners.names[start:start + count]
            start += count
            spawn[str(count)] = loop.run_until_complete(_spawn_round(hub, names))
            print(f"{count} at once: ready after {spawn[str(count)]} s", flush=True)
            if count in (1, ROUNDS[-1]):  # the course alone (CPU a learner wants) and with 5 at once
                courses[str(count)] = loop.run_until_complete(_course(hub, learners, names, site))
            loop.run_until_complete(asyncio.gather(*(hub.stop_server(name) for name in names)))
    finally:
        hub.stop()
        loop.run_until_complete(hub.http.aclose())
        loop.close()
        learners.remove()
        site.close()
        shutil.rmtree(hub.workdir, ignore_errors=True)
    return {"measured_at": datetime.now(UTC).strftime("%Y-%m-%d"), "command": "make hub-figures",
            "machine": machine, "spawn_seconds": spawn, "course": courses}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    reason = _hub.missing()
    if reason:
        print(f"hub-figures: {reason}", file=sys.stderr)
        return 1
    began = time.monotonic()
    figures = measure()
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    print(f"written to {args.out} in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
