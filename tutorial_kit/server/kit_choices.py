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
        12006,
        "HTTP 403: a request from a web page (Origin of another site, or a non-loopback Host on a loopback server)",
    ),
    "error.other_user": Choice(
        12006, "HTTP 403: a connection from another operating-system user's process to a loopback server"
    ),
    "error.internal": Choice(12009, "FairCom header: internal error; details only in the log"),
    "error.database_busy": Choice(
        12009, "FairCom header: internal error; the message says another program held the database and nothing changed"
    ),
    "error.database_failed": Choice(
        12009,
        "FairCom header: internal error; the message says the database write failed (disk full?) and nothing changed",
    ),
    "error.login_queue_full": Choice(12015, "FairCom header: out of limit; too many logins waiting to be checked"),
    # --- warnings in debugInfo.warnings ---
    "warning.duplicate_key": Choice(12012, "a JSON object repeated a key; the last one wins"),
    "warning.unknown_property": Choice(12012, "a property the action does not know was ignored"),
    "warning.value_taken": Choice(12012, 'a "true" or "4" string where a boolean or number belongs was taken as one'),
    "warning.not_found": Choice(12012, "describeAccounts: a listed username matches no account the caller may see"),
    "warning.account_property": Choice(
        12012, "an account property is stored only, or createAccount set an empty password"
    ),
    # --- behaviour ---
    "password_mask": Choice("********", "debugInfo's request copy hides passwords (FairCom echoes them)"),
    "timestamp_zone": Choice("UTC", "session timestamps are UTC, written without a zone"),
    "permanent_survives_flag_off": Choice(
        True, "turning enablePermanentJsonApiSessions off refuses new API keys but keeps existing ones"
    ),
    "login_throttle_failures": Choice(5, "the 5th wrong login for a username from one address blocks"),
    "login_throttle_window_seconds": Choice(60, "failures older than this are forgotten"),
    "login_throttle_block_seconds": Choice(60, "a fixed block; attempts during it do not extend it"),
    "token_length": Choice(64, "authToken: 64 characters from [A-Za-z0-9], from the secrets module"),
    "max_body_bytes": Choice(1024 * 1024, "bodies over 1 MiB get 12028; a server option, not a services.json one"),
    # --- server limits (each one a `tutorial-kit serve` option and a ServerCore keyword; docs/security.md) ---
    "body_drain_factor": Choice(
        2, "an over-limit body is read up to 2x max_body_bytes (answered, connection kept); past that: answer, close"
    ),
    "answer_echo_factor": Choice(
        2, "an answer's copies of its request (requestId, debugInfo.request) take at most 2x the request's bytes"
    ),
    "answer_echo_floor_bytes": Choice(
        256 * 1024, "... and always at least 256 KiB, so small requests are copied back whole"
    ),
    "max_connections": Choice(
        1000, "client connections (HTTP and WebSocket) at once; the longest-idle is closed for a new one"
    ),
    "connection_fd_reserve": Choice(
        64, "the connection cap stays this many below the fd soft limit (database, log, listening sockets)"
    ),
    "header_timeout_seconds": Choice(10, "a request's headers must arrive within 10 s of its first byte"),
    "connection_idle_timeout_seconds": Choice(300, "a keep-alive connection with no request for 300 s is closed"),
    "body_timeout_seconds": Choice(60, "a request body must arrive within 60 s"),
    "login_queue_per_address": Choice(
        32,
        "password checks waiting or running for one client address (a room behind one NAT logs in at once); "
        "more get 12015",
    ),
    "login_queue_total": Choice(128, "password checks waiting or running in all; more get 12015"),
    "db_busy_timeout_seconds": Choice(
        2.0, "a write waits this long for another program's database lock, then 12009 'busy'"
    ),
    "services_json_max_bytes": Choice(1024 * 1024, "services.json is read up to 1 MiB; a larger file stops the start"),
    "last_access_flush_seconds": Choice(5, "a permanent session's last-access time reaches disk at most 5 s late"),
    "password_hash": Choice(
        {"algorithm": "scrypt", "n": 2**14, "r": 8, "p": 1, "salt_bytes": 16, "dklen": 32},
        "standard-library scrypt, about 30-60 ms per check, run off the event loop",
    ),
    "password_hash_fallback": Choice(
        {"algorithm": "pbkdf2_sha256", "iterations": 50_000, "salt_bytes": 16, "dklen": 32},
        "where hashlib has no scrypt (Pyodide, the kit in the browser): PBKDF2-HMAC-SHA256 (RFC 8018) "
        "from hashlib.sha256; about 0.2 s per check in WebAssembly; see docs/security.md",
    ),
    "merge_response_options": Choice(
        True, "defaultResponseOptions given to createSession/alterSession replace only the options named"
    ),
    "admin_sees_every_session": Choice(
        True,
        "describeSessions and listSessions show the administrator every live session, as the seed tutorial "
        "does; FairCom's reference pages say the sessions created by the caller's account",
    ),
    "listservices_tls_needs_token": Choice(True, "listener tls objects are shown only to a valid authToken"),
    # --- the envelope, where FairCom's pages leave a case open ---
    "api_null_is_default": Choice(
        True, '"api": null is treated like "api" left out (FairCom documents "" as the default)'
    ),
    "server_version": Choice(
        "FairCom tutorial kit {version} (a stand-in for learning, not a FairCom server)",
        "serverVersion must never be mistaken for a real server's (FairCom's pages show the product and version)",
    ),
    # --- accounts: what FairCom's account pages leave open ---
    "roles_not_emulated": Choice(
        ("assignRolesToAccounts", "cloneAccount"),
        "the kit teaches sessions; these documented role actions answer 12008 naming their FairCom page",
    ),
    "services_not_emulated": Choice(
        ("manageService",), "the kit's only service action is listServices; this one answers 12008 naming its page"
    ),
    "account_property_defaults": Choice(
        {
            "lockoutAfterNFailedAttempts": 0,
            "maxDaysBeforePasswordMustChange": 0,
            "maxMinutesBeforeNextLogin": 0,
            "memoryLimit": 0,
            "memoryRule": "default",
        },
        "FairCom defaults them to server settings (LOGON_FAIL_LIMIT, ...) the kit does not have; these are the "
        "values FairCom's listAccounts example shows for the admin account",
    ),
    "account_lockout_default_wait_minutes": Choice(
        5, "lockoutAfterNFailedAttempts without lockoutWaitMinutes locks for this long (FairCom: the server's setting)"
    ),
    "account_stored_only": Choice(
        ("maxDaysBeforePasswordMustChange", "maxMinutesBeforeNextLogin", "memoryLimit", "memoryRule"),
        "stored and returned, not acted on (a warning says so); the dates and the lockout are enforced at login",
    ),
    "account_lockout_in_memory": Choice(
        True, "an account's failed-login count and lockout live in memory: a restart ends them"
    ),
    "account_disable_date_whole_day": Choice(
        True, 'a disableDatetime given as a date ("2024-12-31") allows logins through that whole day, UTC'
    ),
    "memory_rule_any_string": Choice(
        True, 'memoryRule: FairCom shows only "default"; any string of 1 to 64 bytes is stored'
    ),
    "admin_role_names": Choice(
        ("ADMIN",), 'roleNames of the administrator (FairCom\'s listAccounts example shows role "ADMIN")'
    ),
    "list_accounts_admin_only": Choice(
        True, "FairCom lists the accounts the caller 'is authorized to see'; in the kit only the administrator may"
    ),
    "describe_accounts_default_own": Choice(
        True, "describeAccounts without usernames (or with []) describes the caller's account"
    ),
    "describe_accounts_result_key": Choice(
        "accounts", "FairCom's example shows one bare account object; the kit lists them"
    ),
    "account_actions_empty_result": Choice(True, 'createAccount, alterAccount, dropAccounts answer "result": {}'),
    "alter_own_account_properties": Choice(
        ("password", "accountDescription"),
        "an account may change these of its own; its dates, lockout and limits need the administrator",
    ),
    "alter_account_needs_current_password": Choice(
        False, "FairCom's alterAccount documents no property for the current password; the kit asks for none"
    ),
    "password_change_ends_sessions": Choice(
        True, "a new password ends every other session of the account, API keys too (a stolen token stops working)"
    ),
    "drop_admin_refused": Choice(True, "dropAccounts naming ADMIN is refused (12012) and drops nothing"),
    # --- services.json and listServices ---
    "served_protocols": Choice(("http", "https"), "listeners of other protocols (mqtt, ws, ...) are kept, not served"),
    "https_without_certificate_file": Choice(
        "not served", "an https listener whose certificate file is absent is not served (warning), if another is"
    ),
    # --- the server process's life and who may reach it (docs/security.md, docs/jupyterhub.md) ---
    "own_user_only": Choice(
        True,
        "a loopback server answers only connections from processes of its own OS user (asked of the "
        "kernel once per connection); `serve --allow-other-users` turns it off",
    ),
    "serve_idle_timeout_seconds": Choice(
        3600,
        "the lessons' background server stops after this long with no request and no open WebSocket "
        "(a temporary session's default idleConnectionTimeoutSeconds); the kit starts it again on the next request",
    ),
}


def choice(name: str) -> Any:
    """Return the value of the kit's choice called ``name``."""
    return KIT_CHOICES[name].value
