"""The kit on a real JupyterHub (issue 14): three learners, each a Unix user with their own server.

Loopback only. The hub is jupyterhub from PyPI with configurable-http-proxy from npm,
LocalProcessSpawner and the configuration in deploy/hub-test-config.py; the learners' environment
is built as deploy/tljh/install.sh builds one (tests/_hub.py). Three learners are started at once
through the hub's REST API; each opens the trainer's nbgitpuller link (lesson 1 opens in their
server), runs every lesson in their own server with no error, and cannot reach another learner's
kit server or files; when the hub stops their servers, no kit server is left.

The tests run in this file's order on one hub (module fixture); the last one stops the servers.
Without root (no useradd, no setuid spawning) the whole module skips and says why.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import _hub
from _hub import Hub, Learners, Site, kit_servers_of, processes_of
from _hub_steps import LESSON_1, open_link, run_every_lesson
from _jupyter import JupyterClient

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

LEARNERS = 3
_REASON = _hub.missing()
if _REASON is not None:
    pytestmark.append(pytest.mark.skip(reason=_REASON))


@dataclass
class Running:
    """The hub with its learners' servers started, and what happened while starting them."""

    site: Site
    learners: Learners
    hub: Hub
    loop: asyncio.AbstractEventLoop
    spawn_seconds: dict[str, float]
    clients: dict[str, JupyterClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def run(self, coroutine: object) -> object:
        return self.loop.run_until_complete(coroutine)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    site = _hub.build_site()
    site.serve_lessons()
    learners = Learners(LEARNERS).create()
    hub = Hub(site, learners, tmp_path_factory.mktemp("hub"))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        hub.start()
        loop.run_until_complete(hub.add_users())

        async def spawn_all() -> list[float]:  # at once, as a trainer's script would
            return list(await asyncio.gather(*(hub.spawn(name) for name in learners.names)))

        times = loop.run_until_complete(spawn_all())
        state = Running(site, learners, hub, loop, dict(zip(learners.names, times, strict=True)))
        for name in learners.names:
            state.tokens[name] = loop.run_until_complete(hub.learner_token(name))
            state.clients[name] = JupyterClient(f"{hub.url}/user/{name}/", state.tokens[name], timeout=180)
        yield state
        for client in state.clients.values():
            loop.run_until_complete(client.close())
    finally:
        hub.stop()
        loop.run_until_complete(hub.http.aclose())
        loop.close()
        asyncio.set_event_loop(None)
        learners.remove()
        site.close()


def test_three_learners_start_at_once_each_as_their_own_user(running: Running) -> None:
    assert sorted(running.spawn_seconds) == running.learners.names
    for name in running.learners.names:
        uid = running.learners.uid(name)
        commands = [_hub.cmdline(pid) for pid in processes_of(uid)]
        assert any("jupyterhub-singleuser" in command for command in commands), (name, commands)


def test_an_nbgitpuller_link_opens_lesson_1_in_each_learners_server(running: Running) -> None:
    async def follow_all() -> list[dict]:
        return list(
            await asyncio.gather(
                *(
                    open_link(client, running.site, running.hub.url, running.hub.password)
                    for client in running.clients.values()
                )
            )
        )

    for name, seen in zip(running.clients, running.run(follow_all()), strict=True):
        assert seen["landed"] == f"/user/{name}/git-pull", (name, seen)  # the hub sent them to their own server
        assert seen["page"] == 200 and seen["page_opens"], (name, seen)
        assert seen["last_event"].get("phase") == "finished", (name, seen["last_event"])
        assert seen["lab_tree"] == 200 and seen["lesson_1"] == 200, (name, seen)
        assert (running.learners.home(name) / LESSON_1).is_file()


def test_the_kits_jupyterlab_settings_apply_in_the_learners_servers(running: Running) -> None:
    plugin = "@jupyterlab/apputils-extension:notification"

    async def defaults(client: JupyterClient) -> dict:
        """The plugin's defaults as JupyterLab serves them: overrides.json replaces the schema's."""
        answer = await client.get(f"lab/api/settings/{plugin}")
        answer.raise_for_status()
        return {key: value.get("default") for key, value in answer.json()["schema"]["properties"].items()}

    for name, client in running.clients.items():
        seen = running.run(defaults(client))
        assert seen["fetchNews"] == "false" and seen["checkForUpdates"] is False, (name, seen)


def test_every_lesson_runs_in_each_learners_own_server(running: Running) -> None:
    async def run_all() -> list[list[str]]:
        return list(await asyncio.gather(*(run_every_lesson(client) for client in running.clients.values())))

    failures = dict(zip(running.clients, running.run(run_all()), strict=True))
    assert not any(failures.values()), json.dumps(failures, indent=1)
    for name in running.learners.names:
        record = json.loads((running.learners.home(name) / "kit" / "server-home" / "run" / "server.json").read_text())
        assert kit_servers_of(running.learners.uid(name)) == [record["pid"]], name
        assert record["owner_pid"] is not None and record["own_user_only"] is True


REACH = """
import json, socket, httpx
from pathlib import Path
other = json.loads({other!r})
out = {{}}
login = {{"action": "createSession", "params": {{"username": "ADMIN", "password": "ADMIN"}}}}
answer = httpx.post(other["url"], json=login, trust_env=False)
out["login"] = [answer.status_code, answer.json().get("errorCode"), answer.json().get("errorMessage")]
answer = httpx.post(other["url"], json={{"action": "describeSessions", "authToken": other["key"]}}, trust_env=False)
out["stolen_key"] = [answer.status_code, answer.json().get("errorCode")]
with socket.create_connection(("127.0.0.1", other["port"]), timeout=10) as sock:
    sock.sendall(("GET /api HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n").encode())
    out["websocket"] = sock.recv(100).decode(errors="replace").split("\\r\\n")[0]
for name in ("data/kit.sqlite3", "run/server.json"):
    try:
        Path(other["home"], name).read_bytes()
        out[name] = "read"
    except PermissionError:
        out[name] = "denied"
print(json.dumps(out))
"""

MAKE_KEY = """
import tutorial_kit as kit
lesson = kit.start_lesson(3)
print(lesson.client.create_session(permanent=True, description="isolation check").auth_token)
"""


def test_no_learner_can_reach_another_learners_server_keys_or_files(running: Running) -> None:
    names = running.learners.names
    notebook = f"kit/notebooks/{Path(LESSON_1).name}"
    key = running.run(running.clients[names[1]].run_code(notebook, MAKE_KEY))
    assert key.ok, key.describe()
    victim_home = running.learners.home(names[1]) / "kit" / "server-home"
    record = json.loads((victim_home / "run" / "server.json").read_text())
    other = json.dumps({"url": record["url"], "port": record["port"], "key": key.stdout.strip(),
                        "home": str(victim_home)})
    reach = running.run(running.clients[names[0]].run_code(notebook, REACH.format(other=other)))
    assert reach.ok, reach.describe()
    seen = json.loads(reach.stdout)
    assert seen["login"][:2] == [403, 12006] and f"is from {names[0]}" in seen["login"][2], seen
    assert seen["stolen_key"] == [403, 12006], seen  # even a valid API key is refused from another user
    assert seen["websocket"].startswith("HTTP/1.1 403"), seen
    assert seen["data/kit.sqlite3"] == seen["run/server.json"] == "denied", seen

    async def through_the_hub() -> list[int]:  # learner 1's hub token at learner 2's server
        intruder = JupyterClient(f"{running.hub.url}/user/{names[1]}/", running.tokens[names[0]])
        try:
            return [(await intruder.get(path)).status_code for path in ("api/kernels", "api/contents/kit")]
        finally:
            await intruder.close()

    assert all(code in (403, 404) for code in running.run(through_the_hub()))


def test_no_kit_server_is_left_after_the_hub_stops_the_learners_servers(running: Running) -> None:
    uids = {name: running.learners.uid(name) for name in running.learners.names}
    assert all(kit_servers_of(uid) for uid in uids.values()), "each learner should have a kit server by now"

    async def stop_all() -> None:
        await asyncio.gather(*(running.hub.stop_server(name) for name in uids))

    running.run(stop_all())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(processes_of(uid) for uid in uids.values()):
        time.sleep(0.2)
    left = {name: [_hub.cmdline(pid) for pid in processes_of(uid)] for name, uid in uids.items()}
    assert not any(left.values()), f"processes left after the hub stopped the servers: {left}"
