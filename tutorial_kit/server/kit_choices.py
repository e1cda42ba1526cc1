"""Every "kit's choice": the one table of decisions FairCom does not document.

The contract (``faircom-json-api.md``) marks the places where FairCom's pages say nothing and the
kit had to decide. Each such decision lives here, once, so that it can be corrected in one place
when a real server is seen to behave otherwise. Code elsewhere reads these names; it never repeats
the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Choice", "KIT_CHOICES", "choice"]


@dataclass(frozen=True)
class Choice:
    """One decision: its value and why the kit made it."""

    value: Any
    why: str


KIT_CHOICES: dict[str, Choice] = {
    # --- error codes (FairCom's headers name the condition; its pages do not map them) ---
    "error.missing_property": Choice(12025, "FairCom header: missing required parameter"),
    "error.invalid_value": Choice(12012, "FairCom header: invalid argument value"),
    "error.too_long": Choice(12034, "FairCom header: parameter exceeded maximum size"),
    "error.body_too_large": Choice(12028, "FairCom header: content too large"),
    "error.unknown_api": Choice(12013, "FairCom header: service not found"),
    "error.unknown_action": Choice(12008, "FairCom header: function not found"),
    "error.permanent_disabled": Choice(12006, "FairCom header: feature not supported"),
    "error.session_limit": Choice(12015, "FairCom header: out of limit"),
    "error.bad_credentials": Choice(12033, "FairCom header: invalid password; also used for a blocked login"),
    "error.admin_required": Choice(12030, "FairCom header: administration permission required"),
    "error.account_exists": Choice(12020, "FairCom header: instance name already exists"),
    "error.not_post": Choice(12006, "HTTP 405 carries this code in its envelope"),
    "error.foreign_request": Choice(
        12006, "HTTP 403: a request from a web page (Origin of another site, or a non-loopback Host on a loopback server)"
    ),
    "error.other_user": Choice(
        12006, "HTTP 403: a connection from another operating-system user's process to a loopback server"
    ),
    "error.internal": Choice(12009, "FairCom header: internal error; details only in the log"),
    # --- warnings in debugInfo.warnings ---
    "warning.duplicate_key": Choice(12012, "a JSON object repeated a key; the last one wins"),
    "warning.unknown_property": Choice(12012, "a property the action does not know was ignored"),
    # --- behaviour ---
    "password_mask": Choice("********", "debugInfo's request copy hides passwords (FairCom echoes them)"),
    "timestamp_zone": Choice("UTC", "session timestamps are UTC, written without a zone"),
    "permanent_survives_flag_off": Choice(
        True, "turning enablePermanentJsonApiSessions off refuses new API keys but keeps existing ones"
    ),
    "account_actions": Choice(
        ("createAccount", "alterAccount", "dropAccount", "listAccounts"),
        "workshop account management; names follow FairCom's verbNoun style",
    ),
    "account_username_max_bytes": Choice(31, "FairCom user names are at most 31 bytes"),
    "login_throttle_failures": Choice(5, "the 5th wrong login for a username from one address blocks"),
    "login_throttle_window_seconds": Choice(60, "failures older than this are forgotten"),
    "login_throttle_block_seconds": Choice(60, "a fixed block; attempts during it do not extend it"),
    "token_length": Choice(64, "authToken: 64 characters from [A-Za-z0-9], from the secrets module"),
    "max_body_bytes": Choice(1024 * 1024, "bodies over 1 MiB get 12028; a server option, not a services.json one"),
    "last_access_flush_seconds": Choice(5, "a permanent session's last-access time reaches disk at most 5 s late"),
    "password_hash": Choice(
        {"algorithm": "scrypt", "n": 2**14, "r": 8, "p": 1, "salt_bytes": 16, "dklen": 32},
        "standard-library scrypt, about 30-60 ms per check, run off the event loop",
    ),
    "merge_response_options": Choice(
        True, "defaultResponseOptions given to createSession/alterSession replace only the options named"
    ),
    "listservices_tls_needs_token": Choice(True, "listener tls objects are shown only to a valid authToken"),
    # --- the server process's life and who may reach it (docs/security.md, docs/jupyterhub.md) ---
    "own_user_only": Choice(
        True, "a loopback server answers only connections from processes of its own OS user (found in "
        "/proc/net/tcp, once per connection); `serve --allow-other-users` turns it off",
    ),
    "serve_idle_timeout_seconds": Choice(
        3600, "the lessons' background server stops after this long with no request and no open WebSocket "
        "(a temporary session's default idleConnectionTimeoutSeconds); the kit starts it again on the next request",
    ),
}


def choice(name: str) -> Any:
    """Return the value of the kit's choice called ``name``."""
    return KIT_CHOICES[name].value
