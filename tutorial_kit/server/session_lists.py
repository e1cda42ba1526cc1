"""Results that render themselves: session lists as pre-rendered JSON text.

The envelope asks a result for compact JSON text (:meth:`SessionsResult.to_json`) or, for pretty
output and debugging, for plain objects (:meth:`SessionsResult.to_obj`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .sessions import Session, extend_json

__all__ = ["SessionsResult", "short_token"]


def short_token(token: str) -> str:
    """The first four characters of a token and an ellipsis: enough to tell tokens apart."""
    return f'"{token[:4]}…"' if token else '""'


class SessionsResult:
    """``{"sessions": [...]}``, or one session object when ``single`` (createSession, alterSession)."""

    def __init__(self, sessions: Iterable[Session], *, single: bool = False) -> None:
        self.sessions = list(sessions)
        self.single = single

    def to_json(self) -> str:
        return "".join(self.json_parts())

    def json_parts(self) -> list[str]:
        """:meth:`to_json` as pieces, for a caller that joins them into a larger text once."""
        if self.single:
            return [self.sessions[0].to_json()]
        out = ['{"sessions":[']
        extend_json(out, self.sessions)
        out.append("]}")
        return out

    def to_obj(self) -> dict[str, Any]:
        if self.single:
            return self.sessions[0].to_dict()
        return {"sessions": [s.to_dict() for s in self.sessions]}
