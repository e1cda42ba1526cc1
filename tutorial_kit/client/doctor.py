"""``tutorial-kit doctor [URL]``: does this jsonAction server do what FairCom's pages document?

It replays the lesson's scenario (ping, login, the flag via listServices, an API key when the
flag is on, describeSessions with and without ``authTokens``, the key alone, deleteSession, the
key refused) and the corpus's examples that are safe on any server, and prints a table: step,
what FairCom documents, what this server answered, and whether they match. A step matches when
the answer has the documented shape, or when it has the shape this kit records for one of its
choices (the rows of ``kit_choices.py`` named in the corpus): the kit's own server passes that
way, a real FairCom server by following the pages.

Without a URL it checks the kit's embedded server in a fresh temporary home (stopped and deleted
afterwards), turning the flag on there half-way as the first lesson does. With a URL (or
``TUTORIAL_KIT_URL``) it logs in with ``TUTORIAL_KIT_USERNAME``/``TUTORIAL_KIT_PASSWORD`` and
checks certificates as the helper does (``TUTORIAL_KIT_CA_FILE``, ``TUTORIAL_KIT_VERIFY``). It
deletes every session and account it creates before it ends.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .._exceptions import KitError
from ..server.errors import BAD_TOKEN_MESSAGE, ErrorCode

if TYPE_CHECKING:  # the helper (httpx) is imported when the doctor runs: `tutorial-kit serve` builds this parser too
    from .examples import Example, Replayer
    from .kit_client import KitClient

__all__ = ["Check", "main", "register", "run_doctor", "format_table"]

MSG_BAD_TOKEN = BAD_TOKEN_MESSAGE
SEED = "https://docs.faircom.com/docs/en/UUID-43f62357-250f-e408-087b-e1f5f237eab2.html"
EXIT_OK, EXIT_DIFFERS, EXIT_ERROR = 0, 1, 2
_WIDTH = 44


@dataclass
class Check:
    """One row of the table."""

    step: str
    documented: str
    answered: str
    verdict: str  # "yes", "kit's choice", "NO", "skipped"
    rows: tuple[str, ...] = ()
    details: list[str] = field(default_factory=list)


def _summary(shape: Mapping[str, Any]) -> str:
    """A short account of a shape: the errorCode and what the answer holds."""
    code = shape.get("errorCode")
    parts = ["errorCode != 0" if shape.get("error") else f"errorCode {code}" if code is not None else "an answer"]
    for path, value in list(shape.get("values", {}).items())[:2]:
        parts.append(f"{path.removeprefix('result.')}={_short(value)}")
    if shape.get("result_keys") and len(parts) < 3:
        parts.append("result." + ", ".join(list(shape["result_keys"])[:2]))
    return "; ".join(parts)


def _short(value: Any) -> str:
    from .kit_client import mask_token

    text = mask_token(value) if isinstance(value, str) and len(value) == 64 else repr(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _answered(answer: Any) -> str:
    if not isinstance(answer, dict):
        return "no JSON answer"
    code = answer.get("errorCode")
    if code:
        return f"errorCode {code}: {str(answer.get('errorMessage', ''))[:60]}"
    result = answer.get("result")
    keys = ", ".join(list(result)[:3]) if isinstance(result, dict) else "no result"
    return f"errorCode {code}; result {keys or '{}'}"


def judge(step: str, documented: dict[str, Any], answer: Any, kit: dict[str, Any] | None = None,
          because: Sequence[str] = ()) -> Check:
    """Compare one answer with the documented shape, then with the kit's recorded choice."""
    from .examples import differences

    shape = dict(documented)
    error_expected = shape.pop("error", False)
    found = differences(shape, answer)
    if error_expected and isinstance(answer, dict) and not answer.get("errorCode"):
        found.append("errorCode is 0: the page says this is refused")
    if not found:
        return Check(step, _summary(documented), _answered(answer), "yes")
    if kit is not None:
        kit_found = differences(kit, answer)
        if not kit_found:
            return Check(step, _summary(documented), _answered(answer), "kit's choice", tuple(because))
        return Check(step, _summary(documented), _answered(answer), "NO", _rows_for(kit_found, because), kit_found)
    return Check(step, _summary(documented), _answered(answer), "NO", (), found)


def _rows_for(found: Sequence[str], because: Sequence[str]) -> tuple[str, ...]:
    """The rows a difference points at: error-code rows for a wrong errorCode, warning rows for a
    missing warning, every named row otherwise."""
    picked = {row for row in because for text in found
              if (row.startswith("error.") and text.startswith("errorCode"))
              or (row.startswith("warning.") and "warning" in text)}
    return tuple(row for row in because if row in picked) or tuple(because)


class Scenario:
    """The lesson's steps on one server, as ``username``; everything it creates it deletes."""

    def __init__(self, client: KitClient, username: str, password: str,
                 enable_flag: Callable[[], None] | None = None) -> None:
        self.client, self.username, self.password = client, username, password
        self.enable_flag = enable_flag
        self.checks: list[Check] = []
        self.flag = False

    def _add(self, *args: Any, **kwargs: Any) -> Check:
        check = judge(*args, **kwargs)
        self.checks.append(check)
        return check

    def _login(self, step: str, **params: Any) -> str | None:
        answer = self.client.call("createSession", {"username": self.username, "password": self.password, **params},
                                  auth_token=None).envelope
        values: dict[str, Any] = {"result.permanentSession": bool(params.get("permanentSession"))}
        if params.get("permanentSession"):
            values["result.idleConnectionTimeoutSeconds"] = -1
        documented = {"errorCode": 0, "top": ["authToken", "result"], "result_keys": ["authToken", "permanentSession"],
                      "values": values}
        self._add(step, documented, answer)
        token = answer.get("authToken") if isinstance(answer, dict) else None
        return token if isinstance(token, str) and token else None

    def _read_flag(self, token: str) -> None:
        answer = self.client.call("listServices", {}, auth_token=token).envelope
        self._add("listServices: the flag", {"errorCode": 0, "result_keys": ["listeners", "jsonActionApiDefaults"]},
                  answer)
        defaults = (answer.get("result") or {}).get("jsonActionApiDefaults") if isinstance(answer, dict) else None
        self.flag = isinstance(defaults, dict) and defaults.get("enablePermanentJsonApiSessions") is True
        self.checks[-1].answered += f"; enablePermanentJsonApiSessions {'on' if self.flag else 'off'}"

    def run(self) -> list[Check]:
        ping = self.client.call("pingSession", auth_token=None).envelope
        self._add("pingSession, no token", {"errorCode": 0, "values": {"result": {}}}, ping)
        token = self._login("createSession (login)")
        if token is None:
            return self.checks
        try:
            self._read_flag(token)
            if not self.flag:
                token = self._flag_off(token)
            if self.flag and token:
                self._api_key(token)
        finally:
            if token:
                self.client.call("deleteSession", auth_token=token)
        return self.checks

    def _flag_off(self, token: str | None) -> str | None:
        """Show the refusal; on the embedded server turn the flag on (restart) and log in again."""
        answer = self.client.call("createSession", {"username": self.username, "password": self.password,
                                                    "permanentSession": True}, auth_token=None).envelope
        self._add("createSession permanent, flag off", {"error": True}, answer,
                  {"errorCode": ErrorCode.PERMANENT_DISABLED}, ("error.permanent_disabled",))
        if isinstance(answer, dict) and not answer.get("errorCode") and answer.get("authToken"):
            self.client.call("deleteSession", auth_token=answer["authToken"])
        if self.enable_flag is None:
            self.checks.append(Check("API key steps", "needs the flag on", "flag off: skipped", "skipped"))
            return token
        self.client.call("deleteSession", auth_token=token)
        self.enable_flag()
        token = self._login("createSession after the restart")
        if token:
            self._read_flag(token)
        return token

    def _api_key(self, token: str) -> None:
        key = self._login("createSession permanent (API key)", permanentSession=True)
        if key is None:
            return
        deleted = False
        try:
            mine = self.client.call("describeSessions", {"authTokens": [key]}, auth_token=token).envelope
            self._add("describeSessions [the key]", {"errorCode": 0, "count": {"result.sessions": 1}, "values": {
                "result.sessions[0].authToken": key, "result.sessions[0].permanentSession": True}}, mine)
            every = self.client.call("describeSessions", auth_token=token).envelope
            check = self._add("describeSessions, no authTokens", {"errorCode": 0, "result_keys": ["sessions"]}, every)
            sessions = (every.get("result") or {}).get("sessions") if isinstance(every, dict) else None
            if not any(isinstance(s, dict) and s.get("authToken") == key for s in sessions or []):
                check.verdict, check.details = "NO", ["the account's own API key is not among its sessions"]
            alone = self.client.with_token(key).call("pingSession").envelope
            self._add("the key alone (pingSession)", {"errorCode": 0}, alone)
            gone = self.client.call("deleteSession", auth_token=key).envelope
            deleted = self._add("deleteSession of the key", {"errorCode": 0}, gone).verdict != "NO"
        finally:
            if not deleted:
                self.client.call("deleteSession", auth_token=key)
        refused = self.client.with_token(key).call("pingSession").envelope
        self._add("the key refused", {"errorCode": ErrorCode.BAD_TOKEN, "errorMessage": MSG_BAD_TOKEN}, refused)


def check_examples(replayer: Replayer, examples: Sequence[Example]) -> list[Check]:
    """Replay each example that is safe on any server and judge its answer."""
    checks: list[Check] = []
    for example in examples:
        if not example.read_only:
            continue
        outcome = replayer.run(example)
        if outcome.skipped:
            checks.append(Check(example.id, "", outcome.skipped, "skipped"))
            continue
        kit = example.expected() if example.kit else None
        checks.append(judge(example.id, example.documented, outcome.answer, kit, example.because))
    return checks


def _cell(text: str) -> str:
    return text if len(text) <= _WIDTH else text[:_WIDTH - 1] + "…"


def format_table(checks: Sequence[Check]) -> str:
    """The side-by-side table, then the differences, then the kit's choices that did not hold."""
    head = ("step", "FairCom documents", "this server answered", "match")
    width = max([len(c.step) for c in checks] + [len(head[0])])
    lines = [
        f"{head[0]:<{width}}  {head[1]:<{_WIDTH}}  {head[2]:<{_WIDTH}}  {head[3]}",
        "-" * (width + 2 * _WIDTH + 14),
    ]
    for c in checks:
        match = c.verdict + (f" ({', '.join(c.rows)})" if c.rows and c.verdict != "NO" else "")
        lines.append(f"{c.step:<{width}}  {_cell(c.documented):<{_WIDTH}}  {_cell(c.answered):<{_WIDTH}}  {match}")
    bad = [c for c in checks if c.verdict == "NO"]
    for c in bad:
        lines.append(f"\n{c.step} differs:" + "".join(f"\n  - {d}" for d in c.details))
    rows: dict[str, list[str]] = {}
    for c in bad:
        for row in c.rows:
            rows.setdefault(row, []).append(c.step)
    if rows:
        lines.append("\nKit's choices recorded in the corpus that this server does not follow:")
        lines.extend(f"  {row}: {', '.join(steps)}" for row, steps in sorted(rows.items()))
    yes, kit, no, skipped = (sum(c.verdict == v for c in checks) for v in ("yes", "kit's choice", "NO", "skipped"))
    lines.append(f"\n{len(checks)} steps: {yes} as FairCom documents, {kit} as this kit's recorded choices, "
                 f"{no} differ, {skipped} skipped.")
    return "\n".join(lines)


# --- running it ------------------------------------------------------------------------------

def _intro(url: str, embedded: bool, corpus: Path | None) -> str:
    where = "the kit's embedded server in a fresh temporary home" if embedded else url
    lines = [f"tutorial-kit doctor: checking {where} against FairCom's documentation.",
             "It creates temporary sessions, an API key (a permanent session) when the server allows one, and "
             "accounts where an example needs them, and deletes every one of them again before it ends."]
    if embedded:
        lines.append("Half-way it turns enablePermanentJsonApiSessions on in that home and restarts the server, "
                     "as the first lesson does.")
    lines.append(f"Examples: {corpus}" if corpus else
                 "No checkout here (tests/faircom_examples.json not found from this folder upwards): "
                 "the lesson scenario only.")
    return "\n".join(lines)


def run_doctor(url: str | None = None, *, env: Mapping[str, str] = os.environ, cwd: str | Path | None = None,
               out: TextIO = sys.stdout) -> int:
    """Check ``url`` (or the embedded server); print the table to ``out``; 0 when everything matches."""
    from ..workshop import roster as workshop
    from .examples import find_corpus, load_examples
    from .kit_client import KitClient

    url = url or env.get("TUTORIAL_KIT_URL", "").strip() or None
    corpus = find_corpus(cwd)
    examples = load_examples(corpus) if corpus else []
    out.write(_intro(url or "", url is None, corpus) + "\n")
    out.flush()
    username = env.get("TUTORIAL_KIT_USERNAME") or "ADMIN"
    password = workshop.admin_password(env)
    if url is not None:
        with KitClient(url, verify=workshop.tls_verify(env)) as client:
            checks = _check(client, username, password, examples, None)
    else:
        checks = _check_embedded(username, password, examples)
    out.write(format_table(checks) + "\n")
    out.flush()
    return EXIT_DIFFERS if any(c.verdict == "NO" for c in checks) else EXIT_OK


def _check(client: KitClient, username: str, password: str, examples: Sequence[Example],
           enable_flag: Callable[[], None] | None) -> list[Check]:
    from .examples import Replayer

    scenario = Scenario(client, username, password, enable_flag)
    checks = scenario.run()
    if not any(c.step == "createSession (login)" and c.verdict != "NO" for c in checks):
        return checks + [Check("FairCom's examples", "need a login", f"{username} could not log in", "skipped")]
    replayer = Replayer(client, username, password, permanent_allowed=scenario.flag)
    return checks + check_examples(replayer, examples)


def _check_embedded(username: str, password: str, examples: Sequence[Example]) -> list[Check]:
    from ..control.servicesfile import set_default
    from ..server import EmulatorServer, services_path
    from .kit_client import KitClient

    with tempfile.TemporaryDirectory(prefix="tutorial-kit-doctor-") as home:
        server = EmulatorServer(home, port=0).start()
        try:
            def enable_flag() -> None:
                set_default(services_path(Path(home)), "enablePermanentJsonApiSessions", True)
                server.restart()

            with KitClient(server.url) as client:
                return _check(client, username, password, examples, enable_flag)
        finally:
            server.stop()


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``tutorial-kit doctor`` to the command's parser."""
    doctor = commands.add_parser("doctor", help="check a jsonAction server against FairCom's documented examples")
    doctor.add_argument("url", nargs="?", default=None,
                        help="the server's jsonAction URL (default: TUTORIAL_KIT_URL, else the kit's embedded "
                             "server in a fresh temporary home)")
    doctor.add_argument("--url", dest="url_option", default=None, help="the same as the URL argument")
    doctor.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        return run_doctor(args.url_option or args.url)
    except KitError as err:
        print(f"tutorial-kit doctor: {err}", file=sys.stderr)
        return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tutorial_kit.client.doctor [URL]``: the same as ``tutorial-kit doctor``."""
    parser = argparse.ArgumentParser(prog="tutorial-kit doctor")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["doctor", *(argv if argv is not None else sys.argv[1:])])
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
