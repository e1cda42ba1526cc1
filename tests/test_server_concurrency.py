"""Simultaneous requests: session limits are never exceeded, the login throttle counts exactly."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import strict_json
from tutorial_kit.server import EmulatorServer, services_path

LIMIT = 4
WAVE = 9


def configured_server(home: Path, **defaults: Any) -> EmulatorServer:
    EmulatorServer(home, port=0).start().stop()
    data = json.loads(services_path(home).read_text())
    data["jsonActionApiDefaults"].update(defaults)
    services_path(home).write_text(json.dumps(data, indent=2))
    return EmulatorServer(home, port=0).start()


@pytest.fixture
def limited(request: pytest.FixtureRequest, home: Path) -> Iterator[EmulatorServer]:
    srv = configured_server(home, enablePermanentJsonApiSessions=True, **request.param)
    try:
        yield srv
    finally:
        srv.stop()


async def _fire(url: str, bodies: list[dict[str, Any]], local_address: str | None = None) -> list[dict[str, Any]]:
    transport = httpx.AsyncHTTPTransport(local_address=local_address) if local_address else None
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(timeout=60, trust_env=False, limits=limits, transport=transport) as client:
        responses = await asyncio.gather(*(client.post(url, json=body) for body in bodies))
    assert all(r.status_code == 200 for r in responses)
    return [strict_json(r.content) for r in responses]


def fire(url: str, bodies: list[dict[str, Any]], local_address: str | None = None) -> list[dict[str, Any]]:
    """POST every body at once; answers in the order of ``bodies``."""
    return asyncio.run(_fire(url, bodies, local_address))


def create(username: str = "ADMIN", password: str = "ADMIN", **params: Any) -> dict[str, Any]:
    return {
        "action": "createSession",
        "debug": "none",
        "params": {"username": username, "password": password, **params},
    }


@pytest.mark.parametrize(
    "limited",
    [
        {"maxJsonApiSessions": LIMIT},
        {"maxJsonApiSessionsPerIpAddress": LIMIT},
        {"maxJsonApiSessionsPerUsername": LIMIT},
    ],
    indirect=True,
    ids=["total", "per-address", "per-username"],
)
def test_simultaneous_logins_never_exceed_the_limit(limited: EmulatorServer) -> None:
    bodies = [create(permanentSession=n % 2 == 0, description=str(n)) for n in range(WAVE)]
    answers = fire(limited.url, bodies)
    codes = Counter(a["errorCode"] for a in answers)
    assert codes == {0: LIMIT, 12015: WAVE - LIMIT}
    tokens = [a["authToken"] for a in answers if a["errorCode"] == 0]
    assert len(set(tokens)) == LIMIT
    described = fire(limited.url, [{"action": "describeSessions", "authToken": tokens[0], "debug": "none"}])[0]
    assert sorted(s["authToken"] for s in described["result"]["sessions"]) == sorted(tokens)
    # the limit holds after a restart too (the permanent ones are still counted)
    permanent = sum(1 for s in described["result"]["sessions"] if s["permanentSession"])
    limited.restart()
    answers = fire(limited.url, [create() for _ in range(LIMIT - permanent + 1)])
    assert Counter(a["errorCode"] for a in answers) == {0: LIMIT - permanent, 12015: 1}


def test_simultaneous_wrong_logins_block_after_exactly_five(server: EmulatorServer, other_address: str) -> None:
    answers = fire(server.url, [create(password=f"wrong{n}") for n in range(10)])
    assert all(a["errorCode"] == 12033 for a in answers)
    kinds = Counter("blocked" if "blocked" in a["errorMessage"] else "wrong" for a in answers)
    assert kinds == {"wrong": 5, "blocked": 5}
    # blocked now, even with the right password; another address is not
    right = fire(server.url, [create(), create()])
    assert all(a["errorCode"] == 12033 and "blocked" in a["errorMessage"] for a in right)
    other = fire(server.url, [create(), create(password="wrong")], local_address=other_address)
    assert [a["errorCode"] for a in other] == [0, 12033]
    assert "blocked" not in other[1]["errorMessage"]


def test_simultaneous_create_account_with_one_name(server: EmulatorServer) -> None:
    admin = fire(server.url, [create()])[0]["authToken"]
    names = ["alice", "ALICE", "Alice", "aLiCe"] * 2
    answers = fire(server.url, [{"action": "createAccount", "authToken": admin, "debug": "none",
                                 "params": {"username": name, "password": "pw"}} for name in names])
    assert Counter(a["errorCode"] for a in answers) == {0: 1, 12020: len(names) - 1}
    accounts = fire(server.url, [{"action": "listAccounts", "authToken": admin, "debug": "none"}])[0]
    assert len(accounts["result"]["accounts"]) == 2


def test_requests_are_answered_while_logins_hash(server: EmulatorServer) -> None:
    """Pings sent together with slow logins all get answers (hashing is off the event loop)."""
    bodies = [create() for _ in range(6)] + [
        {"action": "pingSession", "requestId": n, "debug": "none"} for n in range(30)
    ]
    answers = fire(server.url, bodies)
    assert all(a["errorCode"] == 0 for a in answers)
    assert [a["requestId"] for a in answers[6:]] == list(range(30))
