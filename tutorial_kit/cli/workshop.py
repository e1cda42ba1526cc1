"""Sub-commands beyond ``serve`` (registered by :mod:`tutorial_kit.cli.main`).

``tutorial-kit accounts create`` and ``tutorial-kit room`` are thin shells over
:mod:`tutorial_kit.workshop.roster`: they read options and the environment, call one function, and
print what happened. The administrator's password is read from an environment variable, never
from the command line (where ``ps`` and the shell history would show it), and never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._exceptions import KitError

__all__ = ["register"]

EXIT_OK, EXIT_ERROR = 0, 1


def register(commands: argparse._SubParsersAction) -> None:
    """Add the extra sub-commands to the ``tutorial-kit`` parser."""
    from . import lesson_server as cli_server

    _register_accounts(commands)
    _register_room(commands)
    cli_server.register(commands)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None,
                        help="the server's jsonAction URL, e.g. http://trainer-laptop:8080/api "
                             "(default: TUTORIAL_KIT_URL, else the kit's own running server)")
    parser.add_argument("--admin-username", default="ADMIN", help="administrator account (default ADMIN)")
    parser.add_argument("--admin-password-env", metavar="VAR", default=None,
                        help="environment variable holding the administrator's password "
                             "(default: TUTORIAL_KIT_PASSWORD, else ADMIN, a fresh kit server's password)")
    parser.add_argument("--ca-file", default=None, help="CA file (PEM) of an https server's certificate "
                                                        "(default: TUTORIAL_KIT_CA_FILE)")
    parser.add_argument("--insecure", action="store_true",
                        help="do not check an https server's certificate (a test server only)")


def _register_accounts(commands: argparse._SubParsersAction) -> None:
    accounts = commands.add_parser("accounts", help="workshop accounts on a running server")
    actions = accounts.add_subparsers(dest="accounts_command", required=True)
    create = actions.add_parser("create", help="create learner accounts and write a roster (username,password)")
    create.add_argument("--count", type=int, default=None, help="how many accounts (learner01, learner02, ...)")
    create.add_argument("--prefix", default="learner", help="start of the generated names (default learner)")
    create.add_argument("--names", type=Path, default=None, help="file of usernames, one a line (instead of --prefix)")
    create.add_argument("--roster", type=Path, required=True, help="CSV file to write (mode 0600)")
    create.add_argument("--description", default=None, help="accountDescription stored with each account")
    create.add_argument("--existing", choices=("fail", "skip", "reset"), default="fail",
                        help="a name that is taken: stop (default), skip it, or reset its password")
    create.add_argument("--force", action="store_true", help="replace an existing roster file")
    _server_options(create)
    create.set_defaults(run=_accounts_create)
    admin = actions.add_parser("admin-password", help="give ADMIN of a server home its own password (before "
                                                      "serving on the network)")
    admin.add_argument("--home", type=Path, default=Path("server-home"), help="server home (default ./server-home)")
    admin.add_argument("--password-env", metavar="VAR", default="TUTORIAL_KIT_PASSWORD",
                       help="environment variable holding the new password (default TUTORIAL_KIT_PASSWORD); "
                            "unset: asked for on the terminal")
    admin.set_defaults(run=_accounts_admin_password)


def _register_room(commands: argparse._SubParsersAction) -> None:
    room = commands.add_parser("room", help="who is logged in, who holds an API key, who revoked one")
    room.add_argument("--roster", type=Path, default=None, help="list exactly the learners of this roster")
    room.add_argument("--snapshot", type=Path, default=Path("room-snapshot.json"),
                      help="file remembering API keys (as fingerprints) between looks, to count revocations "
                           "(default room-snapshot.json; delete it after resetting the server)")
    room.add_argument("--no-snapshot", dest="snapshot", action="store_const", const=None,
                      help="do not read or write a snapshot (no revocation count)")
    room.add_argument("--watch", type=float, default=None, metavar="SECONDS",
                      help="look again every SECONDS until Ctrl-C")
    _server_options(room)
    room.set_defaults(run=_room)


def _connection(args: argparse.Namespace) -> dict[str, Any]:
    from ..workshop import roster as workshop

    return {
        "admin_username": args.admin_username,
        "admin_password": workshop.admin_password(os.environ, args.admin_password_env),
        "verify": workshop.tls_verify(os.environ, args.ca_file, args.insecure),
    }


def _fail(command: str, err: KitError) -> int:
    print(f"tutorial-kit {command}: {err}", file=sys.stderr)
    for note in getattr(err, "__notes__", ()):
        print(f"  {note}", file=sys.stderr)
    return EXIT_ERROR


def _names(args: argparse.Namespace) -> list[str]:
    from .._exceptions import KitUsageError
    from ..workshop import roster as workshop

    if args.names is None:
        if args.count is None:
            raise KitUsageError("say how many accounts with --count N, or give a --names file")
        return workshop.learner_names(args.count, args.prefix)
    names = workshop.read_names(args.names)
    if args.count is not None and args.count != len(names):
        raise KitUsageError(f"--count {args.count} but {args.names} holds {len(names)} name(s)")
    return names


def _accounts_create(args: argparse.Namespace) -> int:
    from ..workshop import roster as workshop

    try:
        url = args.url or workshop.default_url(os.environ)
        result = workshop.provision(url, _names(args), args.roster, existing=args.existing, overwrite=args.force,
                                    description=args.description or workshop.DEFAULT_DESCRIPTION, **_connection(args))
    except KitError as err:
        return _fail("accounts create", err)
    print(f"{len(result.accounts)} account(s) ready on {url}; roster: {result.roster} (readable by you only)")
    if result.skipped:
        print(f"skipped (they exist already): {', '.join(result.skipped)}")
    return EXIT_OK


def _accounts_admin_password(args: argparse.Namespace) -> int:
    import getpass

    from .._exceptions import KitUsageError
    from ..workshop import roster as workshop

    try:
        password = os.environ.get(args.password_env, "")
        if not password:
            if not sys.stdin.isatty():
                raise KitUsageError(f"set {args.password_env} to the new password (read -s {args.password_env}; "
                                    f"export {args.password_env}), or run this command in a terminal")
            password = getpass.getpass("new ADMIN password: ")
            if getpass.getpass("the same again: ") != password:
                raise KitUsageError("the two passwords differ: nothing was changed")
        path = workshop.set_admin_password(args.home, password)
    except KitError as err:
        return _fail("accounts admin-password", err)
    print(f"ADMIN's password is set ({path}); keep it in {args.password_env} for tutorial-kit accounts create")
    return EXIT_OK


def _room(args: argparse.Namespace) -> int:
    from ..workshop import room
    from ..workshop import roster as workshop

    try:
        url = args.url or workshop.default_url(os.environ)
        learners = [a.username for a in workshop.read_roster(args.roster)] if args.roster else None
        while True:
            rows = room.room(url, learners=learners, snapshot=args.snapshot, **_connection(args))
            stamp = datetime.now(UTC).strftime("%H:%M:%S UTC")
            print(f"room on {url} at {stamp}\n{room.format_room(rows)}", flush=True)
            if not args.watch:
                return EXIT_OK
            time.sleep(args.watch)
            print()
    except KitError as err:
        return _fail("room", err)
    except KeyboardInterrupt:
        return EXIT_OK
