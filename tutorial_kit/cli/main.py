"""The ``tutorial-kit`` command: a thin shell over the library.

``tutorial-kit serve`` runs the embedded server in the foreground. Library errors become
messages and exit codes here, and only here.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._exceptions import ConfigFileError, HomeInUseError, KitError, KitUsageError

__all__ = ["main", "build_parser"]

#: exit codes of `tutorial-kit serve` (docs/architecture.md, "Fixed interfaces")
EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_IN_USE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutorial-kit", description="FairCom permanent-session tutorial kit")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the embedded FairCom stand-in in the foreground")
    serve.add_argument("--home", type=Path, default=Path("server-home"),
                       help="server home: config/services.json and data/ (default: ./server-home)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 opens it to the network)")
    serve.add_argument("--port", type=int, default=None,
                       help="port of the http listener (default: services.json's http8080 port; 0 = any free port)")
    _add_limit_options(serve)
    serve.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING (default) or ERROR")
    _add_lifetime_options(serve)
    serve.set_defaults(run=_serve)
    _add_more_commands(commands)
    return parser


def _add_limit_options(serve: argparse.ArgumentParser) -> None:
    """One option per server limit (``--max-connections``...), defaults from ``kit_choices``."""
    from ..server.limits import LIMIT_OPTIONS, ServerLimits

    defaults = ServerLimits()
    limits = serve.add_argument_group("limits", "what one client may take from the others (docs/security.md)")
    for name, (kind, text) in LIMIT_OPTIONS.items():
        limits.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None,
                            metavar="N", help=text.format(getattr(defaults, name)))


def _limit_values(args: argparse.Namespace) -> dict[str, Any]:
    from ..server.limits import LIMIT_OPTIONS

    return {name: getattr(args, name) for name in LIMIT_OPTIONS}


def _add_lifetime_options(serve: argparse.ArgumentParser) -> None:
    """When the server ends by itself, and who may reach it (tutorial_kit/server/lifetime.py, peers.py)."""
    serve.add_argument("--owner-pid", type=int, default=None, metavar="PID",
                       help="stop when process PID ends (the lessons give their Jupyter server's pid)")
    serve.add_argument("--idle-timeout", type=float, default=0, metavar="SECONDS",
                       help="stop after SECONDS with no request and no open WebSocket (default 0: never; "
                            "the lessons' background server uses 3600)")
    serve.add_argument("--allow-other-users", action="store_true",
                       help="on 127.0.0.1, also answer other users' programs on this machine "
                            "(by default only your own user's are answered)")


def _add_more_commands(commands: argparse._SubParsersAction) -> None:
    """Commands that live in their own modules register here."""
    from ..client import doctor
    from . import workshop as workshop_commands

    workshop_commands.register(commands)
    doctor.register(commands)


async def _serve_async(args: argparse.Namespace) -> int:
    from ..server.lifetime import Lifetime
    from ..server.runner import ServerCore

    stop = asyncio.Event()
    lifetime = None
    if args.owner_pid is not None or args.idle_timeout:
        if args.idle_timeout < 0:
            raise KitUsageError(f"--idle-timeout {args.idle_timeout:g}: give 0 (never) or a number of seconds")
        lifetime = Lifetime(on_end=lambda reason: stop.set(), owner_pid=args.owner_pid,
                            idle_timeout=args.idle_timeout or None)
    core = ServerCore(args.home, host=args.host, port=args.port, lifetime=lifetime,
                      allow_other_users=args.allow_other_users, defer_admin=True, **_limit_values(args))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await core.start()
    except BaseException:
        await core.stop()
        raise
    print(f"serving {core.url}", flush=True)
    if core.https_url and core.port is not None:
        logging.getLogger("tutorial_kit").warning("also serving %s", core.https_url)
    await stop.wait()
    await core.stop()
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve_async(args))
    except ConfigFileError as err:
        print(f"tutorial-kit serve: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except HomeInUseError as err:
        print(f"tutorial-kit serve: {err}", file=sys.stderr)
        return EXIT_IN_USE
    except OSError as err:
        port = getattr(err, "port", None)  # set by the server when binding failed
        if port is None:
            print(f"tutorial-kit serve: {err}", file=sys.stderr)
            return EXIT_ERROR
        print(f"tutorial-kit serve: cannot listen on {args.host} port {port}: {err.strerror}. "
              "Stop the other program using it, or choose another port with --port (0 picks a free one).",
              file=sys.stderr)
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(args, "log_level", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.run(args))
    except KitError as err:
        print(f"tutorial-kit {args.command}: {err}", file=sys.stderr)
        return EXIT_ERROR
