"""pytest inside Pyodide (node): the tests that make sense in the browser, and what differs there.

``run.mjs`` loads this file and calls :func:`main`. The test files are the ones that need no
socket, process or thread (the server's rules, the helper's pure parts, the browser mode itself).
A few tests state CPython-only facts; they are skipped here with the reason, listed in
:data:`DIFFERENCES` (test file::name, a fragment of the parameters or "", why).
"""

from __future__ import annotations

import sys

import pytest

FILES = (
    "tests/test_browser_mode.py",
    "tests/test_server_rules.py",
    "tests/test_lint.py",
    "tests/test_display.py",
    "tests/test_placeholders.py",
    "tests/test_servicesfile.py",
)

DIFFERENCES = (
    ("tests/test_server_rules.py::test_password_hash_format_and_verify", "",
     "checks scrypt's format; Pyodide has no scrypt, the fallback is checked in test_browser_mode.py"),
    ("tests/test_server_rules.py::test_decode_errors_give_line_column_and_what_was_expected", '{"a": 1,}',
     "Python 3.14's json module reports a trailing comma one column earlier than 3.11's"),
    ("tests/test_server_rules.py::test_values_that_are_not_usable_json_are_refused", "[[[[",
     "Python 3.14's json module parses nesting that 3.11's refuses with RecursionError"),
)


class KnownDifferences:
    """A pytest plugin that skips the tests of :data:`DIFFERENCES`, saying why."""

    @pytest.hookimpl
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            for prefix, fragment, why in DIFFERENCES:
                if item.nodeid.startswith(prefix) and fragment in item.nodeid:
                    item.add_marker(pytest.mark.skip(reason=f"in Pyodide: {why}"))


def main(args: list[str]) -> int:
    files = [f"/repo/{name}" for name in FILES]
    return int(pytest.main(["-p", "no:cacheprovider", "-o", "timeout=0", "--rootdir=/repo",
                            "-c", "/repo/pyproject.toml", "-q", *files, *args], plugins=[KnownDifferences()]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
