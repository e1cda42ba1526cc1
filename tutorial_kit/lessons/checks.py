"""The checks at the end of each step: "done", or what is still wrong and what to do.

Each check reads what the learner got back (a Response) or asks the server, and returns a
:class:`Check`. A passing check also records the milestone for the progress list.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from typing import Any

from .._exceptions import KitTransportError
from ..client.response import Response
from ..control.status import FLAG
from ..server.errors import ErrorCode
from .feedback import Check

__all__ = ["LessonChecks"]


def succeeded(value: Any, action: str) -> str | None:
    """None if ``value`` is a successful Response to ``action``; else what is wrong."""
    problem = response_to(value, action)
    if problem is None and not value.ok:
        problem = f"errorCode {value.error_code}: {value.error_message}"
    return problem


def response_to(value: Any, action: str) -> str | None:
    """None if ``value`` is a Response to ``action``; else what is wrong."""
    if not isinstance(value, Response):
        return (
            f"expected the Response of {action} (the value a client call or %%jsonaction --save gives), "
            f"got {type(value).__name__}"
        )
    sent = value.request.get("action", "") if isinstance(value.request, dict) else ""
    if str(sent).lower() != action.lower():
        return f"this is the answer to {sent or 'something else'}, not to {action}"
    return None


class LessonChecks:
    """Checks shared by the lessons. Mixed into :class:`~.lesson.Lesson`."""

    client: Any
    server: Any
    remote: bool
    mark: Callable[[str], None]  # Lesson.mark: record a milestone

    def check_ping(self, response: Any) -> Check:
        """Lesson 1: the server answered pingSession with errorCode 0."""
        title = "The server answers pingSession"
        problem = succeeded(response, "pingSession")
        if problem is None:
            self.mark("server")
        return Check(problem is None, title, problem or "errorCode 0: the server is up.")

    def check_logged_in(self, response: Any) -> Check:
        """Lesson 1: createSession worked and returned an authToken."""
        title = "You logged in"
        problem = succeeded(response, "createSession")
        if problem is None and not response.auth_token:
            problem = "the answer has no authToken"
        if problem is None:
            self.mark("session")
        return Check(problem is None, title, problem or "createSession gave you an authToken.")

    def check_refused(self, response: Any) -> Check:
        """Lesson 2: asking for a permanent session while the flag is off gives ErrorCode.PERMANENT_DISABLED."""
        title = "You saw the refusal"
        problem = response_to(response, "createSession")
        refused = ErrorCode.PERMANENT_DISABLED
        if problem is None and response.error_code != refused:
            problem = (f"expected errorCode {refused}, got {response.error_code}; "
                       "was permanentSession true and the flag still off in the running server?")
        return Check(problem is None, title, problem or f"errorCode {refused}: permanent sessions are off.")

    def check_flag(self) -> Check:
        """Lesson 2: the flag is true in services.json and in the running server."""
        title = "Permanent sessions are on"
        try:
            running = self.client.list_services().result.get("jsonActionApiDefaults", {}).get(FLAG) is True
        except KitTransportError:
            return Check(
                False, title, "the server is not running: run lesson.restart() (it names any mistake in services.json)"
            )
        file_on, in_file = running, dict[str, object]()
        if not self.remote:
            in_file = self.server.status().file_defaults or {}
            file_on = in_file.get(FLAG) is True
        if file_on and running:
            self.mark("flag_file")
            self.mark("flag_running")
            return Check(True, title, f"{FLAG} is true in services.json and in the running server.")
        if file_on:
            self.mark("flag_file")
            return Check(
                False, title, "services.json says true, but the running server still has the old value: restart it."
            )
        typo = difflib.get_close_matches(FLAG, [k for k in in_file if k != FLAG], n=1, cutoff=0.8)
        if typo:
            return Check(False, title, f'services.json says "{typo[0]}", which the server does not know: '
                                       f'spell it "{FLAG}" (step 3), save, then restart (step 5).')
        if isinstance(in_file.get(FLAG), str):
            return Check(False, title, f'services.json says "{FLAG}": {json.dumps(in_file[FLAG])}: '
                                       "write the JSON boolean true, without quotes (step 3).")
        if FLAG in in_file:
            return Check(False, title, f'services.json says "{FLAG}": {json.dumps(in_file[FLAG])}: '
                                       "set it to true (step 3), then restart (step 5).")
        return Check(
            False, title, f'services.json does not say "{FLAG}": true yet: set it (step 3), then restart (step 5).'
        )

    def check_api_key(self, response: Any) -> Check:
        """Lesson 3: createSession returned a permanent session."""
        title = "You created an API key"
        problem = succeeded(response, "createSession")
        if problem is None and response.result.get("permanentSession") is not True:
            problem = 'the session is not permanent: add "permanentSession": true to params'
        if problem is None:
            self.mark("api_key")
        return Check(problem is None, title, problem or "permanentSession is true: this authToken is an API key.")

    def check_key_only(self, response: Any, key: str) -> Check:
        """Lesson 3: a request authenticated by the API key alone, without username or password."""
        title = "You used the API key without a password"
        problem = None if isinstance(response, Response) else "expected a Response"
        request = response.request if problem is None and isinstance(response.request, dict) else {}
        if problem is None and request.get("authToken") != key:
            problem = "the request did not carry the API key as its authToken"
        elif problem is None and "password" in str(request):
            problem = "the request still contains a password: the API key alone is enough"
        elif problem is None and not response.ok:
            problem = f"errorCode {response.error_code}: {response.error_message}"
        return Check(problem is None, title, problem or "The API key alone was enough.")

    def check_survived(self, key: str, temporary: str | None = None) -> Check:
        """Lesson 3: after a restart the API key still works (and a temporary token does not)."""
        title = "Your API key survived the restart"
        key_ok = self.client.with_token(key).ping_session(check=False)
        if not key_ok.ok:
            return Check(False, title, f"the API key gets errorCode {key_ok.error_code}: {key_ok.error_message}")
        if temporary is not None:
            temp = self.client.with_token(temporary).ping_session(check=False)
            if temp.ok:
                return Check(
                    False, title, "the temporary token still works: has the server been restarted since it was made?"
                )
        self.mark("survived")
        return Check(True, title, "pingSession with the API key: errorCode 0.")

    def check_confirmed(self, response: Any) -> Check:
        """Lesson 4: describeSessions shows a permanent session with idleConnectionTimeoutSeconds -1."""
        title = "You confirmed the API key"
        problem = succeeded(response, "describeSessions")
        sessions = response.result.get("sessions", []) if problem is None else []
        if problem is None and not any(s.get("permanentSession") is True for s in sessions):
            problem = "no session in this answer has permanentSession true"
        if problem is None and not any(s.get("idleConnectionTimeoutSeconds") == -1 for s in sessions):
            problem = "no session in this answer has idleConnectionTimeoutSeconds -1"
        if problem is None:
            self.mark("confirmed")
        return Check(problem is None, title, problem or "permanentSession true, idleConnectionTimeoutSeconds -1.")

    def check_revoked(self, key: str) -> Check:
        """Lesson 5: the API key no longer works (pingSession gets ErrorCode.BAD_TOKEN)."""
        title = "You revoked the API key"
        answer = self.client.with_token(key).ping_session(check=False)
        if answer.error_code != ErrorCode.BAD_TOKEN:
            return Check(False, title, "the key still works: send deleteSession with this key as the authToken")
        self.mark("revoked")
        return Check(True, title, f"pingSession with the old key: errorCode {ErrorCode.BAD_TOKEN}.")
