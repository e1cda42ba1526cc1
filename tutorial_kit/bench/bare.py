"""The reference: a bare tornado handler answering a constant JSON envelope.

``python -m tutorial_kit.bench.bare --bodies FILE`` serves, on 127.0.0.1 and a free port, one
plain :class:`tornado.web.RequestHandler` per path in ``FILE`` (a JSON object: path -> answer
text), each answering POST with its constant text. It prints ``serving http://127.0.0.1:PORT/api``
when ready (like ``tutorial-kit serve``) and stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from tornado import httpserver, netutil, web


class ConstantHandler(web.RequestHandler):
    def initialize(self, body: bytes) -> None:
        self.body = body

    def post(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(self.body)


async def serve(bodies: dict[str, str]) -> None:
    app = web.Application([(path, ConstantHandler, {"body": text.encode()}) for path, text in bodies.items()])
    sockets = netutil.bind_sockets(0, "127.0.0.1")
    server = httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"serving http://127.0.0.1:{sockets[0].getsockname()[1]}/api", flush=True)
    await stop.wait()
    server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial_kit.bench.bare")
    parser.add_argument("--bodies", type=Path, required=True, help="JSON object: path -> constant answer")
    args = parser.parse_args()
    asyncio.run(serve(json.loads(args.bodies.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
