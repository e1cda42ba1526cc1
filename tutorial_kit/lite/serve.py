"""A static web server for the built site, on 127.0.0.1, for the tests and the benchmark.

:class:`StaticSite` serves a folder on a free port from a thread of this process, as any static
host would (no special headers), with the MIME types the site needs and a log of every request.
:func:`site` builds the site once per process and reuses it (:func:`~.build.build_site` returns at
once when it was built from the same inputs).
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from typing import Any

from .build import SiteBuild, build_site

__all__ = ["site", "StaticSite"]


@functools.cache
def site() -> SiteBuild:
    return build_site()


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".mjs": "text/javascript", ".js": "text/javascript", ".json": "application/json",
                      ".whl": "application/zip", ".zip": "application/zip"}

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.requests.append((self.command, self.path, int(code) if str(code).isdigit() else 0))  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class StaticSite:
    """``folder`` over HTTP on 127.0.0.1; ``with StaticSite(folder) as s: s.url``."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []  # type: ignore[attr-defined]
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="lite-site", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request answered so far."""
        return self.httpd.requests  # type: ignore[attr-defined]

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=10)
