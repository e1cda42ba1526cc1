"""``tutorial-kit restart`` and ``tutorial-kit status``: the lesson server's controls in a terminal.

What ``lesson.restart()`` does in a cell, from JupyterLab's terminal (or any shell): stop the
background server of the server home and start it again, so that it reads ``services.json``
again. The home is the one the lessons use (``TUTORIAL_KIT_HOME``, else ``server-home/`` of the
checkout around the current folder). Against a remote server (``TUTORIAL_KIT_URL``) it says what
to do on that server's machine instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .._exceptions import ConfigFileError, KitError, RemoteServerError

__all__ = ["register"]

EXIT_OK, EXIT_ERROR, EXIT_CONFIG = 0, 1, 2


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``restart`` and ``status`` to the ``tutorial-kit`` parser."""
    for name, run, text in (("restart", _restart, "restart the lessons' server so it reads services.json again"),
                            ("status", _status, "is the lessons' server running, and with which settings")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--home", type=Path, default=None,
                             help="server home (default: TUTORIAL_KIT_HOME, else server-home/ of this checkout)")
        command.set_defaults(run=run)


def _control(args: argparse.Namespace):  # noqa: ANN202 - ServerControl or RemoteControl
    from ..control.local import ServerControl, control_from_env

    return ServerControl(args.home) if args.home is not None else control_from_env(os.environ)


def _warnings(status) -> list[str]:  # noqa: ANN001 - a ServerStatus
    from ..control.status import warning_text

    return [f"  - {warning_text(w)}" for w in status.start_warnings]


def _restart(args: argparse.Namespace) -> int:
    control = _control(args)
    try:
        control.restart()
    except RemoteServerError as err:
        print(f"tutorial-kit restart: this is a remote server.\n{err}", file=sys.stderr)
        return EXIT_ERROR
    except ConfigFileError as err:
        print(f"tutorial-kit restart: the server did not start: {err.message}\n"
              "Fix services.json there and save it, then run tutorial-kit restart again.", file=sys.stderr)
        return EXIT_CONFIG
    except KitError as err:
        print(f"tutorial-kit restart: {err}", file=sys.stderr)
        return EXIT_ERROR
    status = control.status()
    print(f"restarted: the server at {status.url} read {status.services_path} again.")
    print("Temporary sessions ended; permanent sessions (API keys) are still there.")
    lines = _warnings(status)
    if lines:
        print("The server warned about services.json when it started:", *lines, sep="\n")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    try:
        print(_control(args).status().text)
    except KitError as err:
        print(f"tutorial-kit status: {err}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
