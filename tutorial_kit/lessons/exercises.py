"""Lesson 6: exercises the learner solves in empty cells, each with a check.

    ex = kit.lessons.Exercises(lesson)
    ex.check(1, answer_1)

A check says "done", or what is still wrong and which lesson step to revisit. It reads the
learner's answer and asks the server with the kit's own check session; it never sends anything
with the learner's client. If an answer switched the shared ``client`` to another account (as
logging in as that account with it does), the check says so and gives the client back its own
login. Solved exercises are kept in the progress file; when all are solved, the progress list
ticks the last line.
"""

from __future__ import annotations

from typing import Any

from ..client.lint import lint_request
from ..control.status import FLAG
from ..server.errors import ErrorCode
from .checks import response_to, succeeded
from .feedback import Check

__all__ = ["Exercises", "BROKEN_REQUEST", "TASKS", "CI_KEY", "READER", "LIMIT_SETTING", "LIMIT_VALUE"]

#: FairCom's createSession example with two typical mistakes (exercise 3).
BROKEN_REQUEST = """{
  "api": "admin",
  "action": "createSession",
  "params": {
    "username": "ADMIN",
    "username": "ADMIN",
    "permanentSession": "true"
  }
}"""

CI_KEY = "ci-pipeline"
READER = "app-reader"
LIMIT_SETTING, LIMIT_VALUE = "maxJsonApiSessionsPerUsername", 20

TASKS = {
    1: f"Create an API key described as {CI_KEY}",
    2: "Describe that key using the key alone",
    3: "Repair a broken request",
    4: "Count the permanent sessions",
    5: f"Revoke the {CI_KEY} key",
    6: "A key that cannot administer",
    7: "Edit services.json and restart",
}

_REVISIT = {
    1: "lesson 3, step 2", 2: "lesson 4, step 2", 3: "lesson 3, steps 1 and 2", 4: "lesson 4, step 4",
    5: "lesson 5, step 1", 6: "lesson 5, step 4", 7: "lesson 2, steps 3 and 5",
}


class Exercises:
    """The checks of lesson 6, bound to a lesson's server."""

    def __init__(self, lesson: Any) -> None:
        self.lesson = lesson

    @property
    def passed(self) -> set[int]:
        """The exercises solved so far (kept on disk: a kernel restart keeps them)."""
        done = self.lesson._progress_file().done
        return {n for n in TASKS if f"exercise:{n}" in done}

    def check(self, number: int, answer: Any, *more: Any) -> Check:
        """Check exercise ``number``; ``answer`` is what its task asks you to store."""
        method = getattr(self, f"_check_{number}", None)
        if method is None:
            return Check(False, f"Exercise {number}", f"there is no exercise {number}: they are 1 to {len(TASKS)}")
        title = f"Exercise {number}: {TASKS[number]}"
        if answer is None:
            return Check(
                False, title, "your answer is still None: write it in the cell above, run it, then run this check"
            )
        problem = method(answer, *more)
        switched = self._give_client_back()
        if problem is None:
            self.lesson.mark(f"exercise:{number}")
            if self.passed >= set(TASKS):
                self.lesson.mark("exercises")
        detail = f"{problem} (revisit {_REVISIT[number]})" if problem else "well done"
        return Check(problem is None, title, detail + (f". {switched}" if switched else ""))

    # --- what the checks share ---

    def _sessions(self) -> list[dict[str, Any]]:
        return self.lesson.learner_sessions()

    def _session_of(self, token: Any) -> dict[str, Any] | None:
        return next((s for s in self._sessions() if s.get("authToken") == token), None) if token else None

    def _works(self, token: str) -> bool:
        return self.lesson._checker().with_token(token).ping_session(check=False).ok

    def _give_client_back(self) -> str:
        """If the shared client now acts as another account, log it out (it logs in again as itself)."""
        client = self.lesson.client
        session = self._session_of(client.auth_token)
        if (
            session is None
            or not client.username
            or str(session.get("username", "")).upper() == client.username.upper()
        ):
            return ""
        client.auth_token = None
        return (f"Note: your answer made `client` act as {session.get('username')}; the check gave it back its own "
                f"login ({client.username}). Use a separate KitClient for another account")

    # --- one method per exercise: None when solved, else what is wrong ---

    def _check_1(self, answer: Any) -> str | None:
        problem = succeeded(answer, "createSession")
        if problem:
            return problem
        if answer.result.get("permanentSession") is not True:
            return 'the session is temporary: add "permanentSession": true'
        if answer.result.get("description") != CI_KEY:
            return f'the description is {answer.result.get("description")!r}: set "description": "{CI_KEY}"'
        if not self._works(answer.auth_token):
            return "that key no longer works: create a new one"
        self.lesson._progress_file().label(answer.auth_token, CI_KEY)
        return None

    def _check_2(self, answer: Any) -> str | None:
        problem = response_to(answer, "describeSessions")
        if problem:
            return problem
        request = answer.request if isinstance(answer.request, dict) else {}
        used = request.get("authToken")
        if "password" in str(request) or "username" in str(request.get("params", {})):
            return "the request should carry no username or password: only the API key as authToken"
        own = self._session_of(used)
        if own is None or own.get("description") != CI_KEY:
            return (
                f"the request's authToken is not your {CI_KEY} key: use the key from exercise 1 "
                "(client.with_token(key))"
            )
        if not answer.ok:
            return f"errorCode {answer.error_code}: {answer.error_message}"
        asked = (request.get("params") or {}).get("authTokens") or []
        if used not in asked:
            return f"describe the {CI_KEY} key itself: put it in params.authTokens too"
        described = [s for s in answer.result.get("sessions", []) if s.get("authToken") == used]
        if not described or described[0].get("permanentSession") is not True:
            return f"the answer does not describe the {CI_KEY} key as a permanent session"
        self.lesson.mark("confirmed")
        return None

    def _check_3(self, answer: Any) -> str | None:
        if not isinstance(answer, dict):
            return f"store the repaired request as a dict, not {type(answer).__name__}"
        warnings = [w for w in lint_request(answer) if w.code != "missing-auth-token"]
        if warnings:
            return "still wrong: " + "; ".join(w.message for w in warnings)
        params = answer.get("params", {})
        if params.get("permanentSession") is not True:
            return 'permanentSession must be the JSON boolean true, without quotes'
        if "password" not in params:
            return "the request needs a password"
        return None

    def _check_4(self, answer: Any) -> str | None:
        if isinstance(answer, bool) or not isinstance(answer, int):
            return f"store a whole number, not {type(answer).__name__}"
        count = sum(1 for s in self._sessions() if s.get("permanentSession") is True)
        if answer != count:
            hint = "too many" if answer > count else "too few"
            return (f"{answer} is {hint}: describe every session as ADMIN and count those whose "
                    "permanentSession is true")
        return None

    def _check_5(self, answer: Any) -> str | None:
        if not isinstance(answer, str):
            return f"store the {CI_KEY} key (a string) that you revoked"
        if self.lesson._progress_file().label_of(answer) != CI_KEY:
            return f"that is not a {CI_KEY} key that exercise 1 accepted: store that key"
        if self._works(answer):
            return "that key still works: send deleteSession with it as the authToken"
        left = [s for s in self._sessions() if s.get("description") == CI_KEY and s.get("permanentSession")]
        if left:
            return f"{len(left)} more {CI_KEY} key(s) still work: revoke every one of them"
        self.lesson.mark("revoked")
        return None

    def _check_6(self, answer: Any) -> str | None:
        problem = response_to(answer, "listAccounts")
        if problem:
            return problem
        token = answer.request.get("authToken") if isinstance(answer.request, dict) else None
        session = self._session_of(token)
        if session is None or str(session.get("username", "")).lower() != READER:
            return f"send listAccounts with an API key of the {READER} account (its authToken)"
        if session.get("permanentSession") is not True:
            return f"that {READER} session is temporary: create it with permanent=True"
        if answer.error_code != ErrorCode.ADMIN_REQUIRED:
            return (
                f"expected errorCode {ErrorCode.ADMIN_REQUIRED} (administrator rights needed), got {answer.error_code}"
            )
        return None

    def _check_7(self, answer: Any) -> str | None:
        problem = succeeded(answer, "listServices")
        if problem:
            return problem
        if self.lesson.remote:
            return "this exercise needs the kit's own server: a shared server's file is its owner's to edit"
        in_file = self.lesson.server.status().file_defaults or {}
        if in_file.get(LIMIT_SETTING) != LIMIT_VALUE:
            return f'services.json does not say "{LIMIT_SETTING}": {LIMIT_VALUE} yet: edit and save the file'
        shown = answer.result.get("jsonActionApiDefaults", {}).get(LIMIT_SETTING)
        if shown != LIMIT_VALUE:
            return f"your answer shows {LIMIT_SETTING} {shown}: restart the server, then send listServices again"
        if in_file.get(FLAG) is not True:
            return f"services.json no longer says {FLAG}: true: put it back, save, restart"
        return None
