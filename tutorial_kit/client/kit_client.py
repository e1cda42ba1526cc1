"""KitClient: a small, synchronous client for any jsonAction server.

It talks to the kit's embedded server and to a real FairCom server alike: every request is one
JSON object POSTed to one URL (``http://127.0.0.1:8080/api``), every answer an envelope with
``errorCode`` and ``errorMessage``. One keep-alive :class:`httpx.Client` carries every request.

Two layers, shaped like httpx:

- :meth:`KitClient.call` sends any request and returns a :class:`Response`; a non-zero
  ``errorCode`` is *not* an exception there. :meth:`Response.raise_for_error` opts into raising.
- One convenience method per admin action (``create_session``, ``describe_sessions``, ...). These
  raise :class:`~tutorial_kit.JsonActionError` on a non-zero ``errorCode`` unless ``check=False``.

Failures to get an envelope at all become the transport branch of the kit's exception tree
(:class:`ServerNotRunningError`, :class:`KitTLSError`, :class:`KitTimeoutError`,
:class:`NotJsonActionError`). Passwords never appear in a repr, a log line or ``Response.request``.
"""

from __future__ import annotations

import copy
import json
import logging
import ssl
from collections.abc import Mapping
from os import PathLike
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._exceptions import KitUsageError
from ..browser import in_browser
from ..server.vocabulary import TOKENLESS_ACTIONS
from .response import PASSWORD_MASK, Response, mask_token, response_from_http
from .transport import is_loopback, ssl_context, transport_error

__all__ = ["KitClient", "Response", "mask_token", "PASSWORD_MASK"]

logger = logging.getLogger(__name__)


class _UseDefault:
    """Sentinel type: "argument not given", told apart from an explicit ``None``."""

    def __repr__(self) -> str:
        return "USE_DEFAULT"


USE_DEFAULT: Any = _UseDefault()


def _camel(name: str) -> str:
    """Turn ``idle_connection_timeout_seconds`` into ``idleConnectionTimeoutSeconds``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


#: actions that work without a session (the convenience methods log in for every other one)
_TOKENLESS_ACTIONS = TOKENLESS_ACTIONS


class KitClient:
    """A client for one jsonAction server, built on one keep-alive :class:`httpx.Client`.

    Arguments (keyword-only after ``url``):

    - ``url``: the jsonAction endpoint, ``http://`` or ``https://`` (``http://127.0.0.1:8080/api``).
    - ``username``, ``password``: used by :meth:`create_session` when it is called without them
      (and by placeholder filling). Never shown in a repr or a log.
    - ``auth_token``: a token to start with (an API key, for instance). The client then remembers
      the last token ``createSession`` gave it, in :attr:`auth_token`.
    - ``verify``: TLS verification for https: True (system CAs), a CA file path (a self-signed
      test server's CA), an :class:`ssl.SSLContext`, or False (a local test server only).
    - ``timeout``: seconds to wait for connect/read/write.
    - ``transport``: an httpx transport (``httpx.MockTransport`` in tests). In the browser
      (:func:`tutorial_kit.browser.in_browser`) the default is the in-browser server's.
    - ``debug``: the ``debug`` property the convenience methods and :meth:`call` with an action
      name send (``"none"`` for short answers); None sends none, so the server's default applies.
      A whole request dict is always sent as written.

    Use it as a context manager or call :meth:`close` (idempotent) when done.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        auth_token: str | None = None,
        verify: bool | str | PathLike[str] | ssl.SSLContext = True,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        debug: str | None = None,
    ) -> None:
        parts = urlsplit(str(url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise KitUsageError(f"url={url!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:8080/api)")
        self.url = str(url)
        self.username = username
        self._password = password
        self.auth_token = auth_token
        self._session_user: str | None = None  # the account of the last session createSession gave this client
        self.verify = verify
        self.timeout = timeout
        self.debug = debug
        if transport is None and in_browser():  # no network in the browser: the in-browser server
            from ..browser.transport import InProcessTransport

            transport = InProcessTransport()
        self._http = httpx.Client(
            verify=ssl_context(verify),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            trust_env=not is_loopback(parts.hostname),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        self._owns_http = True
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------------

    def with_token(self, token: str) -> KitClient:
        """Return a client view that acts as ``token`` (an API key) with no username or password.

        The view shares this client's connection pool; closing the view leaves the pool open,
        closing this client closes it for every view.
        """
        if not isinstance(token, str) or not token:
            raise KitUsageError("with_token() needs a non-empty token string")
        view = object.__new__(KitClient)
        view.__dict__.update(self.__dict__)
        view.username, view._password, view.auth_token, view._session_user = None, None, token, None
        view._owns_http, view._closed = False, False
        return view

    @property
    def password(self) -> str | None:
        """The password this client logs in with (kept out of reprs and logs)."""
        return self._password

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (or when the shared pool of a view was closed)."""
        return self._closed or self._http.is_closed

    def close(self) -> None:
        """Close the connection pool (views only mark themselves closed). Safe to call twice."""
        if not self._closed:
            self._closed = True
            if self._owns_http:
                self._http.close()

    def __enter__(self) -> KitClient:
        if self.closed:
            raise KitUsageError("Cannot reopen a KitClient once it has been closed; create a new one.")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        token = mask_token(self.auth_token) if self.auth_token else None
        state = ", closed" if self.closed else ""
        return f"KitClient({self.url!r}, username={self.username!r}, auth_token={token!r}{state})"

    # --- the low-level call ----------------------------------------------------------------

    def call(
        self,
        request: Mapping[str, Any] | str,
        params: Mapping[str, Any] | None = None,
        *,
        auth_token: str | None = USE_DEFAULT,
        request_id: Any = USE_DEFAULT,
        debug: str | None = USE_DEFAULT,
    ) -> Response:
        """Send one request and return its :class:`Response`; a non-zero errorCode does not raise.

        ``request`` is a whole request dict (sent as given) or an action name; an action name
        becomes ``{"api": "admin", "action": ..., "params": params, "authToken": ...}``.
        ``auth_token``: not given = the dict's own ``authToken`` for a dict, the client's current
        token for an action name; a string sets it; None removes it. ``request_id`` and ``debug``
        set those properties when given. Raises the transport exceptions of the kit.
        """
        if isinstance(request, str):
            body: dict[str, Any] = {"api": "admin", "action": request}
            if params is not None:
                body["params"] = dict(params)
            if auth_token is USE_DEFAULT:
                auth_token = self.auth_token
            if debug is USE_DEFAULT and self.debug is not None:
                debug = self.debug
        elif isinstance(request, Mapping):
            if params is not None:
                raise KitUsageError("call() takes params= only with an action name, not with a request dict")
            body = copy.deepcopy(dict(request))
        else:
            raise KitUsageError(f"call() needs a request dict or an action name, not {type(request).__name__}")
        if auth_token is not USE_DEFAULT:
            body.pop("authToken", None)
            if auth_token:
                body["authToken"] = auth_token
        for key, value in (("requestId", request_id), ("debug", debug)):
            if value is not USE_DEFAULT:
                body[key] = value
        return self._post(json.dumps(body, ensure_ascii=False).encode("utf-8"), body)

    def call_text(self, text: str) -> Response:
        """Send the JSON ``text`` exactly as written (repeated keys and all); return the Response.

        This lets the server see what a learner typed, so its own warnings (a repeated key, for
        one) show up. ``Response.request`` is the parsed text, or None when it is not JSON.
        """
        try:
            parsed: Any = json.loads(text)
        except ValueError:
            parsed = None
        return self._post(text.encode("utf-8"), parsed)

    def _post(self, content: bytes, request: Any) -> Response:
        """POST ``content``; return the Response or raise the kit's transport errors."""
        if self.closed:
            raise KitUsageError("This KitClient is closed; create a new one.")
        action = request.get("action") if isinstance(request, dict) else None
        logger.debug("POST %s action=%s (%d bytes)", self.url, action, len(content))
        try:
            answer = self._http.post(self.url, content=content)
        except httpx.TransportError as exc:
            raise transport_error(exc, self.url) from exc
        response = response_from_http(answer, request=request, url=self.url)
        logger.debug("answer to %s: HTTP %d errorCode %d", action, answer.status_code, response.error_code)
        self._remember_token(str(action or ""), request, response)
        return response

    def _remember_token(self, action: str, request: Any, response: Response) -> None:
        """Keep the token a createSession issued; forget ours when deleteSession ended it."""
        if not response.ok:
            return
        if action.lower() == "createsession" and response.auth_token:
            self.auth_token = response.auth_token
            result = response.result if isinstance(response.result, dict) else {}
            self._session_user = result.get("username") if isinstance(result.get("username"), str) else None
        elif action.lower() == "deletesession" and isinstance(request, dict):
            if request.get("authToken") and request.get("authToken") == self.auth_token:
                self.auth_token = None

    def fill_placeholders(self, request: Mapping[str, Any], **overrides: Any) -> Any:
        """Fill FairCom documentation placeholders from this client's state.

        See :func:`tutorial_kit.client.placeholders.fill_placeholders`; returns ``(request, notes)``.
        """
        from .placeholders import fill_placeholders

        return fill_placeholders(request, self, **overrides)

    # --- convenience methods: one per admin action; they raise JsonActionError by default ----

    def _action(self, action: str, params: dict[str, Any] | None, check: bool, **call_kw: Any) -> Response:
        """Call an admin action; raise JsonActionError on a non-zero errorCode when ``check``.

        An action that needs a session, called while the client holds no token but knows a
        username and password, logs in first (one createSession), as SDKs usually do.
        """
        if (action not in _TOKENLESS_ACTIONS and "auth_token" not in call_kw and self.auth_token is None
                and self.username is not None and self._password is not None):
            logger.debug("no token for %s: logging in as %s first", action, self.username)
            self.create_session()
        response = self.call(action, params, **call_kw)
        return response.raise_for_error() if check else response

    def create_session(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        permanent: bool = False,
        check: bool = True,
        **settings: Any,
    ) -> Response:
        """Log in (``createSession``); the client then uses the new token.

        ``username``/``password`` default to the client's. ``permanent=True`` asks for a
        permanent session (an API key). ``settings`` are session settings, in FairCom's names or
        in snake_case (``idle_connection_timeout_seconds=60``). Raises JsonActionError unless
        ``check=False``.
        """
        params: dict[str, Any] = {
            "username": username if username is not None else self.username,
            "password": password if password is not None else self._password,
        }
        if params["username"] is None or params["password"] is None:
            raise KitUsageError("create_session() needs a username and a password (here or in KitClient(...))")
        if permanent:
            params["permanentSession"] = True
        params.update({_camel(k): v for k, v in settings.items()})
        return self._action("createSession", params, check, auth_token=None)

    def describe_sessions(self, tokens: str | list[str] | None = None, *, check: bool = True) -> Response:
        """``describeSessions``: the listed sessions (``tokens``), or every visible one when None."""
        params = None if tokens is None else {"authTokens": [tokens] if isinstance(tokens, str) else list(tokens)}
        return self._action("describeSessions", params, check)

    def list_sessions(self, username_filter: str | list[str] | None = None, *, check: bool = True) -> Response:
        """``listSessions``: token, username and description of each visible session."""
        if username_filter is None:
            return self._action("listSessions", None, check)
        names = [username_filter] if isinstance(username_filter, str) else list(username_filter)
        return self._action("listSessions", {"usernameFilter": names}, check)

    def ping_session(self, *, check: bool = True) -> Response:
        """``pingSession``: is the server up, and (with a token) is the session alive?"""
        return self._action("pingSession", None, check)

    def alter_session(self, *, check: bool = True, **settings: Any) -> Response:
        """``alterSession``: change this session's settings (FairCom names or snake_case)."""
        return self._action("alterSession", {_camel(k): v for k, v in settings.items()}, check)

    def delete_session(self, token: str | None = None, *, check: bool = True) -> Response:
        """``deleteSession``: end ``token`` (default: the client's own); revokes an API key too."""
        return self._action("deleteSession", None, check, auth_token=token or self.auth_token)

    def list_services(self, *, check: bool = True) -> Response:
        """``listServices``: the running listeners and ``jsonActionApiDefaults``."""
        return self._action("listServices", None, check)

    def create_account(
        self, username: str, password: str | None = None, *, description: str | None = None, check: bool = True,
        **properties: Any,
    ) -> Response:
        """``createAccount`` (administrator only), in FairCom's shape.

        ``password`` may be left out (FairCom's default is ``""``: the account then logs in with an
        empty password). ``description`` is sent as FairCom's ``accountDescription``. ``properties``
        are FairCom's account properties, in their names or in snake_case
        (``lockout_after_n_failed_attempts=5``, ``disable_datetime="2026-12-31"``).
        """
        params: dict[str, Any] = {"username": username}
        if password is not None:
            params["password"] = password
        if description is not None:
            params["accountDescription"] = description
        params.update({_camel(k): v for k, v in properties.items()})
        return self._action("createAccount", params, check)

    def alter_account(
        self, password: str | None = None, *, username: str | None = None, description: str | None = None,
        check: bool = True, **properties: Any,
    ) -> Response:
        """``alterAccount``: change an account (``username``; default: this client's, or its session's, account).

        FairCom's alterAccount names the account it changes, so ``username`` is always sent. What is
        not given is not changed. Changing another account, or one's own dates, lockout or limits,
        needs the administrator. When the password changed is this client's own, the client logs in
        with the new one from then on (the server ends the account's other sessions).
        """
        target = username if username is not None else (self.username or self._session_user)
        if target is None:
            raise KitUsageError("alter_account() needs username= (the account to change): this client has no username")
        params: dict[str, Any] = {"username": target}
        if password is not None:
            params["password"] = password
        if description is not None:
            params["accountDescription"] = description
        params.update({_camel(k): v for k, v in properties.items()})
        response = self._action("alterAccount", params, check)
        mine = self.username or self._session_user
        own = mine is not None and target.upper() == mine.upper()
        if response.ok and own and password is not None and self._password is not None:
            self._password = password
        return response

    def drop_accounts(self, usernames: str | list[str], *, check: bool = True) -> Response:
        """``dropAccounts`` (administrator only): remove accounts and end all of their sessions.

        A name no account has is not an error: FairCom answers success with a warning.
        """
        names = [usernames] if isinstance(usernames, str) else list(usernames)
        return self._action("dropAccounts", {"usernames": names}, check)

    def drop_account(self, username: str, *, check: bool = True) -> Response:
        """Drop one account (``dropAccounts`` with one name)."""
        return self.drop_accounts([username], check=check)

    def list_accounts(self, partial_names: str | list[str] | None = None, *, check: bool = True) -> Response:
        """``listAccounts`` (administrator only): the accounts, or those whose names start with ``partial_names``."""
        if partial_names is None:
            return self._action("listAccounts", None, check)
        names = [partial_names] if isinstance(partial_names, str) else list(partial_names)
        return self._action("listAccounts", {"partialNames": names}, check)

    def describe_accounts(self, usernames: str | list[str] | None = None, *, check: bool = True) -> Response:
        """``describeAccounts``: the named accounts (the administrator: any), or this session's own."""
        if usernames is None:
            return self._action("describeAccounts", None, check)
        names = [usernames] if isinstance(usernames, str) else list(usernames)
        return self._action("describeAccounts", {"usernames": names}, check)
