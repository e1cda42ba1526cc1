"""RemoteControl: the control helper when the lessons talk to a server the kit does not run.

``TUTORIAL_KIT_URL`` (with ``TUTORIAL_KIT_USERNAME``, ``TUTORIAL_KIT_PASSWORD`` and, for https,
``TUTORIAL_KIT_CA_FILE`` or ``TUTORIAL_KIT_VERIFY=0``) points the notebooks at a workshop's shared
server or a real FairCom server. The kit can look at such a server (pingSession, listServices) but
cannot edit its services.json or restart it; those steps raise RemoteServerError whose message says
exactly what to do by hand on that server, and :meth:`RemoteControl.explain` returns the same text
for a lesson to show.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._exceptions import KitUsageError, RemoteServerError
from .status import FLAG, ServerStatus

if TYPE_CHECKING:
    from ..client.kit_client import KitClient

__all__ = ["RemoteControl", "STEPS", "remote_from_env"]

#: the control steps a lesson may ask to have explained
STEPS = ("start", "stop", "restart", "reset", "set_default")

_RESTART = (
    "restart the FairCom server: restart its service (systemd on Linux, Services on Windows), or "
    "stop the server process and start it again. It reads services.json only when it starts. "
    "Temporary sessions end; permanent sessions (API keys) survive."
)


def _edit_steps(name: str, value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return (
        "1. Open services.json in the FairCom server's config folder (<server folder>/config/services.json).\n"
        f'2. Find the "jsonActionApiDefaults" object and set "{name}": {shown} in it; if the property '
        "is missing, add it as a new line inside that object (a comma goes between two properties, "
        "none after the last one).\n"
        "3. Save the file, then " + _RESTART + "\n"
        "Until the restart, the server keeps using the old value: listServices shows which one it uses."
    )


class RemoteControl:
    """Looks at a remote jsonAction server; explains (instead of doing) what needs its owner.

    ``verify`` is True (system CAs), False (no check: only for a test server) or a CA file path.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.username = username
        self._password = password
        self.verify = verify
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RemoteControl(url={self.url!r}, username={self.username!r})"

    def _ssl(self) -> bool | ssl.SSLContext:
        if isinstance(self.verify, bool):
            return self.verify
        try:
            return ssl.create_default_context(cafile=self.verify)
        except (OSError, ssl.SSLError) as exc:
            raise KitUsageError(f"the CA file {self.verify!r} (TUTORIAL_KIT_CA_FILE) cannot be used: {exc}") from exc

    def _envelope(self, action: str) -> dict[str, Any] | None:
        from .process import post_action  # here, not at the top: the browser imports this module

        return post_action(self.url, action, verify=self._ssl(), timeout=self.timeout)

    def explain(self, step: str, name: str = FLAG, value: Any = True) -> str:
        """Return what to do by hand on the remote server for ``step`` (one of :data:`STEPS`)."""
        where = f"The lessons use the remote server at {self.url}; the kit cannot change that server."
        texts = {
            "start": f"Nothing answered pingSession at {self.url}. Ask the server's owner to start it, "
            "or check TUTORIAL_KIT_URL (for https with a private certificate, set TUTORIAL_KIT_CA_FILE; "
            "TUTORIAL_KIT_VERIFY=0 turns the check off for a test server). Unset TUTORIAL_KIT_URL to use "
            "the kit's own server instead.",
            "stop": f"{where} To stop it, stop the FairCom server's service or process on its machine "
            "(only its owner can). Unset TUTORIAL_KIT_URL to use the kit's own server instead.",
            "restart": f"{where} On that server's machine, " + _RESTART,
            "reset": f"{where} It cannot be reset from here: revoke the API keys you made with "
            "deleteSession, and ask the server's owner to remove your account if needed. Unset "
            "TUTORIAL_KIT_URL to start over on the kit's own server.",
            "set_default": f"{where} On that server's machine:\n" + _edit_steps(name, value),
        }
        if step not in texts:
            raise KitUsageError(f"unknown step {step!r}: use one of {', '.join(STEPS)}")
        return texts[step]

    def start(self) -> RemoteControl:
        """Check that the remote server answers pingSession; raise RemoteServerError if not."""
        envelope = self._envelope("pingSession")
        if envelope is None or envelope.get("errorCode") != 0:
            raise RemoteServerError(self.explain("start"))
        return self

    def status(self) -> ServerStatus:
        """Report whether the remote server answers and the jsonActionApiDefaults it runs with."""
        envelope = self._envelope("listServices")
        running = envelope is not None
        defaults = None
        if envelope is not None and envelope.get("errorCode") == 0:
            result = envelope.get("result")
            found = result.get("jsonActionApiDefaults") if isinstance(result, dict) else None
            defaults = found if isinstance(found, dict) else None
        return ServerStatus(
            running=running, url=self.url, home=None, pid=None, services_path=None,
            running_defaults=defaults, file_defaults=None, remote=True, username=self.username,
        )

    def stop(self) -> None:
        """Raise RemoteServerError: only the remote server's owner can stop it."""
        raise RemoteServerError(self.explain("stop"))

    def restart(self) -> None:
        """Raise RemoteServerError saying how to restart the remote server by hand."""
        raise RemoteServerError(self.explain("restart"))

    def reset(self) -> None:
        """Raise RemoteServerError: a remote server cannot be reset from a notebook."""
        raise RemoteServerError(self.explain("reset"))

    def set_default(self, name: str, value: Any) -> None:
        """Raise RemoteServerError saying how to set ``name`` in the remote services.json by hand."""
        raise RemoteServerError(self.explain("set_default", name, value))

    def client(self, **kwargs: Any) -> KitClient:
        """A KitClient for the remote server with the environment's credentials (overridable)."""
        from ..client.kit_client import KitClient

        options: dict[str, Any] = {"username": self.username, "password": self._password, "verify": self.verify}
        options.update(kwargs)
        return KitClient(self.url, **options)


def _verify_from_env(env: Mapping[str, str]) -> bool | str:
    if env.get("TUTORIAL_KIT_CA_FILE"):
        return env["TUTORIAL_KIT_CA_FILE"]
    return env.get("TUTORIAL_KIT_VERIFY", "1").strip().lower() not in {"0", "false", "no", "off"}


def remote_from_env(env: Mapping[str, str]) -> RemoteControl | None:
    """A RemoteControl built from ``TUTORIAL_KIT_URL`` and friends, or None when it is not set."""
    url = env.get("TUTORIAL_KIT_URL", "").strip()
    if not url:
        return None
    return RemoteControl(
        url,
        username=env.get("TUTORIAL_KIT_USERNAME") or None,
        password=env.get("TUTORIAL_KIT_PASSWORD") or None,
        verify=_verify_from_env(env),
    )
