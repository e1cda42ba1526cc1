"""Lesson 6: exercises the learner solves in empty cells, each with a check.

    ex = kit.lessons.Exercises(lesson)
    ex.check(1, answer_1)

A check says "done", or what is still wrong. It reads the learner's answer and asks the server;
it never changes anything. When every exercise is done, the progress list ticks the last line.
"""

from __future__ import annotations

from typing import Any

from .._response import Response
from ..lint import lint_request
from .checks import response_to, succeeded
from .results import Check

__all__ = ["Exercises", "BROKEN_REQUEST", "TASKS"]

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

TASKS = {
    1: "Create an API key described as ci-pipeline",
    2: "Describe that key using the key alone",
    3: "Repair a broken request",
    4: "Count the permanent sessions",
    5: "Revoke the ci-pipeline key",
    6: "A key that cannot administer",
}


class Exercises:
    """The checks of lesson 6, bound to a lesson's server."""

    def __init__(self, lesson: Any) -> None:
        self.lesson = lesson
        self.passed: set[int] = set()

    def check(self, number: int, answer: Any, *more: Any) -> Check:
        """Check exercise ``number``; ``answer`` is what its task asks you to store."""
        method = getattr(self, f"_check_{number}", None)
        if method is None:
            return Check(False, f"Exercise {number}", f"there is no exercise {number}: they are 1 to {len(TASKS)}")
        title = f"Exercise {number}: {TASKS[number]}"
        if answer is None:
            return Check(False, title, "your answer is still None: write it in the cell above, run it, then run this check")
        problem = method(answer, *more)
        if problem is None:
            self.passed.add(number)
            if self.passed >= set(TASKS):
                self.lesson.mark("exercises")
        return Check(problem is None, title, problem or "well done")

    def _ping(self, token: str) -> Response:
        return self.lesson.client.with_token(token).ping_session(check=False)

    def _check_1(self, answer: Any) -> str | None:
        problem = succeeded(answer, "createSession")
        if problem:
            return problem
        if answer.result.get("permanentSession") is not True:
            return 'the session is temporary: add "permanentSession": true'
        if answer.result.get("description") != "ci-pipeline":
            return f'the description is {answer.result.get("description")!r}: set "description": "ci-pipeline"'
        if not self._ping(answer.auth_token).ok:
            return "that key no longer works: create a new one"
        return None

    def _check_2(self, answer: Any, key: Any = None) -> str | None:
        problem = response_to(answer, "describeSessions")
        if problem:
            return problem
        request = answer.request if isinstance(answer.request, dict) else {}
        if "password" in str(request) or "username" in str(request.get("params", {})):
            return "the request should carry no username or password: only the API key as authToken"
        if not answer.ok:
            return f"errorCode {answer.error_code}: {answer.error_message}"
        sessions = answer.result.get("sessions", [])
        mine = [s for s in sessions if s.get("authToken") == request.get("authToken")]
        if not mine:
            return "describe the key itself: put it in params.authTokens too"
        if mine[0].get("permanentSession") is not True:
            return "the session you used is not permanent: use the ci-pipeline key from exercise 1"
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
        sessions = self.lesson.learner_sessions()
        count = sum(1 for s in sessions if s.get("permanentSession") is True)
        if answer != count:
            hint = "too many" if answer > count else "too few"
            return f"{answer} is {hint}: count the sessions whose permanentSession is true in describeSessions"
        return None

    def _check_5(self, answer: Any) -> str | None:
        if not isinstance(answer, str):
            return "store the ci-pipeline key (a string) that you revoked"
        reply = self._ping(answer)
        if reply.ok:
            return "that key still works: send deleteSession with it as the authToken"
        self.lesson.mark("revoked")
        return None

    def _check_6(self, answer: Any) -> str | None:
        problem = response_to(answer, "listAccounts")
        if problem:
            return problem
        if answer.error_code != 12030:
            return (f"expected errorCode 12030 (administrator rights needed), got {answer.error_code}: "
                    "call listAccounts with the API key of the new, non-admin account")
        return None
