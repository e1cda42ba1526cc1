"""The answer side of a jsonAction exchange: :class:`Response`, and how an HTTP answer becomes one.

Kept apart from :mod:`tutorial_kit.client.kit_client` so that each module stays small; import both names from
``tutorial_kit.client.kit_client`` (or ``tutorial_kit``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from .._exceptions import JsonActionError, NotJsonActionError
from ..server.vocabulary import mask_passwords, mask_token, password_mask

__all__ = ["Response", "mask_token", "fingerprint", "mask_passwords", "response_from_http", "PASSWORD_MASK"]

#: what a password is shown as (the protocol vocabulary's mask, the kit's choice ``password_mask``)
PASSWORD_MASK = password_mask()


def fingerprint(token: str) -> str:
    """A short one-way fingerprint of a token: enough to recognise it, useless as a key."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:20]




class Response:
    """One jsonAction answer.

    Attributes: ``envelope`` (the answer as a dict, key order kept), ``request`` (what was sent,
    with passwords masked), ``http_status``, ``url``. Properties read the envelope: ``ok``,
    ``error_code``, ``error_message``, ``result``, ``request_id``, ``auth_token``, ``warnings``.
    In a notebook it displays with masked tokens (see :mod:`tutorial_kit.notebook.display`); the real
    values stay available here, e.g. ``response.auth_token``.
    """

    def __init__(self, envelope: dict[str, Any], *, request: Any, http_status: int = 200, url: str = "") -> None:
        self.envelope = envelope
        self.request = mask_passwords(request)
        self.http_status = http_status
        self.url = url

    @property
    def error_code(self) -> int:
        """The envelope's ``errorCode`` (0 means success)."""
        return int(self.envelope["errorCode"])

    @property
    def error_message(self) -> str:
        """The envelope's ``errorMessage`` (``""`` on success)."""
        return str(self.envelope.get("errorMessage", ""))

    @property
    def ok(self) -> bool:
        """True when ``errorCode`` is 0."""
        return self.error_code == 0

    @property
    def result(self) -> Any:
        """The envelope's ``result`` (None when absent, as on most errors)."""
        return self.envelope.get("result")

    @property
    def request_id(self) -> Any:
        """The ``requestId`` the server copied back, or None."""
        return self.envelope.get("requestId")

    @property
    def auth_token(self) -> str | None:
        """The top-level ``authToken`` of the answer, or None."""
        return self.envelope.get("authToken")

    @property
    def action(self) -> str:
        """The action of the request this answers ("request" when unknown)."""
        if isinstance(self.request, dict) and isinstance(self.request.get("action"), str):
            return self.request["action"]
        return "request"

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """``debugInfo.warnings`` (a list of ``{"code", "message"}``), empty when there are none."""
        debug = self.envelope.get("debugInfo")
        found = debug.get("warnings") if isinstance(debug, dict) else None
        return list(found) if isinstance(found, list) else []

    def raise_for_error(self) -> Response:
        """Raise :class:`JsonActionError` when ``errorCode`` is not 0; return ``self`` otherwise."""
        if not self.ok:
            raise JsonActionError(
                f"{self.action} failed with errorCode {self.error_code}: {self.error_message}",
                error_code=self.error_code,
                error_message=self.error_message,
                response=self,
            )
        return self

    def __repr__(self) -> str:
        from ..notebook.display import response_text

        return response_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        from ..notebook.display import response_html

        return response_html(self)


def _envelope_from(answer: httpx.Response, url: str) -> dict[str, Any]:
    """Return the envelope in ``answer`` or raise :class:`NotJsonActionError` saying what came."""
    kind = answer.headers.get("content-type", "no content type")
    try:
        envelope = json.loads(answer.content)
    except ValueError:
        envelope = None
    code = envelope.get("errorCode") if isinstance(envelope, dict) else None
    if isinstance(code, int) and not isinstance(code, bool):
        return envelope
    what = "JSON without an errorCode" if envelope is not None else f"{kind}, not JSON"
    raise NotJsonActionError(
        f"{url} answered with HTTP {answer.status_code} and {what}: this is not a jsonAction "
        "envelope. Check the URL (a FairCom server's endpoint is usually http://HOST:PORT/api).",
        url=url,
    )


def response_from_http(answer: httpx.Response, *, request: Any, url: str) -> Response:
    """Build the :class:`Response` for an HTTP answer; raise NotJsonActionError if it has no envelope."""
    return Response(_envelope_from(answer, url), request=request, http_status=answer.status_code, url=url)
