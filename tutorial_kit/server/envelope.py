"""The jsonAction envelope: one request in, one response out.

:class:`Dispatcher` is the single entry point for HTTP and WebSocket alike. It checks the
envelope, finds the action, checks the authToken, calls the action, and writes the response with
its keys in the contract's order. It is also the one place where an exception becomes an error
envelope; an unexpected one is logged with its traceback and answered with a generic 12009.

An answer never copies more of its request than a small multiple of the request's size (the
"echo budget", :class:`EchoBudget`): a ``requestId`` whose copy would not fit is refused before
the action runs (12034), and a ``debugInfo.request`` copy that would not fit is left out with a
warning. Pretty-printing (``debug: "max"``) is done with a bounded encoder, so no request can make
the server spend seconds indenting a 60-deep array.
"""

from __future__ import annotations

import inspect
import json
import logging
import sqlite3
from collections.abc import Awaitable, Coroutine
from typing import Any

from .actions import ActionSpec
from .backend import Backend, CallContext, store_error
from .echo import EchoBudget, OverBudget, pretty, pretty_object, pretty_within
from .errors import BAD_TOKEN_MESSAGE, ApiError, ErrorCode
from .kit_choices import choice
from .reading import KNOWN_TOP, RequestState, clip, parse_body, read_action, read_debug
from .session_lists import SessionsResult
from .settings import describe_json
from .vocabulary import mask_passwords

__all__ = ["Answer", "Dispatcher", "EchoBudget"]

log = logging.getLogger(__name__)

#: one compact encoder (json.dumps with separators= builds a new encoder on every call)
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode
#: debug modes whose answers are pretty-printed (FairCom: all but "none"); only "max" copies the request
_PRETTY_MODES = frozenset({"max", "min"})


class Answer:
    """What :meth:`Dispatcher.handle` returns: ``ready`` holds the answer's bytes when the action
    did not wait; otherwise ``pending`` is the coroutine that finishes it. :meth:`wait` gives the
    bytes either way; the HTTP fast path reads ``ready`` to answer without a task."""

    __slots__ = ("ready", "pending")

    def __init__(self, ready: bytes | None = None, *, pending: Coroutine[Any, Any, bytes] | None = None) -> None:
        self.ready, self.pending = ready, pending

    async def wait(self) -> bytes:
        if self.pending is None:
            assert self.ready is not None
            return self.ready
        return await self.pending


class Dispatcher:
    """Turns request bodies into response bodies for one :class:`Backend`."""

    def __init__(self, backend: Backend, echo: EchoBudget | None = None) -> None:
        self.backend = backend
        self.echo = echo or EchoBudget()

    # --- entry points ---

    def handle(self, body: bytes | str, client_ip: str) -> Answer:
        """Answer one request: its bytes at once, or (actions that wait: password hashing,
        database writes) a coroutine to await; see :class:`Answer`."""
        req = RequestState(self.echo.for_request(_size_of(body)))
        try:
            spec, ctx = self._prepare(body, client_ip, req)
            result = spec.func(self.backend, ctx)
            if inspect.isawaitable(result):
                return Answer(pending=self._finish_async(result, ctx, req))
        except ApiError as err:
            return Answer(self._error(req, err))
        except sqlite3.Error as err:  # a read that met another program's lock, a damaged page...
            log.warning("a database read failed: %s", err)
            return Answer(self._error(req, store_error(err)))
        except Exception:  # noqa: BLE001 - the one place unexpected errors become envelopes
            log.exception("unexpected error while answering a request")
            return Answer(self._error(req, _internal_error()))
        return Answer(self._success(req, result, ctx))

    async def _finish_async(self, pending: Awaitable[Any], ctx: CallContext, req: RequestState) -> bytes:
        try:
            if self.backend.admin_pending:  # a fresh home's first moments: ADMIN is being stored
                try:
                    await self.backend.admin_stored()
                except BaseException:
                    if inspect.iscoroutine(pending):
                        pending.close()
                    raise
            result = await pending
        except ApiError as err:
            return self._error(req, err)
        except sqlite3.Error as err:
            if not isinstance(err, sqlite3.IntegrityError):
                log.warning("a database operation failed: %s", err)
            return self._error(req, store_error(err))
        except Exception:  # noqa: BLE001
            log.exception("unexpected error while answering a request")
            return self._error(req, _internal_error())
        return self._success(req, result, ctx)

    def error_body(self, code: int, message: str) -> bytes:
        """An error envelope for a request that could not be read at all (too large, not POST)."""
        return self._error(RequestState(self.echo.floor), ApiError(code, message))

    # --- reading the envelope ---

    def _prepare(self, body: bytes | str, client_ip: str, req: RequestState) -> tuple[ActionSpec, CallContext]:
        data = parse_body(body, req)
        req.data = data
        req.has_request_id = "requestId" in data
        read_debug(data, req)
        for key in data:
            if key not in KNOWN_TOP:
                req.warnings.append(
                    {
                        "code": choice("warning.unknown_property"),
                        "message": f'the top-level property "{clip(key)}" is not part of the envelope and was ignored',
                    }
                )
        token = data.get("authToken")
        if token is not None and not isinstance(token, str):
            raise ApiError.invalid("authToken", describe_json(token), "it must be the token string from createSession")
        req.token = token or None
        spec = read_action(data, req)
        params = data.get("params")
        if params is None:
            params = {}
        elif not isinstance(params, dict):
            raise ApiError.invalid("params", describe_json(params), "it must be an object, e.g. {}")
        if "apiVersion" in data and not isinstance(data["apiVersion"], str):
            raise ApiError.invalid("apiVersion", describe_json(data["apiVersion"]), 'it must be a string such as "1.0"')
        if "responseOptions" in data and not isinstance(data["responseOptions"], (dict, type(None))):
            raise ApiError.invalid("responseOptions", describe_json(data["responseOptions"]), "it must be an object")
        if "apiVersion" not in data:
            req.supplied["apiVersion"] = "1.0"
        ctx = CallContext(params, client_ip, token=req.token, warnings=req.warnings, duplicate_keys=req.duplicates)
        self._check_token(spec, ctx)
        req.session = ctx.session
        self._fit_request_id(req, ctx)
        return spec, ctx

    def _check_token(self, spec: ActionSpec, ctx: CallContext) -> None:
        rule, token = spec.token, ctx.token
        if rule == "none":
            return
        if token is None:
            if rule in ("required", "named"):
                raise ApiError.missing(
                    "authToken", f"{spec.name} needs the authToken from createSession at the top level of the request"
                )
            return
        if rule == "named":
            return
        session = self.backend.sessions.get(token)
        if session is None:
            raise ApiError(ErrorCode.BAD_TOKEN, BAD_TOKEN_MESSAGE)  # FairCom's documented text
        self.backend.sessions.touch(session)
        ctx.session = session

    # --- writing the response ---

    def _debug_mode(self, req: RequestState, ctx: CallContext | None, failed: bool) -> str:
        mode = req.debug
        if mode is None:
            session = ctx.session if ctx is not None else req.session
            mode = session.settings["defaultDebug"] if session else self.backend.config.default("defaultDebug")
            req.supplied["debug"] = mode
        if mode == "maxOnError":
            return "max" if failed else "none"
        return mode

    def _success(self, req: RequestState, result: Any, ctx: CallContext) -> bytes:
        mode = self._debug_mode(req, ctx, failed=False)
        token = ctx.response_token or req.token
        return self._encode(req, mode, token, result, ErrorCode.OK, "")

    def _error(self, req: RequestState, err: ApiError) -> bytes:
        mode = self._debug_mode(req, None, failed=True)
        return self._encode(req, mode, req.token, None, err.code, err.message)

    def _encode(self, req: RequestState, mode: str, token: str | None, result: Any, code: int, message: str) -> bytes:
        try:
            if mode in _PRETTY_MODES:
                return self._pretty_answer(req, mode, token, result, code, message).encode()
            return self._compact_answer(req, mode, token, result, code, message).encode()
        except (RecursionError, ValueError, TypeError):
            log.warning("could not echo the request in the response; answering without it", exc_info=True)
            bare = RequestState()
            return self._compact_answer(
                bare, "none", token, None, ErrorCode.INVALID_VALUE,
                "The request is nested too deeply to be echoed back: send a flatter requestId and params.",
            ).encode()

    # --- copies of the request, within the echo budget ---

    def _request_id_echo(self, req: RequestState, pretty: bool) -> str | None:
        """The requestId as the answer writes it, or None if it does not fit the echo budget."""
        form = "pretty" if pretty else "compact"
        if form not in req.echo:
            try:
                compact = req.echo.get("compact") or _COMPACT(req.data["requestId"])
                text = pretty_within(req.data["requestId"], req.budget, 1, compact) if pretty else compact
                req.echo[form] = text if len(text) <= req.budget else None
            except (OverBudget, RecursionError, ValueError):
                req.echo[form] = None
        return req.echo[form]

    def _fit_request_id(self, req: RequestState, ctx: CallContext) -> None:
        """Before the action runs: refuse a requestId whose copy would not fit in the answer."""
        if not req.has_request_id:
            return
        modes = {self._debug_mode(req, ctx, failed=False), self._debug_mode(req, ctx, failed=True)}
        forms = {mode in _PRETTY_MODES for mode in modes}
        if any(self._request_id_echo(req, pretty) is None for pretty in forms):
            req.has_request_id = False  # the refusal itself carries no copy
            raise ApiError(
                ErrorCode.TOO_LONG,
                f"The requestId is too large to copy back into the answer (this request may use {req.budget} "
                "bytes for copies of itself): match answers with a short string or number.",
            )

    def _echo_request_id(self, req: RequestState, pretty: bool) -> str | None:
        """The requestId text for this answer; None leaves it out (an error before the check)."""
        if not req.has_request_id:
            return None
        text = self._request_id_echo(req, pretty)
        if text is None:
            req.warnings.append(
                {
                    "code": ErrorCode.TOO_LONG,
                    "message": "the requestId is too large to copy back and was left out: use a short one",
                }
            )
        return text

    def _request_copy(self, req: RequestState, budget: int) -> str:
        """debugInfo.request at its place in a pretty answer, or a note when it would not fit."""
        try:
            if "requestId" in req.data and (req.echo.get("pretty", "") is None or req.echo.get("compact", "") is None):
                raise OverBudget  # the copy holds the requestId, which alone did not fit
            data = mask_passwords(req.data) if req.may_hold_password else req.data
            return pretty_within(data, budget, 2, _COMPACT(data))
        except (OverBudget, RecursionError, ValueError):
            req.warnings.append({"code": ErrorCode.TOO_LONG,
                                 "message": f"the copy of the request was left out: it would take more than {budget} "
                                            "bytes (send a smaller requestId or params to see it)"})
            return json.dumps("(left out: too large to copy back)")

    # --- the two layouts ---

    def _pretty_answer(
        self, req: RequestState, mode: str, token: str | None, result: Any, code: int, message: str
    ) -> str:
        """The answer as ``json.dumps(answer, indent=2)`` would write it, built from bounded pieces
        (``debugInfo.request``, the copy of the request, only for ``debug: "max"``)."""
        items: list[tuple[str, str]] = []
        if token is not None:
            items.append(("authToken", json.dumps(token)))
        if code == ErrorCode.OK:
            items.append(("result", pretty(result.to_obj() if isinstance(result, SessionsResult) else result, 1)))
        request_id = self._echo_request_id(req, pretty=True)
        if request_id is not None:
            items.append(("requestId", request_id))
        info = [("request", self._request_copy(req, req.budget - len(request_id or "")))] if mode == "max" else []
        info += [("serverSuppliedValues", pretty(req.supplied, 2)), ("errorData", "{}"),
                 ("warnings", pretty(req.warnings, 2))]
        items += [
            ("debugInfo", pretty_object(info, 1)),
            ("errorCode", str(code)),
            ("errorMessage", json.dumps(message)),
        ]
        return pretty_object(items, 0)

    def _compact_answer(
        self, req: RequestState, mode: str, token: str | None, result: Any, code: int, message: str
    ) -> str:
        # pieces joined once (an answer listing 10,000 sessions is megabytes: copy it once)
        pieces = ["{"]
        if token is not None:
            pieces += ('"authToken":', json.dumps(token), ",")
        if code == ErrorCode.OK:
            pieces.append('"result":')
            if isinstance(result, SessionsResult):
                pieces += result.json_parts()
            else:
                pieces.append(_COMPACT(result))
            pieces.append(",")
        request_id = self._echo_request_id(req, pretty=False)
        if request_id is not None:
            pieces += ('"requestId":', request_id, ",")
        pieces += (f'"errorCode":{code},"errorMessage":', json.dumps(message), "}")
        return "".join(pieces)


def _size_of(body: bytes | str) -> int:
    """The request's size in bytes (a WebSocket message arrives as text)."""
    if isinstance(body, bytes) or body.isascii():
        return len(body)
    return len(body.encode("utf-8", "surrogatepass"))


def _internal_error() -> ApiError:
    return ApiError(
        ErrorCode.INTERNAL,
        "The server hit an unexpected problem; its log has the details. Try the request again, "
        "and restart the server if it keeps happening.",
    )
