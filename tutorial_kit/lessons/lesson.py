"""A lesson's setup cell: the server it needs, a client, notes, checks and the progress list.

    import tutorial_kit as kit
    lesson = kit.start_lesson(3)

brings the server to the state lesson 3 expects (running, permanent sessions on), gives the
learner ``lesson.client`` (a :class:`KitClient` for that server, not logged in yet), makes it
the ``%%jsonaction`` magic's client, finds the lesson's keys again after a kernel restart (see
:mod:`.names`), and shows the lesson's goals and the course's progress. Against a remote server
(``TUTORIAL_KIT_URL``) the steps only its owner can do are explained.
"""

from __future__ import annotations

import html
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._exceptions import ConfigFileError, JsonActionError, KitError
from ..control.choose import AnyControl, control_from_env
from ..control.remote import RemoteControl
from ..control.status import FLAG, warning_text
from ..notebook.error_paragraph import shown_path
from ..server.config import load_config
from .browser import BROWSER_NOTES, in_browser, notes_for
from .catalog import MILESTONES, LessonInfo, lesson_info
from .checks import LessonChecks
from .feedback import Note, ProgressView
from .names import notebook_namespace, restore_names
from .progress import ProgressFile, progress_path

__all__ = ["Lesson", "start_lesson", "CHECK_SESSION_DESCRIPTION"]

log = logging.getLogger(__name__)

CHECK_SESSION_DESCRIPTION = "tutorial-kit: progress checks"
#: the terminal command that does what lesson.restart() does
RESTART_COMMAND = "tutorial-kit restart"
_AFTER_FIX = "fix it there and save the file, then run {cell}."


class Lesson(LessonChecks):
    """One lesson's handle on the server. Made by :func:`start_lesson`."""

    def __init__(self, info: LessonInfo, server: AnyControl, env: Mapping[str, str]) -> None:
        self.info = info
        self.server = server
        self.env = env
        self.remote = isinstance(server, RemoteControl)
        self.client = server.client(debug="none")
        self.notes: list[Note] = []
        self._checker_client: Any = None
        self.in_browser = in_browser(env)

    @property
    def url(self) -> str:
        """The jsonAction URL of the lesson's server (what a plain HTTP request is sent to)."""
        return self.client.url

    def browser_note(self, topic: str) -> str:
        """The line that says how ``topic`` differs in the browser; "" outside the browser."""
        return BROWSER_NOTES.get(topic, "") if self.in_browser else ""

    # --- server steps (done here, explained for a remote server) ---

    def set_flag(self, value: bool = True) -> Note:
        """Set enablePermanentJsonApiSessions in services.json (remote: say how to do it by hand)."""
        if self.remote:
            return Note(self.server.explain("set_default", FLAG, value), "warning")
        result = self.server.set_default(FLAG, value)
        return Note(result.text)

    def restart(self) -> Note:
        """Restart the server so it reads services.json again (remote: say how).

        A broken services.json raises ConfigFileError (shown as one paragraph: file, line, column,
        what to do); the server then stays stopped until the file is fixed and restart() runs again.
        """
        if self.remote:
            return Note(self.server.explain("restart"), "warning")
        try:
            self.server.restart()
        except ConfigFileError as err:
            err.add_note(_AFTER_FIX.format(cell=f"lesson.restart() again (or {RESTART_COMMAND} in a terminal)"))
            raise
        token = self.client.auth_token
        if token and not self.client.with_token(token).ping_session(check=False).ok:
            self.client.auth_token = None  # its temporary session ended: it logs in again when needed
        text = ("The server restarted and read services.json again. "
                "Temporary sessions ended; permanent sessions (API keys) are still there.")
        extra = self.browser_note("restart")
        return self._with_warnings(text + (f"\n{extra}" if extra else ""))

    def _with_warnings(self, text: str) -> Note:
        """``text``, followed by what the server warned about services.json when it started."""
        warnings = [warning_text(w) for w in self.server.status().start_warnings]
        if not warnings:
            return Note(text)
        lines = "\n".join(f"- {w}" for w in warnings)
        return Note(f"{text}\nThe server warned about services.json when it started:\n{lines}", "warning")

    def status(self) -> Any:
        """Running or not, and the flag in services.json next to the running value."""
        return self.server.status()

    def services_file(self) -> Note:
        """Where services.json is, and its jsonActionApiDefaults section as it is now."""
        if self.remote:
            return Note("services.json is on the remote server's machine, in its config folder.")
        path = self.server.services_path
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        where = f"services.json: {shown_path(path)} (open it from JupyterLab's file browser)"
        return Note(f"{where}\nIts jsonActionApiDefaults section now:", code=_defaults_section(text))

    def try_services_text(self, text: str) -> Note:
        """Check a services.json text as the server does at start, without touching the real file."""
        with tempfile.TemporaryDirectory(prefix="kit-try-") as tmp:
            path = Path(tmp) / "services.json"
            path.write_text(text, encoding="utf-8")
            try:
                load_config(path)
            except ConfigFileError as err:
                message = err.message.replace(f"{path}: ", "").replace(str(path), "services.json")
                return Note("The server would refuse to start:\n" + message, "warning")
        return Note("The server would accept this services.json.")

    def start_over(self) -> Note:
        """Give back a fresh server: no sessions, no API keys, flag off, progress cleared."""
        if self.remote:
            return Note(self.server.explain("reset"), "warning")
        self.server.reset()
        self._progress_file().path.unlink(missing_ok=True)
        self._checker_client = None
        self.client.auth_token = None  # its session went with the old server
        return Note("The server was reset: a fresh services.json, no sessions, no API keys, progress cleared.")

    # --- the kit's own check session ---

    def _progress_file(self) -> ProgressFile:
        home = None if self.remote else self.server.home
        return ProgressFile.load(progress_path(home, None if home else self.client.url))

    def _checker(self) -> Any:
        """A client with the kit's own session (one, reused) for reading the server's state."""
        seen = self._progress_file()
        if self._checker_client is None:
            self._checker_client = self.server.client(debug="none")
        client = self._checker_client
        if seen.check_token and client.with_token(seen.check_token).ping_session(check=False).ok:
            client.auth_token = seen.check_token
            return client
        client.create_session(description=CHECK_SESSION_DESCRIPTION)
        seen.check_token = client.auth_token
        seen.save()
        return client

    def learner_sessions(self) -> list[dict[str, Any]]:
        """Every session the kit can see, except its own check session."""
        checker = self._checker()
        sessions = checker.describe_sessions().result.get("sessions", [])
        return [s for s in sessions if s.get("description") != CHECK_SESSION_DESCRIPTION]

    # --- the progress list ---

    def progress(self) -> ProgressView:
        """The course's milestones: ticked by the checks the learner passed, in any lesson."""
        seen = self._progress_file()
        return ProgressView(tuple((m.label, m.lesson, m.key in seen.done) for m in MILESTONES), self.info.number)

    def find_key(self, description: str) -> str | None:
        """The token of the newest session described ``description`` on the server, or None."""
        from .names import newest_with_description

        return newest_with_description(self.learner_sessions(), description)

    def mark(self, key: str) -> None:
        """Record a milestone the learner reached (used by the checks)."""
        self._progress_file().mark(key)

    # --- display ---
    # Showing a lesson never talks to the server: it shows the lesson, its notes (made by
    # start_lesson) and the progress list, read from the progress file once per display.

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """What a notebook shows: text and HTML from one read of the progress file, no request."""
        progress = self.progress()
        return {"text/plain": self._text(progress), "text/html": self._html(progress)}

    def __repr__(self) -> str:
        return self._text(self.progress())

    def _repr_html_(self) -> str:
        return self._html(self.progress())

    def _text(self, progress: ProgressView) -> str:
        info = self.info
        lines = [f"Lesson {info.number} of 6: {info.title} (about {info.minutes} minutes)", "You will learn:"]
        lines += [f"  - {goal}" for goal in info.goals]
        lines += [repr(note) for note in self.notes]
        return "\n".join(lines + [repr(progress)])

    def _html(self, progress: ProgressView) -> str:
        info = self.info
        goals = "".join(f"<li>{html.escape(goal)}</li>" for goal in info.goals)
        notes = "".join(note._repr_html_() for note in self.notes)
        return (f"<div style='border:1px solid #ccd;border-radius:8px;padding:8px 14px'>"
                f"<h3 style='margin:4px 0'>Lesson {info.number} of 6: {html.escape(info.title)}</h3>"
                f"<div style='color:#555'>about {info.minutes} minutes</div>"
                f"<div style='margin-top:6px'>You will learn:</div><ul style='margin:2px 0'>{goals}</ul>"
                f"{notes}{progress._repr_html_()}</div>")


def _defaults_section(text: str) -> str:
    """The lines of the "jsonActionApiDefaults" object, shifted left to start at column 0."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if '"jsonActionApiDefaults"' in line), None)
    if first is None:
        return text
    indent = len(lines[first]) - len(lines[first].lstrip())
    last = next(
        (
            i
            for i in range(first + 1, len(lines))
            if lines[i].lstrip().startswith("}") and len(lines[i]) - len(lines[i].lstrip()) == indent
        ),
        len(lines) - 1,
    )
    return "\n".join(line[indent:] for line in lines[first:last + 1]).rstrip(",")


def _prepare(lesson: Lesson) -> list[Note]:
    """Bring the server to the state the lesson expects; say what was done.

    Lesson 2 starts with the flag off, unless the learner already switched it on in lesson 2 (the
    first cell run again after a kernel restart must not undo the learner's own edit).
    """
    want_on = lesson.info.number >= 3
    if lesson.info.number == 1 or (lesson.info.number == 2 and "flag_file" in lesson._progress_file().done):
        return []
    running = lesson.client.list_services().result.get("jsonActionApiDefaults", {}).get(FLAG) is True
    file_on = running
    if not lesson.remote:
        file_on = (lesson.server.status().file_defaults or {}).get(FLAG) is True
    if running == want_on and file_on == want_on:
        return []
    word = "on" if want_on else "off"
    why = ("this lesson needs permanent sessions" if want_on
           else "so that you can see the refusal before you switch them on")
    if lesson.remote:
        return [Note(f"Permanent sessions should be {word} on the shared server ({why}); "
                     "ask your trainer:\n" + lesson.server.explain("set_default", FLAG, want_on), "warning")]
    lesson.server.set_default(FLAG, want_on)
    lesson.server.restart()
    return [Note(f"Setup turned permanent sessions {word} in services.json and restarted the server ({why}).")]


def start_lesson(number: int, *, env: Mapping[str, str] | None = None) -> Lesson:
    """Set up lesson ``number``: start (or find) the server, prepare it, return the lesson.

    In a notebook it also makes the lesson's client the ``%%jsonaction`` default and sets the
    lesson's key variables that a kernel restart emptied (found on the server by description).
    """
    env = os.environ if env is None else env
    info = lesson_info(number)
    server = control_from_env(env)
    try:
        server.start()
    except ConfigFileError as err:
        err.add_note(_AFTER_FIX.format(cell="this cell again"))
        raise
    lesson = Lesson(info, server, env)
    try:
        lesson.notes = _prepare(lesson)
    except JsonActionError as err:
        lesson.notes = [Note(f"Could not prepare the server: {err}", "warning")]
    if not lesson.remote and server.status().start_warnings:
        lesson.notes.append(lesson._with_warnings("The server is running."))
    namespace = notebook_namespace()
    if namespace is not None:
        _use_in_magic(lesson.client, info.steps)
        lesson.notes += _restore(lesson, namespace)
    if lesson.in_browser:
        lesson.notes += [Note(line) for line in notes_for(number)]
    return lesson


def _restore(lesson: Lesson, namespace: Any) -> list[Note]:
    """Bring back the lesson's key variables that the notebook lost (a kernel restart)."""
    missing = {name: desc for name, desc in lesson.info.keys.items() if name not in namespace}
    if not missing:
        return []
    try:
        lines = restore_names(missing, lesson.learner_sessions(), namespace)
    except KitError as err:
        log.info("could not look for the lesson's keys: %s", err)
        return []
    if not lines:
        return []
    return [Note("Found on the server again (your variables from before):\n" + "\n".join(lines))]


def _use_in_magic(client: Any, steps: Mapping[str, str]) -> None:
    """Make ``client`` the %%jsonaction magic's default, and the lesson's names known to it."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        from ..notebook.error_paragraph import install
        from ..notebook.magic import get_magics

        magics = get_magics(get_ipython())
        magics.registry.set_current(client)
        magics.step_names = dict(steps)
        install(get_ipython())
