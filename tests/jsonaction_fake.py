"""A tiny in-memory jsonAction server for client-side unit tests (through httpx.MockTransport).

It is not the kit's emulator: it knows just enough of the contract (envelope key order, tokens,
a few session actions) to check what the client sends and how it reads the answers.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

PASSWORD = "s3cret-pw"
URL = "http://127.0.0.1:8123/api"


def envelope(request: dict[str, Any], *, result: Any = None, code: int = 0, message: str = "",
             token: str | None = None, warnings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An envelope in the contract's key order."""
    answer: dict[str, Any] = {}
    token = token or request.get("authToken")
    if token:
        answer["authToken"] = token
    if code == 0:
        answer["result"] = {} if result is None else result
    if "requestId" in request:
        answer["requestId"] = request["requestId"]
    if warnings is not None or request.get("debug") == "max":
        answer["debugInfo"] = {"request": dict(request), "warnings": warnings or []}
    answer["errorCode"] = code
    answer["errorMessage"] = message
    return answer


class FakeServer:
    """Records every request; answers createSession/describeSessions/pingSession/deleteSession."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.requests: list[dict[str, Any]] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.transport = httpx.MockTransport(self.handle)

    def client_kwargs(self) -> dict[str, Any]:
        return {"username": "ADMIN", "password": PASSWORD, "transport": self.transport}

    def handle(self, http_request: httpx.Request) -> httpx.Response:
        self.raw.append(http_request.content)
        request = json.loads(http_request.content)
        self.requests.append(request)
        action = str(request.get("action", "")).lower()
        handler = getattr(self, f"do_{action}", self.do_other)
        return httpx.Response(200, json=handler(request))

    def _new_token(self) -> str:
        return f"T{len(self.sessions) + 1:03d}".ljust(64, "a")

    def do_createsession(self, request: dict[str, Any]) -> dict[str, Any]:
        params = request.get("params") or {}
        if "password" not in params:
            return envelope(request, code=12025, message="'password' is missing")
        if str(params.get("username", "")).upper() != "ADMIN" or params["password"] != PASSWORD:
            return envelope(request, code=12033, message="wrong username or password")
        token = self._new_token()
        permanent = params.get("permanentSession") is True
        session = {"authToken": token, "username": "ADMIN", "description": params.get("description", ""),
                   "idleConnectionTimeoutSeconds": -1 if permanent else 3600, "permanentSession": permanent}
        self.sessions[token] = session
        return envelope(request, result=dict(session), token=token)

    def _known(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if request.get("authToken") not in self.sessions:
            return envelope(request, code=12031, message="'authToken' does not match any existing session")
        return None

    def do_describesessions(self, request: dict[str, Any]) -> dict[str, Any]:
        wanted = (request.get("params") or {}).get("authTokens")
        chosen = [self.sessions[t] for t in wanted if t in self.sessions] if wanted else list(self.sessions.values())
        return self._known(request) or envelope(request, result={"sessions": chosen})

    def do_pingsession(self, request: dict[str, Any]) -> dict[str, Any]:
        return (self._known(request) if request.get("authToken") else None) or envelope(request)

    def do_deletesession(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.sessions.pop(request.get("authToken"), None) is None:
            return envelope(request, warnings=[{"code": 12031, "message": "no such session"}])
        return envelope(request)

    def do_other(self, request: dict[str, Any]) -> dict[str, Any]:
        return envelope(request, result={"action": request.get("action"), "params": request.get("params")})
