"""Talking to a running Jupyter server as JupyterLab does: REST for sessions, a kernel's WebSocket
for running cells. Used by the `make lab` test and the JupyterHub test (where the base URL is a
learner's ``/user/NAME/`` behind the hub's proxy).

Every wait has a deadline. Messages use the Jupyter server's plain JSON WebSocket protocol (what a
client gets when it asks for no subprotocol).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect


@dataclass
class CellResult:
    """What running one cell gave: the reply's status and any error outputs (ename, evalue)."""

    index: int
    status: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok" and not self.errors

    def describe(self) -> str:
        return f"cell {self.index}: {self.status} " + "; ".join(
            f"{e.get('ename')}: {e.get('evalue')}" for e in self.errors
        )


def code_cells(notebook: Path) -> list[str]:
    """The sources of a notebook's code cells, in order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]


class JupyterClient:
    """One Jupyter server at ``base`` (``http://127.0.0.1:PORT/`` or ``.../user/NAME/``) with ``token``."""

    def __init__(self, base: str, token: str, *, timeout: float = 60) -> None:
        self.base = base.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout
        self.http = httpx.AsyncClient(base_url=self.base, headers=self.headers, timeout=timeout, trust_env=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def open_notebook(self, path: str) -> str:
        """Start a kernel for the notebook at ``path`` (relative to the server's root); return its id.

        The kernel runs in the notebook's folder, as when a learner opens it in JupyterLab.
        """
        answer = await self.http.post("api/sessions", json={"path": path, "type": "notebook", "name": Path(path).name,
                                                             "kernel": {"name": "python3"}})
        answer.raise_for_status()
        return answer.json()["kernel"]["id"]

    async def shutdown_kernel(self, kernel_id: str) -> None:
        await self.http.delete(f"api/kernels/{kernel_id}")

    async def connect(self, kernel_id: str) -> Kernel:
        ws_base = self.base.replace("http://", "ws://", 1)
        request = HTTPRequest(f"{ws_base}api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}",
                              headers=self.headers, request_timeout=self.timeout)
        return Kernel(await websocket_connect(request, max_message_size=64 * 1024 * 1024), self.timeout)

    async def notebook_sources(self, path: str) -> list[str]:
        """The code cells of the notebook at ``path``, as this server holds it."""
        answer = await self.http.get(f"api/contents/{path}", params={"type": "notebook"})
        answer.raise_for_status()
        cells = answer.json()["content"]["cells"]
        return [c["source"] for c in cells if c["cell_type"] == "code"]

    async def run_code(self, path: str, code: str) -> CellResult:
        """Run one piece of code in a new kernel for ``path``; the kernel is stopped after it."""
        (result,) = await self.run_notebook(path, [code])
        return result

    async def run_notebook(self, path: str, sources: list[str]) -> list[CellResult]:
        """Open ``path`` in a new kernel, run ``sources`` in order, stop the kernel; every cell's result."""
        kernel_id = await self.open_notebook(path)
        try:
            kernel = await self.connect(kernel_id)
            try:
                return [await kernel.execute(source, index) for index, source in enumerate(sources)]
            finally:
                kernel.close()
        finally:
            await self.shutdown_kernel(kernel_id)


class Kernel:
    """A kernel's channels over one WebSocket."""

    def __init__(self, ws: WebSocketClientConnection, timeout: float) -> None:
        self.ws = ws
        self.timeout = timeout
        self.session = uuid.uuid4().hex

    def close(self) -> None:
        self.ws.close()

    async def execute(self, code: str, index: int = 0) -> CellResult:
        """Run ``code``; wait for its reply and for the kernel to be idle again."""
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "kit-test", "session": self.session,
                  "date": datetime.now(UTC).isoformat(), "version": "5.3"}
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        await self.ws.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                                "content": content, "channel": "shell", "buffers": []}))
        status: str | None = None
        errors: list[dict[str, Any]] = []
        stdout: list[str] = []
        idle = False
        while status is None or not idle:
            raw = await asyncio.wait_for(self.ws.read_message(), self.timeout)
            if raw is None:
                raise ConnectionError(f"the kernel's WebSocket closed while cell {index} ran")
            if isinstance(raw, bytes):
                continue  # a binary message (widget buffers): nothing to check
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, body = msg["header"]["msg_type"], msg.get("content", {})
            if kind == "execute_reply":
                status = body.get("status", "?")
            elif kind == "error":
                errors.append({"ename": body.get("ename"), "evalue": body.get("evalue")})
            elif kind == "stream" and body.get("name") == "stdout":
                stdout.append(body.get("text", ""))
            elif kind == "status" and body.get("execution_state") == "idle":
                idle = True
        return CellResult(index, status, errors, "".join(stdout))
