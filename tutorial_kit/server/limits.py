"""The server's limits in one object: every one a server option with its default in ``kit_choices``.

``ServerCore``/``EmulatorServer`` take each as a keyword argument and ``tutorial-kit serve`` as an
option (``--max-connections`` for ``max_connections``...); :data:`LIMIT_OPTIONS` says which and
why, and ``docs/security.md`` describes what each one guards against.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .._exceptions import KitUsageError
from .kit_choices import choice

__all__ = ["ServerLimits", "LIMIT_OPTIONS"]


@dataclass(frozen=True)
class ServerLimits:
    """Sizes, counts and deadlines that keep one client from taking the server from the others."""

    max_body_bytes: int = choice("max_body_bytes")
    max_connections: int = choice("max_connections")
    header_timeout: float = choice("header_timeout_seconds")
    connection_idle_timeout: float = choice("connection_idle_timeout_seconds")
    body_timeout: float = choice("body_timeout_seconds")
    login_queue_per_address: int = choice("login_queue_per_address")
    login_queue_total: int = choice("login_queue_total")
    answer_echo_factor: float = choice("answer_echo_factor")
    db_busy_timeout: float = choice("db_busy_timeout_seconds")

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                option = "--" + item.name.replace("_", "-")
                raise KitUsageError(f"{item.name} ({option}) must be a positive number, not {value!r}")
        if self.login_queue_per_address > self.login_queue_total:
            raise KitUsageError("login_queue_per_address (--login-queue-per-address) cannot be larger than "
                                f"login_queue_total (--login-queue-total, {self.login_queue_total})")

    @classmethod
    def from_options(cls, **options: Any) -> ServerLimits:
        """The defaults, with the options that are not None (unknown names are a TypeError)."""
        return cls(**{name: value for name, value in options.items() if value is not None})


#: option name -> (type, help text) for `tutorial-kit serve`
LIMIT_OPTIONS: dict[str, tuple[type, str]] = {
    "max_body_bytes": (int, "largest request body accepted (default {})"),
    "max_connections": (int, "most client connections at once; the longest-idle one is closed for a new "
                             "client; also kept 64 below `ulimit -n` (default {})"),
    "header_timeout": (float, "seconds a request's headers may take to arrive (default {})"),
    "connection_idle_timeout": (float, "seconds a keep-alive connection may wait for its next request (default {})"),
    "body_timeout": (float, "seconds a request body may take to arrive (default {})"),
    "login_queue_per_address": (int, "password checks waiting at once for one client address (default {})"),
    "login_queue_total": (int, "password checks waiting at once in all (default {})"),
    "answer_echo_factor": (float, "an answer may copy its request (requestId, debugInfo) up to this many "
                                  "times the request's size (default {})"),
    "db_busy_timeout": (float, "seconds a database write waits for another program's lock (default {})"),
}
