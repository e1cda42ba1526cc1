"""How a notebook shows the kit's errors: one short paragraph, never a traceback through the kit.

An exception from the kit's tree (:class:`~tutorial_kit.KitError`) raised in a notebook cell is
shown as three lines at most: what went wrong, where (file, line and column for a broken
``services.json``), and what to do next. The cell still counts as failed ("Run all" stops there),
but the learner reads the one useful sentence instead of 59 lines of the kit's own code.

A ``NameError`` for a name a lesson makes in one of its steps (``api_key``, ``used`` ...) says
which step makes it; the lesson's names live on the ``%%jsonaction`` magics object of the shell
(``step_names``, set by ``start_lesson``). Any other exception keeps IPython's usual traceback.

What to do comes from the exception's notes (``exc.add_note(...)``, added where the kit knows the
cell to run next, e.g. "run this cell again") or else from the exception's class.

:func:`install` registers the handler in an IPython shell; ``import tutorial_kit`` calls it when
IPython is already running, so it works even when the very first cell fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .._exceptions import (
    ConfigFileError,
    JsonActionError,
    KitError,
    KitTransportError,
    KitUsageError,
    RemoteServerError,
    ServerControlError,
    ServerNotRunningError,
)
from ..client.response import mask_token
from ..server.errors import ErrorCode

__all__ = ["paragraph", "name_paragraph", "install", "shown_path"]

log = logging.getLogger(__name__)

_RED, _BOLD, _RESET = "\x1b[31m", "\x1b[1m", "\x1b[0m"
_TOKEN = re.compile(r"\b[A-Za-z0-9]{40,}\b")
_GENERIC_ADVICE = ("Fix the file, then start the server again.", "Fix the file, then start the server again")

def shown_path(path: str | Path) -> str:
    """``services.json``'s path as the learner sees it in JupyterLab: ``<home>/config/services.json``."""
    parts = Path(path).parts
    return str(Path(*parts[-3:])) if len(parts) >= 3 and parts[-2] == "config" else str(path)


def _hide_tokens(text: str) -> str:
    """Shorten anything that looks like a token (64 letters and digits) to its first four."""
    return _TOKEN.sub(lambda m: mask_token(m.group(0)), text)


def _config_lines(err: ConfigFileError) -> tuple[str, str]:
    """(headline, where and what) for a broken services.json."""
    message = err.message
    if err.path:
        message = message.replace(f"{err.path}: ", "").replace(err.path, shown_path(err.path))
    for advice in _GENERIC_ADVICE:
        message = message.replace(advice, "").strip()
    where = shown_path(err.path) if err.path else "services.json"
    if err.line is not None and f"line {err.line}, column {err.column}" in message:
        pass  # the message names the place itself
    elif err.line is not None:
        where += f", line {err.line}, column {err.column}"
    elif err.property_path:
        where += f", {err.property_path}"
    return "services.json has a mistake, so the server did not start", f"{where}: {message}"


def _default_advice(exc: BaseException) -> str:
    """What to do when the code that raised did not say."""
    if isinstance(exc, ConfigFileError):
        return "fix the file at that place and save it, then run the lesson's first cell again."
    if isinstance(exc, ServerNotRunningError):
        return "run the lesson's first cell again: it starts the server."
    if isinstance(exc, JsonActionError) and exc.error_code == ErrorCode.BAD_TOKEN:
        return ("that session ended (a server restart ends every temporary session): log in again with "
                "client.create_session(), or send an API key.")
    if isinstance(exc, JsonActionError):
        return "read the message above; pass check=False to get the answer back instead of an error."
    if isinstance(exc, RemoteServerError):
        return "ask the server's owner to do these steps."
    return ""


def paragraph(exc: BaseException) -> str:
    """The kit's error ``exc`` as one short paragraph (plain text, tokens shortened)."""
    kind = type(exc).__name__
    if isinstance(exc, ConfigFileError):
        head, body = _config_lines(exc)
    elif isinstance(exc, JsonActionError):
        head, body = f"The server answered errorCode {exc.error_code}", str(exc)
    elif isinstance(exc, KitTransportError):
        head, body = "The request got no answer from a jsonAction server", str(exc)
    elif isinstance(exc, ServerControlError):
        head, body = "The kit could not control the server", str(exc)
    elif isinstance(exc, KitUsageError):
        head, body = "The kit was called the wrong way", str(exc)
    else:
        head, body = "The kit stopped", str(exc)
    notes = [str(note) for note in getattr(exc, "__notes__", ())]
    advice = " ".join(notes) or _default_advice(exc)
    lines = [f"{head} ({kind}).", body.strip()]
    if advice:
        lines.append(f"What to do: {advice}")
    return _hide_tokens("\n".join(line for line in lines if line))


def name_paragraph(name: str, step: str) -> str:
    """A NameError for a name that ``step`` of the lesson makes."""
    return (f"`{name}` is not defined yet (NameError).\n{step} makes it.\n"
            f"What to do: run the cells of {step.split(':')[0]} first, then this cell again.")


def _undefined_name(value: BaseException) -> str | None:
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    match = re.match(r"name '(\w+)' is not defined", str(value))
    return match.group(1) if match else None


def _step_names(shell: Any) -> Mapping[str, str]:
    """The current lesson's names (name -> step), kept by the shell's %%jsonaction magics object."""
    magics = shell.magics_manager.registry.get("JsonActionMagics")
    return getattr(magics, "step_names", {}) or {}


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
    """IPython's custom exception hook: a paragraph for the kit's errors and the lesson's names."""
    text: str | None = None
    if isinstance(value, KitError):
        text = paragraph(value)
    elif isinstance(value, NameError):
        name = _undefined_name(value)
        steps = _step_names(shell)
        if name is not None and name in steps:
            text = name_paragraph(name, steps[name])
    if text is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return []
    head, _, rest = text.partition("\n")
    stb = [f"{_RED}{_BOLD}{head}{_RESET}\n{rest}"]
    shell._showtraceback(etype, value, stb)
    return stb


def install(shell: Any, handler: Callable[..., list[str]] = _handler) -> bool:
    """Register the paragraph rendering in ``shell`` (an IPython InteractiveShell); True if done.

    Another custom handler that someone else installed is left in place (and False returned).
    """
    current = getattr(shell, "custom_exceptions", ())
    if current and current != (KitError, NameError):
        log.info("IPython already has a custom exception handler for %s; leaving it", current)
        return False
    shell.set_custom_exc((KitError, NameError), handler)
    return True
