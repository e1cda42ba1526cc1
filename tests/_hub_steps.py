"""What a learner does on the hub, as the hub test and `make hub-figures` do it: open the trainer's
nbgitpuller link, run every lesson in their own server, and (for the figures) what it costs.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from _hub import Site, cpu_seconds, memory_mib, release_tag
from _jupyter import JupyterClient

TARGET = "kit"  # nbgitpuller's targetPath: the lessons land in ~/kit
LESSON_1 = f"{TARGET}/notebooks/01-start-here.ipynb"


def nbgitpuller_query(repo: str) -> str:
    """The query of the trainer's link (docs/jupyterhub.md): the repository, the release's tag,
    where the lessons go (~/kit) and lesson 1 to open."""
    return urlencode({"repo": repo, "branch": release_tag(), "targetPath": TARGET, "urlpath": f"lab/tree/{LESSON_1}"})


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


async def browser_login(hub_url: str, name: str, password: str) -> httpx.AsyncClient:
    """A client with the cookies a browser gets by logging in to the hub's login page as ``name``."""
    browser = httpx.AsyncClient(base_url=hub_url, timeout=120, trust_env=False, follow_redirects=True)
    form = await browser.get("/hub/login")
    form.raise_for_status()
    answer = await browser.post("/hub/login", data={"username": name, "password": password,
                                                     "_xsrf": browser.cookies.get("_xsrf", "")})
    assert answer.status_code == 200 and "/hub/login" not in str(answer.url), (answer.status_code, answer.url)
    return browser


async def open_link(client: JupyterClient, site: Site, hub_url: str, password: str, timeout: float = 120) -> dict:
    """Follow the trainer's nbgitpuller link as the learner's browser does; what each step answered.

    The learner logs in, opens the link (``HUB/hub/user-redirect/git-pull?...``), and the hub
    sends them to their own server's page, whose script reads the pull's event stream and then
    opens lesson 1; the same requests here.
    """
    name = client.base.rstrip("/").rsplit("/", 1)[1]
    query = nbgitpuller_query(site.lessons_url)
    browser = await browser_login(hub_url, name, password)
    try:
        page = await browser.get(f"/hub/user-redirect/git-pull?{query}")
    finally:
        await browser.aclose()
    api_query = urlencode({"repo": site.lessons_url, "branch": release_tag(), "targetpath": TARGET})
    events = await asyncio.wait_for(_read_events(client, api_query, timeout), timeout)
    opened = await client.get(f"lab/tree/{LESSON_1}")
    notebook = await client.get(f"api/contents/{LESSON_1}", params={"content": "0"})
    return {"landed": page.url.path, "page": page.status_code, "page_opens": f"lab/tree/{LESSON_1}" in page.text,
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
    """Per learner, while sampled: peak memory (PSS and RSS, MiB) of their processes, CPU seconds used,
    and the most CPU used in one sampling interval (cores: 1.0 is one core busy)."""

    uids: dict[str, int]
    peak_mib: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    peak_cores: dict[str, float] = field(default_factory=dict)
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_used: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    async def sample_while(self, work: asyncio.Future, every: float = 1.0) -> None:
        began = last_time = time.monotonic()
        self.cpu_start = {name: cpu_seconds(uid) for name, uid in self.uids.items()}
        last = dict(self.cpu_start)
        while not work.done():
            await asyncio.wait([work], timeout=every)
            now = time.monotonic()
            for name, uid in self.uids.items():
                self.peak_mib[name] = max(self.peak_mib.get(name, 0.0), memory_mib(uid))
                self.peak_rss_mib[name] = max(self.peak_rss_mib.get(name, 0.0), memory_mib(uid, "Rss"))
                used = cpu_seconds(uid)
                rate = max(0.0, used - last[name]) / max(now - last_time, 1e-3)
                self.peak_cores[name] = max(self.peak_cores.get(name, 0.0), rate)
                last[name] = used
            last_time = now
        self.seconds = time.monotonic() - began
        self.cpu_used = {name: cpu_seconds(uid) - self.cpu_start[name] for name, uid in self.uids.items()}
