"""What a learner does on the hub, as the hub test and `make hub-figures` do it: open the trainer's
nbgitpuller link, run every lesson in their own server, and (for the figures) what it costs.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from _hub import Site, cpu_seconds, memory_mib
from _jupyter import JupyterClient

TARGET = "kit"  # nbgitpuller's targetPath: the lessons land in ~/kit
LESSON_1 = f"{TARGET}/notebooks/01-start-here.ipynb"


def nbgitpuller_query(site: Site) -> str:
    """The query of the trainer's link: repo, branch, where to put it, and lesson 1 to open."""
    return urlencode({"repo": site.lessons_url, "branch": "main", "targetPath": TARGET,
                      "urlpath": f"lab/tree/{LESSON_1}"})


async def _read_events(client: JupyterClient, query: str, timeout: float) -> list[dict]:
    """Read the pull's event stream (what the link's page does in the browser) to its last event."""
    events: list[dict] = []
    async with client.http.stream("GET", f"git-pull/api?{query}", timeout=timeout) as answer:
        answer.raise_for_status()
        async for line in answer.aiter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if events[-1].get("phase") in ("finished", "error"):
                    break
    return events


async def open_link(client: JupyterClient, site: Site, timeout: float = 120) -> dict:
    """Follow the nbgitpuller link in a learner's server; what each step answered."""
    query = nbgitpuller_query(site)
    page = await client.get(f"git-pull?{query}")
    api_query = urlencode({"repo": site.lessons_url, "branch": "main", "targetpath": TARGET})
    events = await asyncio.wait_for(_read_events(client, api_query, timeout), timeout)
    opened = await client.get(f"lab/tree/{LESSON_1}")
    notebook = await client.get(f"api/contents/{LESSON_1}", params={"content": "0"})
    return {"page": page.status_code, "page_opens": f"lab/tree/{LESSON_1}" in page.text,
            "last_event": events[-1] if events else {}, "lab_tree": opened.status_code,
            "lesson_1": notebook.status_code}


async def lesson_paths(client: JupyterClient) -> list[str]:
    listing = await client.get(f"api/contents/{TARGET}/notebooks")
    listing.raise_for_status()
    return sorted(item["path"] for item in listing.json()["content"] if item["name"].endswith(".ipynb"))


async def run_every_lesson(client: JupyterClient) -> list[str]:
    """Run each lesson's code cells in order, each lesson in a fresh kernel; the failures, described."""
    failures: list[str] = []
    for path in await lesson_paths(client):
        results = await client.run_notebook(path, await client.notebook_sources(path))
        failures += [f"{path} {result.describe()}" for result in results if not result.ok]
    return failures


@dataclass
class Usage:
    """Peak memory (PSS, MiB) of each learner's processes while sampled, and CPU seconds used."""

    uids: dict[str, int]
    peak_mib: dict[str, float] = field(default_factory=dict)
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_used: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    async def sample_while(self, work: asyncio.Future, every: float = 0.5) -> None:
        began = time.monotonic()
        self.cpu_start = {name: cpu_seconds(uid) for name, uid in self.uids.items()}
        while not work.done():
            for name, uid in self.uids.items():
                self.peak_mib[name] = max(self.peak_mib.get(name, 0.0), memory_mib(uid))
            await asyncio.wait([work], timeout=every)
        self.seconds = time.monotonic() - began
        self.cpu_used = {name: cpu_seconds(uid) - self.cpu_start[name] for name, uid in self.uids.items()}
