"""Shared fixtures: a server home, an in-process server, and small helpers to talk to it.

Fixtures (all function-scoped; nothing here starts anything unless a test asks for ``server``):

``home``
    A fresh, empty server home (``tmp_path``). The first start writes ``config/services.json``.

``server``
    ``EmulatorServer(home, port=0)``, started (``start()`` returns when it can answer), stopped on
    teardown. Its URL is ``server.url``.

``post``
    ``post(target, body, *, path=None, method="POST", headers=None) -> (status, answer)``.
    ``target`` is an ``EmulatorServer`` or a URL; ``body`` a dict (sent as JSON), or ``str``/``bytes``
    (sent as they are). ``path`` replaces the URL's path (e.g. ``"/api/admin"``). ``answer`` is the
    parsed JSON body, parsed strictly (``NaN``/``Infinity`` fail the test), or ``None`` for an empty
    body. Needs no ``server``: use it with your own (module-scoped) servers.

``call``
    ``post`` bound to the ``server`` fixture: ``call(body, **kwargs) -> (status, answer)``.

``login``
    ``login(target, username="ADMIN", password="ADMIN", **params) -> authToken``; asserts success.
    ``params`` go into createSession's params (e.g. ``permanentSession=True``). Each login costs one
    scrypt check (~40 ms): reuse tokens where you can.

``other_address``
    ``"127.0.0.2"``, a second loopback source address for tests that need a request from another
    client address (per-address limits, the login throttle); skips the test where it cannot be
    bound (macOS configures only 127.0.0.1). Use it as ``httpx.HTTPTransport(local_address=...)``.

``set_defaults`` / ``enable_permanent``
    ``set_defaults(home, **values)`` writes values into ``jsonActionApiDefaults`` of
    ``<home>/config/services.json`` (the file must exist: start the server once first);
    ``enable_permanent(home, server)`` sets ``"enablePermanentJsonApiSessions": true`` and restarts
    ``server`` (same port) so the running configuration has it.

Module-scoped, for the tests that only read or only add sessions of their own:

``module_home`` / ``module_server``
    A fresh home for the test module and ``EmulatorServer(module_home, port=0)``, started once for
    the module. A module that needs a services.json of its own overrides ``module_home`` (asking
    for ``module_home`` itself) and writes it there.

``http_client``
    One ``httpx.Client`` for the module (no proxy from the environment).

``ask`` / ``admin_token``
    ``ask(body, path="/api", *, raw_utf8=False, **headers) -> answer``: POST to ``module_server``,
    asserting HTTP 200 and a JSON content type. ``body`` is a dict (JSON, ASCII-escaped unless
    ``raw_utf8``) or ``str``/``bytes`` sent as they are (lone surrogates kept). ``admin_token`` is a
    session of ADMIN on ``module_server`` (``admin_session(server, client)`` makes another).

Helpers: ``strict_json(text)``; ``ok(answer)`` and ``err(answer, code, *fragments)`` assert success,
or that error code with each fragment in its message and no ``result``; ``warnings_of(answer)``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

if TYPE_CHECKING:  # imported in the fixtures: the Pyodide run (tests/test_pyodide.py) has no tornado
    from tutorial_kit.server import EmulatorServer

Answer = tuple[int, Any]
Post = Callable[..., Answer]


def strict_json(text: str | bytes) -> Any:
    """Parse JSON as a strict client would: ``NaN``/``Infinity`` are not JSON."""

    def reject(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    return json.loads(text, parse_constant=reject)


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    """Assert that ``answer`` is a success; return it."""
    assert answer["errorCode"] == 0 and answer["errorMessage"] == "", answer
    return answer


def err(answer: dict[str, Any], code: int, *fragments: str) -> dict[str, Any]:
    """Assert error ``code``, each fragment in the message and no ``result``; return the answer."""
    assert answer["errorCode"] == code, answer
    for fragment in fragments:
        assert fragment in answer["errorMessage"], (fragment, answer["errorMessage"])
    assert "result" not in answer
    return answer


def warnings_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return answer["debugInfo"]["warnings"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def server(home: Path) -> Iterator[EmulatorServer]:
    from tutorial_kit.server import EmulatorServer

    srv = EmulatorServer(home, port=0).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def post() -> Iterator[Callable[..., Answer]]:
    client = httpx.Client(timeout=30, trust_env=False)

    def _post(target: EmulatorServer | str, body: Any, *, path: str | None = None, method: str = "POST",
              headers: dict[str, str] | None = None) -> Answer:
        url = target if isinstance(target, str) else target.url
        if path is not None:
            url = urlunsplit(urlsplit(url)._replace(path=path))
        if isinstance(body, (str, bytes)):
            content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        else:
            content = json.dumps(body).encode()
        response = client.request(method, url, content=content, headers=headers)
        return response.status_code, (strict_json(response.content) if response.content else None)

    try:
        yield _post
    finally:
        client.close()


@pytest.fixture
def call(server: EmulatorServer, post: Callable[..., Answer]) -> Callable[..., Answer]:
    def _call(body: Any, **kwargs: Any) -> Answer:
        return post(server, body, **kwargs)

    return _call


@pytest.fixture
def login(post: Callable[..., Answer]) -> Callable[..., str]:
    def _login(target: EmulatorServer | str, username: str = "ADMIN", password: str = "ADMIN", **params: Any) -> str:
        status, answer = post(target, {"action": "createSession", "debug": "none",
                                       "params": {"username": username, "password": password, **params}})
        assert status == 200 and answer["errorCode"] == 0, answer
        return answer["authToken"]

    return _login


@pytest.fixture(scope="session")
def other_address() -> str:
    address = "127.0.0.2"
    try:
        with socket.socket() as sock:
            sock.bind((address, 0))
    except OSError:
        pytest.skip(f"{address} is not a usable loopback address here")
    return address


def _set_defaults(home: Path, **values: Any) -> None:
    path = home / "config" / "services.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("jsonActionApiDefaults", {}).update(values)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def set_defaults() -> Callable[..., None]:
    return _set_defaults


@pytest.fixture
def enable_permanent() -> Callable[[Path, EmulatorServer], EmulatorServer]:
    def _enable(home: Path, server: EmulatorServer) -> EmulatorServer:
        _set_defaults(home, enablePermanentJsonApiSessions=True)
        return server.restart()

    return _enable


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2] + "-home")


@pytest.fixture(scope="module")
def module_server(module_home: Path) -> Iterator[EmulatorServer]:
    from tutorial_kit.server import EmulatorServer

    with EmulatorServer(module_home, port=0) as srv:
        yield srv


@pytest.fixture(scope="module")
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False) as client:
        yield client


def admin_session(target: EmulatorServer, client: httpx.Client) -> str:
    """The token of a new session of ADMIN on ``target`` (for module-scoped fixtures; ``login`` is per test)."""
    answer = client.post(target.url, json={"action": "createSession", "debug": "none",
                                           "params": {"username": "ADMIN", "password": "ADMIN"}})
    return ok(strict_json(answer.content))["authToken"]


@pytest.fixture(scope="module")
def admin_token(module_server: EmulatorServer, http_client: httpx.Client) -> str:
    return admin_session(module_server, http_client)


@pytest.fixture
def ask(module_server: EmulatorServer, http_client: httpx.Client) -> Callable[..., dict[str, Any]]:
    def _ask(body: Any, path: str = "/api", *, raw_utf8: bool = False, **headers: str) -> dict[str, Any]:
        if isinstance(body, (str, bytes)):
            content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        else:
            content = json.dumps(body, ensure_ascii=not raw_utf8).encode("utf-8", "surrogatepass")
        response = http_client.post(module_server.url.replace("/api", path), content=content, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        return strict_json(response.content)

    return _ask
