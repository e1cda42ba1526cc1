"""``python -m tutorial_kit.lite build [--force] | pin PYODIDE_LOCK``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .._exceptions import KitError
from .build import OUTPUT, build_site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial_kit.lite", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help=f"build the JupyterLite site into {OUTPUT}")
    build.add_argument("--force", action="store_true", help="rebuild even when the inputs did not change")
    pin = commands.add_parser("pin", help="rewrite lite/*-wheels.txt from Pyodide's lock file (maintainers)")
    pin.add_argument("lock", type=Path, help="pyodide-lock.json of the npm pyodide package")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "pin":
            from .pins import pin as write_pins

            write_pins(OUTPUT.parents[1], args.lock)
            return 0
        site = build_site(force=args.force)
    except KitError as err:
        print(f"make lite: {err}", file=sys.stderr)
        return 1
    state = f"built in {site.seconds:.0f} s" if site.built else "up to date"
    folder = site.path.relative_to(Path.cwd()) if site.path.is_relative_to(Path.cwd()) else site.path
    print(
        f"JupyterLite site {state}: {site.path} ({site.size_bytes / 2**20:.1f} MiB); "
        f"serve that folder from any static web host, e.g. python -m http.server -d {folder}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
