"""The ``%%jsonaction`` cell magic: write a request as JSON, see the answer.

Load it with ``%load_ext tutorial_kit``. A cell holds one JSON request (FairCom's documentation
placeholders allowed)::

    %%jsonaction --fill --save answer
    {"api": "admin", "action": "describeSessions", "authToken": "replaceWithAuthTokenFromCreateSession"}

The request is checked first (the warnings are shown, nothing is changed), then sent exactly as
written, and the :class:`~tutorial_kit.client.response.Response` is displayed and returned. Options:
``--save NAME`` stores the response in a notebook variable; ``--token NAME_OR_VALUE`` sends a
given token (a variable holding an API key, a Response, a KitClient, or the token itself);
``--fill`` fills documentation placeholders from the client and shows what it filled;
``--url URL`` talks to another server; ``--client NAME`` uses the KitClient in that variable;
``--http`` also shows the request as plain HTTP (a ``curl`` command and a few lines of ``httpx``,
secrets written as the names of the variables that hold them); ``--no-send`` shows the checks
(and with ``--http`` the plain HTTP) without sending anything.

Which client is used without ``--client``: the one held by the magics' :class:`ClientRegistry`
(set with :func:`set_default_client`, or made on first use by the registry's factory). Nothing is
kept in module globals: the registry lives on the magics instance registered in the shell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, Unicode

from .._exceptions import KitTransportError, KitUsageError
from ..client.http_snippets import PlainHttp
from ..client.kit_client import KitClient
from ..client.lint import lint_request, parse_request
from ..client.placeholders import fill_placeholders
from ..client.response import Response, mask_token
from .display import NoteList

__all__ = ["ClientRegistry", "JsonActionMagics", "get_magics", "load_ipython_extension", "set_default_client"]

logger = logging.getLogger(__name__)

_MIN_LITERAL_TOKEN = 20


class ClientRegistry:
    """Which :class:`KitClient` the magic uses by default, and the clients it made for ``--url``.

    ``factory`` (optional) makes the default client on first use, e.g. one connected to the
    kit's managed server. Clients made for ``--url`` belong to the registry: :meth:`close`
    closes them; the default client belongs to whoever set it.
    """

    def __init__(self, client: KitClient | None = None, *, factory: Callable[[], KitClient] | None = None) -> None:
        self._client = client
        self.factory = factory
        self._by_url: dict[str, KitClient] = {}

    @property
    def current(self) -> KitClient | None:
        """The default client (made by the factory on first use), or None."""
        if (self._client is None or self._client.closed) and self.factory is not None:
            self._client = self.factory()
        return self._client

    def set_current(self, client: KitClient | None) -> None:
        """Make ``client`` the default for ``%%jsonaction`` cells without ``--client``."""
        if client is not None and not isinstance(client, KitClient):
            raise KitUsageError(f"set_current() needs a KitClient, not {type(client).__name__}")
        self._client = client

    def for_url(self, url: str, *, like: KitClient | None = None) -> KitClient:
        """A client for ``url`` (kept for later cells). It copies ``verify`` and ``timeout`` from
        ``like`` but never its username, password or token: another server, other credentials."""
        client = self._by_url.get(url)
        if client is None or client.closed:
            client = KitClient(url, verify=like.verify, timeout=like.timeout) if like is not None else KitClient(url)
            self._by_url[url] = client
        return client

    def close(self) -> None:
        """Close the clients made for ``--url``."""
        for client in self._by_url.values():
            client.close()
        self._by_url.clear()


@magics_class
class JsonActionMagics(Magics):
    """Holds the ``%%jsonaction`` magic and its settings (change them with ``%config``)."""

    client_variable = Unicode(
        "", help="Name of a notebook variable holding the KitClient to use when --client is not given."
    ).tag(config=True)
    lint = Bool(True, help="Check each request and show warnings before sending it.").tag(config=True)

    def __init__(self, shell: Any = None, registry: ClientRegistry | None = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.registry = registry if registry is not None else ClientRegistry()
        #: notebook name -> the lesson step that makes it (set by start_lesson; used by error messages)
        self.step_names: dict[str, str] = {}

    @property
    def _user_ns(self) -> dict[str, Any]:
        """The notebook's variables (the magics are always registered in a shell)."""
        if self.shell is None:
            raise KitUsageError("%%jsonaction needs a running IPython (a notebook or an IPython shell).")
        return self.shell.user_ns

    @magic_arguments()
    @argument("--save", metavar="NAME", help="store the Response in the notebook variable NAME")
    @argument("--token", metavar="NAME_OR_VALUE", help="send this token (a variable's name, or the token)")
    @argument("--url", metavar="URL", help="send to another jsonAction server")
    @argument("--client", metavar="NAME", help="use the KitClient held by the notebook variable NAME")
    @argument("--fill", action="store_true", help="fill FairCom's documentation placeholders from the client")
    @argument("--http", action="store_true", help="also show the request as plain HTTP (curl and httpx)")
    @argument("--no-send", action="store_true", help="check (and with --http show) the request; do not send it")
    @cell_magic
    def jsonaction(self, line: str, cell: str) -> Response | None:
        """Send the JSON request in the cell body; display and return the Response."""
        args = parse_argstring(self.jsonaction, line)
        if args.save is not None and not args.save.isidentifier():
            raise UsageError(f"--save {args.save}: not a valid variable name")
        if not cell.strip():
            raise UsageError("The cell is empty: write one JSON request below the %%jsonaction line.")
        try:
            request = parse_request(cell)
        except KitUsageError as exc:
            raise UsageError(str(exc)) from None
        client = self._pick_client(args)
        effective, notes = self._prepare(request, client, args)
        if notes:
            display(NoteList("Filled in before sending:", notes, tone="info"))
        if self.lint:
            warnings = lint_request(cell, effective=effective)
            if warnings:
                title = f"Check this request ({len(warnings)} warning{'s' if len(warnings) != 1 else ''}):"
                display(NoteList(title, [str(w) for w in warnings], tone="warning"))
        if args.http:
            display(PlainHttp(client.url, effective, self._token_names(effective, args.token)))
        if args.no_send:
            display(NoteList("Not sent (--no-send).", [], tone="info"))
            return None
        response = self._send(client, cell, request, effective)
        if args.save:
            self._user_ns[args.save] = response
        return response

    def _pick_client(self, args: Any) -> KitClient:
        """The client for this cell: --url, --client (or client_variable), else the registry's."""
        name = args.client or self.client_variable
        named = self._user_ns.get(name) if name else None
        if name and not isinstance(named, KitClient):
            raise UsageError(f"--client {name}: the notebook has no KitClient in a variable named {name!r}.")
        if args.url:
            return self.registry.for_url(args.url, like=named or self.registry.current)
        client = named or self.registry.current
        if client is None:
            raise UsageError(
                "No client to send with: create one, e.g. `client = KitClient(url)`, then use "
                "`%%jsonaction --client client` or `tutorial_kit.notebook.magic.set_default_client(client)`."
            )
        return client

    def _token_names(self, request: dict[str, Any], given: str | None) -> dict[str, str]:
        """token -> the notebook expression that holds it (``api_key``, ``login.auth_token`` ...)."""
        names: dict[str, str] = {}
        if given and given in self._user_ns:
            held = self._user_ns[given]
            token = held if isinstance(held, str) else getattr(held, "auth_token", None)
            if isinstance(token, str):
                names[token] = given if isinstance(held, str) else f"{given}.auth_token"
        wanted = {request.get("authToken"), *((request.get("params") or {}).get("authTokens") or [])}
        found = [(rank, expression, token) for name, held in list(self._user_ns.items())
                 if not name.startswith("_") for rank, expression, token in _tokens_held(name, held)]
        for _, expression, token in sorted(found, key=lambda item: item[0]):  # plainest name first
            if token in wanted and token not in names:
                names[token] = expression
        return names

    def _resolve_token(self, value: str) -> tuple[str, str]:
        """Return ``(token, where it came from)`` for ``--token NAME_OR_VALUE``."""
        namespace = self._user_ns
        if value in namespace:
            held = namespace[value]
            if isinstance(held, str) and held:
                return held, f"--token {value}"
            token = getattr(held, "auth_token", None)
            if isinstance(token, str) and token:
                return token, f"--token {value}: {value}.auth_token"
            raise UsageError(f"--token {value}: the variable holds a {type(held).__name__} without a token.")
        if len(value) >= _MIN_LITERAL_TOKEN:
            return value, "--token"
        step = self.step_names.get(value)
        if step:
            raise UsageError(
                f"--token {value}: {value} is made in {step}: run that step's cells first, then this cell."
            )
        raise UsageError(f"--token {value}: the notebook has no variable named {value!r} (and it is too short "
                         "to be a token itself).")

    def _prepare(self, request: dict[str, Any], client: KitClient, args: Any) -> tuple[dict[str, Any], list[str]]:
        """Apply ``--token`` and ``--fill``; return the request to send and notes on what changed."""
        token, origin = self._resolve_token(args.token) if args.token else (None, "")
        effective, notes = dict(request), list[str]()
        if args.fill:
            # with --token, that token stands for "your token" in every placeholder (authTokens too)
            effective, notes = fill_placeholders(request, client, auth_token=token, check_tokens=token)
        if token is not None and effective.get("authToken") != token:
            effective["authToken"] = token
            notes.append(f'authToken -> "{mask_token(token)}" ({origin})')
        return effective, notes

    @staticmethod
    def _send(client: KitClient, text: str, request: dict[str, Any], effective: dict[str, Any]) -> Response:
        """Send the cell text as written when nothing changed (the server then sees repeated keys)."""
        try:
            return client.call_text(text) if effective == request else client.call(effective)
        except (KitTransportError, KitUsageError) as exc:
            raise UsageError(f"{type(exc).__name__}: {exc}") from None


def _tokens_held(name: str, held: Any) -> list[tuple[int, str, str]]:
    """The tokens a notebook variable holds: (rank, expression that reads it, token); rank 0 is plainest."""
    if isinstance(held, str):
        return [(0, name, held)] if len(held) >= _MIN_LITERAL_TOKEN else []
    found = []
    if isinstance(held, (Response, KitClient)) and isinstance(held.auth_token, str):
        found.append((1 if isinstance(held, Response) else 2, f"{name}.auth_token", held.auth_token))
    client = getattr(held, "client", None)
    if isinstance(client, KitClient) and isinstance(client.auth_token, str) and not isinstance(held, KitClient):
        found.append((3, f"{name}.client.auth_token", client.auth_token))
    return found


def get_magics(ip: Any = None) -> JsonActionMagics:
    """The :class:`JsonActionMagics` registered in ``ip`` (the running shell by default); loads it if needed."""
    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
        if ip is None:
            raise KitUsageError("get_magics() needs a running IPython (a notebook or an IPython shell).")
    found = ip.magics_manager.registry.get(JsonActionMagics.__name__)
    if found is None:
        load_ipython_extension(ip)
        found = ip.magics_manager.registry[JsonActionMagics.__name__]
    return found


def set_default_client(client: KitClient | None, ip: Any = None) -> None:
    """Make ``client`` the one ``%%jsonaction`` uses when a cell names no ``--client``."""
    get_magics(ip).registry.set_current(client)


def load_ipython_extension(ip: Any) -> None:
    """Register ``%%jsonaction`` in ``ip`` (``%load_ext tutorial_kit``); loading twice keeps the first."""
    if JsonActionMagics.__name__ in ip.magics_manager.registry:
        return
    magics = JsonActionMagics(shell=ip)
    ip.register_magics(magics)
    ip.configurables.append(magics)
    logger.debug("registered %%%%jsonaction")


def unload_ipython_extension(ip: Any) -> None:
    """Close the clients the magic made for ``--url`` (``%unload_ext tutorial_kit``)."""
    found = ip.magics_manager.registry.get(JsonActionMagics.__name__)
    if found is not None:
        found.registry.close()
