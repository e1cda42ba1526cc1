"""Interactive panels for the lessons (ipywidgets): thin views over the helper.

    import tutorial_kit as kit
    kit.panels.server_panel(lesson.server)      # flag in services.json vs running, switch, restart
    kit.panels.session_panel(lesson.client)     # createSession, temporary or permanent
    kit.panels.sessions_table(lesson.client)    # describeSessions, revoke per row
    kit.panels.playground(lesson.client)        # any admin request, lint warnings before sending
    kit.panels.room_panel(admin_client)         # a workshop trainer's view of the learners

Each panel is an ``ipywidgets.VBox`` whose child widgets are attributes (``panel.create_button``,
``table.rows[0].revoke_button``, ...), so tests can drive it with ``.click()``. Every callback is
guarded: a failure shows in the panel's ``error_html`` instead of getting lost. Each panel's
``repr`` (its ``text/plain`` output) is short and holds no token, port, pid or time, so saved
notebook outputs stay the same from run to run; JupyterLab still renders the widget.
Widgets carry ``kit-...`` CSS classes for browser tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import ipywidgets  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tutorial_kit.panels needs ipywidgets: pip install 'faircom-permanent-session-kit[notebook]'"
    ) from exc

from ._common import Panel
from ._playground import Playground
from ._room import RoomPanel
from ._server import ServerPanel
from ._session import SessionPanel
from ._table import SessionRow, SessionsTable

if TYPE_CHECKING:
    from ..client.kit_client import KitClient

__all__ = [
    "Panel", "Playground", "RoomPanel", "ServerPanel", "SessionPanel", "SessionRow", "SessionsTable",
    "playground", "room_panel", "server_panel", "session_panel", "sessions_table",
]


def server_panel(control: Any = None) -> ServerPanel:
    """The server's state and the permanent-session flag, file vs running, with switch and restart.

    ``control`` is a ServerControl or a RemoteControl (default: ``control_from_env()``).
    """
    if control is None:
        from ..control.choose import control_from_env

        control = control_from_env()
    return ServerPanel(control)


def session_panel(client: KitClient) -> SessionPanel:
    """A form that creates a session (temporary or permanent) for ``client``."""
    return SessionPanel(client)


def sessions_table(client: KitClient) -> SessionsTable:
    """The sessions ``client`` can see (describeSessions), with refresh and revoke buttons."""
    return SessionsTable(client)


def playground(client: KitClient, action: str = "pingSession") -> Playground:
    """Edit and send any admin request through ``client``, with lint warnings before sending."""
    return Playground(client, action)


def room_panel(client: KitClient, learners: list[str] | None = None, interval: float = 10.0) -> RoomPanel:
    """A trainer's view of the room: each learner's sessions and API keys (``client``: an admin)."""
    return RoomPanel(client, learners, interval)
