"""The course: its lessons and the milestones the progress list ticks off."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LessonInfo", "LESSONS", "Milestone", "MILESTONES", "lesson_info", "BINDER_URL", "EXERCISE_STEPS"]

#: Where the kit is published; the README's and every lesson's launch badge use this address.
REPOSITORY = "faircom-tutorial-kit/permanent-sessions"
BINDER_URL = f"https://mybinder.org/v2/gh/{REPOSITORY}/main?urlpath=lab/tree/notebooks/01-start-here.ipynb"


@dataclass(frozen=True)
class LessonInfo:
    """One lesson: its number, title, notebook file, length and goals.

    ``keys``: notebook variable -> the description of the session (an API key, or a temporary
    session) that the lesson's cells create; the first cell finds them again on the server after a
    kernel restart. ``steps``: notebook variable -> the step (its heading) whose cells make it; a
    cell that uses the variable before that step ran says so instead of a bare NameError.
    """

    number: int
    title: str
    filename: str
    minutes: int
    goals: tuple[str, ...]
    keys: dict[str, str] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)


def _made_in(step: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, step)


#: lesson 6's answers, each made by the cell under its exercise
EXERCISE_STEPS = {f"answer_{n}": f"Exercise {n}" for n in range(1, 8)}


LESSONS: tuple[LessonInfo, ...] = (
    LessonInfo(1, "Start here", "01-start-here.ipynb", 10, (
        "what a jsonAction request and its answer look like",
        "how to check that the server is up with pingSession",
        "how to log in with createSession and what its authToken is",
        "where services.json lives",
    ), steps={**_made_in("Step 1: is the server up?", "ping"),
              **_made_in("Step 2: log in with createSession", "login")}),
    LessonInfo(2, "Enable permanent sessions", "02-enable-permanent-sessions.ipynb", 10, (
        "what the server says when permanent sessions are off",
        "how to switch on enablePermanentJsonApiSessions in services.json",
        "why the running server ignores the change until it restarts",
        "how to restart the server yourself, from a cell or a terminal",
    ), steps={**_made_in("Step 1: ask for a permanent session", "refused"),
              **_made_in("A trap in the documentation", "snippet")}),
    LessonInfo(3, "Create a permanent session", "03-create-a-permanent-session.ipynb", 10, (
        "how to ask createSession for a permanent session",
        "how to use its authToken as an API key, with no username or password",
        "that an API key survives a server restart and a normal session does not",
        "that the same request works as plain HTTP, without the kit",
    ), keys={"api_key": "lesson 3 key", "temporary_token": "lesson 3 temporary"},
       steps={**_made_in("Step 2: the request that works", "created", "api_key", "quoted"),
              **_made_in("Step 3: use the API key alone", "used", "plain"),
              **_made_in("Step 4: survive a restart", "temporary", "temporary_token")}),
    LessonInfo(4, "Confirm it with describeSessions", "04-confirm-with-describesessions.ipynb", 10, (
        "how to describe chosen sessions, or every session",
        "how to read permanentSession and idleConnectionTimeoutSeconds",
        "how a permanent session differs from a temporary one, side by side",
    ), keys={"api_key": "lesson 4 key", "temporary_token": "lesson 4 temporary"},
       steps={**_made_in("Step 1: two sessions to compare", "temporary", "key", "temporary_token", "api_key"),
              **_made_in("Step 2: describe one session", "described"),
              **_made_in("Step 3: read the answer", "both"),
              **_made_in("Step 4: every session", "everything"),
              **_made_in("Step 5: what other accounts see", "reader")}),
    LessonInfo(5, "Manage and secure API keys", "05-manage-and-secure-api-keys.ipynb", 15, (
        "how to revoke an API key with deleteSession",
        "what turning the flag off does, and what it does not do",
        "how the session limits count API keys",
        "where to keep an API key, and where never to put one",
    ), keys={"api_key": "lesson 5 key", "kept_key": "lesson 5 kept key", "app_key": "lesson 5 report-app key"},
       steps={**_made_in("Step 1: revoke an API key", "key", "api_key"),
              **_made_in("Step 2: turning the flag off does not revoke keys", "kept", "kept_key"),
              **_made_in("Step 3: API keys count against the limits", "limits", "sessions", "permanent"),
              **_made_in("Step 4: where a key belongs", "key_from_env", "app", "reporter", "app_key")}),
    LessonInfo(6, "Exercises", "06-exercises.ipynb", 25, (
        "practise every step on your own; the kit checks each answer",
        "what you now do on a real FairCom server, step by step",
    ), steps=dict(EXERCISE_STEPS)),
)


def lesson_info(number: int) -> LessonInfo:
    for info in LESSONS:
        if info.number == number:
            return info
    raise ValueError(f"there is no lesson {number}: the lessons are 1 to {len(LESSONS)}")


@dataclass(frozen=True)
class Milestone:
    """One line of the progress list, and the lesson that teaches it."""

    key: str
    label: str
    lesson: int


MILESTONES: tuple[Milestone, ...] = (
    Milestone("server", "You checked the server with pingSession", 1),
    Milestone("session", "You logged in with createSession", 1),
    Milestone("flag_file", "You set enablePermanentJsonApiSessions to true in services.json", 2),
    Milestone("flag_running", "You restarted the server, and it allows permanent sessions", 2),
    Milestone("api_key", "You created a permanent session (an API key)", 3),
    Milestone("survived", "Your API key survived a server restart", 3),
    Milestone("confirmed", "You confirmed it with describeSessions", 4),
    Milestone("revoked", "You revoked an API key with deleteSession", 5),
    Milestone("exercises", "You solved every exercise", 6),
)
