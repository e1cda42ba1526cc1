"""Where the kit's documented behaviour comes from: one FairCom page per action and per fact.

This is the other half of :mod:`kit_choices`. A row here says which FairCom page documents an
action or a fact the kit follows. Where FairCom's pages disagree with each other, or with the
contract (``faircom-json-api.md``), ``differs`` says which one the kit follows and why: the rule is
that a page wins over the contract, and the newest page wins over an older one. Pages on
``documentation.faircom.com`` and ``faircom.helpjuice.com`` (the same newer site) are newer than
those on ``docs.faircom.com``.

Every action the server knows has a row ``action.<name>`` (``tests/test_sources.py`` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Source", "SOURCES", "FAIRCOM_HOSTS", "page", "is_faircom_page"]

FAIRCOM_HOSTS = ("docs.faircom.com", "documentation.faircom.com", "faircom.helpjuice.com")

_DOCS = "https://docs.faircom.com/docs/en/"
_NEW = "https://documentation.faircom.com/en_US/"
_HJ = "https://faircom.helpjuice.com/en_US/"


@dataclass(frozen=True)
class Source:
    """A FairCom page, what the kit takes from it, other pages on the same subject, and any disagreement."""

    url: str
    fact: str
    also: tuple[str, ...] = ()
    differs: str = ""


SOURCES: dict[str, Source] = {
    # --- session and services actions ---
    "action.createSession": Source(
        "https://documentation.faircom.com/sessions-and-services-api-actions/createsession",
        "params username, password, permanentSession (boolean, default false) and the session settings; "
        "the answer is the session object, authToken also at the top level",
        also=(
            _DOCS + "UUID-ceb14f7c-ae19-a27c-b706-ed44ea0aa291.html",
            _DOCS + "UUID-43f62357-250f-e408-087b-e1f5f237eab2.html",
        ),
        differs='The older page sends "permanentSession": "true" (a string); the newest sends true. The kit takes the '
        'string with a warning. The newest maximal example has no comma after "debug" and a trailing comma '
        'after "requestId": it is not JSON, and the kit says where. The newest minimal answer has no '
        '"description"; the kit keeps it (the contract and describeSessions show it). A permanent session\'s '
        "idleConnectionTimeoutSeconds is -1 in the seed tutorial's describeSessions answer but 60000 in the "
        "newest createSession answer; the kit follows the seed (-1: it never expires while idle).",
    ),
    "action.describeSessions": Source(
        _NEW + "sessions-and-services-api-actions/describesessions",
        "params authTokens (optional array); omitted: the sessions of the caller's account; given: those listed "
        "that the caller may see; result sessions, each a session object",
        also=(
            _DOCS + "UUID-793383a5-907a-9713-ed34-475a3306027d.html",
            _DOCS + "UUID-43f62357-250f-e408-087b-e1f5f237eab2.html",
        ),
        differs="The reference pages say authTokens omitted means the sessions 'created by the account'; the "
        "contract (after the seed tutorial) lets the administrator see every session. The kit follows the "
        "contract for the administrator (kit_choices: admin_sees_every_session); the lessons say a real "
        "server may differ. An empty array is "
        "treated like an omitted one.",
    ),
    "action.listSessions": Source(
        "https://documentation.faircom.com/sessions-and-services-api-actions/listsessions",
        "params usernameFilter (optional array, default []); result sessions of username, description, authToken",
        also=(_DOCS + "UUID-1cdc205e-92d8-07d9-6e5c-fe3a849ca905.html",),
        differs="The older page lists authToken first in each entry, the newest last; the kit follows the newest. "
        "An empty usernameFilter is no filter (its documented default is []).",
    ),
    "action.pingSession": Source(
        _DOCS + "UUID-e90b7749-1ad0-7437-87e3-52b15850964d.html",
        "no authToken: success when the service works; with one: the session's life is extended; an invalid "
        "one: errorCode 12031 with the documented message",
        differs='One version also prints an "inactive session" answer with errorCode -1 and "authToken invalid or '
        'expired." (as the manageService page does); the kit follows 12031, which the other versions and '
        "the listSessions page print.",
    ),
    "action.alterSession": Source(
        _DOCS + "UUID-c23e6fd8-15d0-e80c-a9c8-2027cbde9c96.html",
        "changes the settings of the session of the request's authToken and returns the new session object; "
        "cannot change username or password nor turn a temporary session into a permanent one",
        differs='One of its examples sends "permanentSession": "true" although the page says a session cannot be '
        "made permanent, and prints no answer for it; the kit follows the text and refuses any "
        "permanentSession in alterSession (12012), with a message saying to create a permanent session.",
    ),
    "action.deleteSession": Source(
        _DOCS + "UUID-90ee735d-2a96-2367-b2cb-a3eef661c487.html",
        "ends the session of the request's authToken, a permanent one too; an unknown token is success with a "
        "12031 warning: 'authToken' does not match any existing session. Use a valid 'authToken'.",
        differs="An older version of the page answers an unknown token with errorCode 12031; the newer ones with "
        "success and a warning. The kit follows the newer.",
    ),
    "action.listServices": Source(
        _DOCS + "UUID-ae174218-1ccf-d3a2-e242-7661b3f3691c.html",
        "result listeners (serviceName, description, enabled, port, protocol, tls) and jsonActionApiDefaults; "
        "without an authToken everything but tls",
        differs='Its example shows each "port" as a string ("8080"); the kit does the same, with the port it '
        "really serves on. Its tls object names the file certificateFilename, not the contract's "
        "serverCertificateFilename (see fact.listener_tls).",
    ),
    "action.manageService": Source(
        _DOCS + "UUID-23495d6b-6788-f0e5-b04a-1d0bf7d6e886.html",
        "configures a FairCom Edge service (pause, resume, restart, ...); not emulated",
        differs='Its maximal example repeats "api"; its error example is errorCode -1 "authToken invalid or expired."',
    ),
    # --- account actions ---
    "action.createAccount": Source(
        _HJ + "account-api-actions/createaccount",
        'params username (1 to 31 bytes), password (default ""), accountDescription and the account properties',
        also=(_DOCS + "UUID-e748b00c-07b7-b209-6127-9860fcc909f4.html",),
        differs="The older page limits accountDescription to 31 bytes and password to 63; the newer to 65,500 and "
        '256. The kit follows the newer. The newer minimal example has no "api" (the default api then '
        "applies).",
    ),
    "action.alterAccount": Source(
        _NEW + "account-api-actions/alteraccount",
        "params username (the account to change) and the properties to change; omitted or null: not changed",
        also=(_DOCS + "UUID-f3e0bd0c-def5-6752-b9b4-0eba9ef93ddd.html",),
        differs="No page says who may change which account, nor whether the current password is needed; the kit's "
        "answers are rows of kit_choices (alter_own_account_properties, "
        "alter_account_needs_current_password, password_change_ends_sessions).",
    ),
    "action.dropAccounts": Source(
        _NEW + "account-api-actions/dropaccounts",
        "params usernames (array, default []); a name no account has: success and warning 101 "
        "'Not able to remove account [NAME] - ISAM error [0]'",
        also=(_DOCS + "UUID-dc53bf9a-9192-e795-acfe-78a88ced1937.html",),
        differs='The older page\'s first example lacks the comma after "api": "admin". Its answers carry no '
        '"result" and a requestId ("00000004") other than the request\'s ("1"); the kit answers '
        '"result": {} as the jsonAction response page requires, and copies the requestId.',
    ),
    "action.dropAccount": Source(
        _DOCS + "UUID-8c06f4ac-2684-0fee-d35b-2bfa6092cd5f.html",
        "the list of account actions names it dropAccount",
        differs="Every action page says dropAccounts; the kit accepts both names (dropAccount also with one "
        '"username").',
    ),
    "action.listAccounts": Source(
        _HJ + "account-api-actions/listaccounts",
        "params partialNames (optional, starts-with match; empty, null or omitted: all); result accounts",
        also=(_DOCS + "UUID-ae6fd2bd-2922-2da3-2689-7d835d02c78a.html", _HJ + "json-api-concepts/response-properties"),
        differs='Its table names each account\'s roles "roleNames" (array of strings) while its example and the '
        'response-properties page show "roles": [{"roleName": "ADMIN"}]; the kit follows the table (and the '
        "contract). Its usernames are 1 to 64 bytes, createAccount's 1 to 31: longer names match nothing.",
    ),
    "action.describeAccounts": Source(
        _NEW + "account-api-actions/describeaccounts",
        "params usernames (array, default []); the answer describes each account: username, accountDescription, "
        "the account properties, lastPasswordChange",
        also=(_HJ + "account-api-actions/describeaccounts", _DOCS + "UUID-cad4e667-80fc-46b7-42eb-c4c6638710f9.html"),
        differs="Its title says it describes roles (a copy slip); its example answer is one bare account object. "
        'The kit answers {"accounts": [...]} like listAccounts (kit_choices: describe_accounts_result_key).',
    ),
    "action.cloneAccount": Source(
        _NEW + "account-api-actions/cloneaccount",
        "clones an account with its roles (sourceUsername, cloneUsername, clonePassword, ...); not emulated",
        also=(_DOCS + "UUID-afe2f48a-5ff1-32f2-8d4f-078a37db24b5.html",),
        differs='The newer minimal example sends "clonePassword": "" although its table says 1 to 63 bytes.',
    ),
    "action.assignRolesToAccounts": Source(
        _NEW + "account-api-actions/assignrolestoaccounts",
        "adds and removes roles of accounts; not emulated (the kit has no roles)",
        also=(_DOCS + "UUID-e0bac719-432a-855f-4f19-3d0025068128.html",),
    ),
    # --- the envelope ---
    "fact.endpoint": Source(
        _DOCS + "UUID-4577cd05-8551-b32e-07e0-80e9f914adce.html",
        "one endpoint /api over HTTP, HTTPS, WS and WSS; requests are JSON POSTed to it",
    ),
    "fact.request_envelope": Source(
        "https://faircom.helpjuice.com/json-api-common-info/jsonaction-request",
        'api (default "", one of admin, db, hub, mq, transform), action (required), params (default {}), '
        "authToken (optional for createSession and pingSession), requestId (any JSON value), apiVersion, "
        "debug (default none), responseOptions",
        also=(_DOCS + "UUID-b14077e9-06be-d60d-8889-bdb63c40c3e2.html",),
        differs='Its text says "params" is required, its table that it defaults to {}; the kit follows the table. '
        "It limits authToken to 225 bytes, the older page and the response-properties page to 255 (the "
        "kit's tokens are 64 characters).",
    ),
    "fact.response_envelope": Source(
        _DOCS + "UUID-461f1a51-06c5-823a-2013-379b51c6dd71.html",
        "result, errorCode and errorMessage in every answer; debugInfo holds request, serverSuppliedValues, "
        "errorData, warnings",
        also=(_HJ + "json-api-common-info/jsonaction-response", _HJ + "json-api-concepts/response-properties"),
        differs="Pages print the keys in different orders (requestId first here; authToken first on createSession; "
        "authToken last on deleteSession, dropAccounts, listSessions and the seed). JSON key order carries "
        "no meaning; the kit keeps the contract's order.",
    ),
    "fact.error_message_limit": Source(
        _DOCS + "UUID-461f1a51-06c5-823a-2013-379b51c6dd71.html",
        "errorMessage is 0 to 256 bytes",
    ),
    "fact.debug_modes": Source(
        _DOCS + "UUID-461f1a51-06c5-823a-2013-379b51c6dd71.html",
        'debug is case-insensitive; "none" is the same as leaving it out or null; the answer is pretty-printed '
        'unless it is "none"; "min" and "max" add debugInfo',
        differs='The request page lists only "none" and "max"; the response page also "min". The kit takes all '
        'three (and the contract\'s "maxOnError").',
    ),
    "fact.warning_shape": Source(
        _DOCS + "UUID-90ee735d-2a96-2367-b2cb-a3eef661c487.html",
        'a warning is {"code": N, "message": "..."} (the deleteSession and dropAccounts answers)',
        also=(_DOCS + "UUID-461f1a51-06c5-823a-2013-379b51c6dd71.html",),
        differs='The response page sketches {"warningCode", "warningMessage", "warningData"}; the answers printed '
        'on the action pages use "code" and "message". The kit follows the printed answers.',
    ),
    "fact.bad_token_message": Source(
        _DOCS + "UUID-e90b7749-1ad0-7437-87e3-52b15850964d.html",
        "12031: 'authToken' does not match any existing session. Use a valid 'authToken' or use 'createSession' "
        "to create a valid 'authToken'.",
        also=(_DOCS + "UUID-1cdc205e-92d8-07d9-6e5c-fe3a849ca905.html",),
    ),
    # --- the session object and its settings ---
    "fact.session_object": Source(
        "https://documentation.faircom.com/sessions-and-services-api-actions/createsession",
        "the session object's keys, with defaultStringFormat, defaultFixedLengthCharFormat, "
        "transformBufferInitialBytes and serverVersion",
        also=(_NEW + "sessions-and-services-api-actions/describesessions",),
        differs="The seed tutorial shows authToken last, the newer pages first; the kit follows the contract's "
        "order (authToken first). serverVersion names the kit (kit_choices: server_version).",
    ),
    "fact.session_settings": Source(
        "https://documentation.faircom.com/sessions-and-services-api-actions/createsession",
        "description, defaultApi, defaultDebug, defaultDatabaseName, defaultOwnerName, defaultBinaryFormat, "
        "defaultVariantFormat, defaultStringFormat, defaultFixedLengthCharFormat, defaultResponseOptions, "
        "idleConnectionTimeoutSeconds, idleCursorTimeoutSeconds",
        also=(_NEW + "supplemental-properties/jsonactionapidefaults",),
    ),
    "fact.response_options": Source(
        "https://documentation.faircom.com/sessions-and-services-api-actions/createsession",
        "defaultResponseOptions: binaryFormat hex, variantFormat json, dataFormat objects, numberFormat number, "
        "stringFormat json, fixedLengthCharFormat sql, includeBookmarks false",
        also=("https://documentation.faircom.com/supplemental-properties/binaryformat",),
        differs="The describeSessions page lists the same keys in another order; the kit uses createSession's.",
    ),
    "fact.string_format": Source(
        _DOCS + "UUID-f15adeb3-fd77-3e90-568a-3a9ddcd3ad48.html",
        'stringFormat: "json" (default) or "hex"',
    ),
    "fact.fixed_length_char_format": Source(
        _HJ + "supplemental-properties/fixedlengthcharformat",
        'fixedLengthCharFormat: "sql" (default since 13.1.0), "trimTrailingSpaces", "trimTrailingPadding"',
    ),
    "fact.permanent_session": Source(
        _HJ + "supplemental-properties/permanentsession",
        "permanentSession is an optional boolean, default false; needs enablePermanentJsonApiSessions true; the "
        "token stays valid after restarts; idleConnectionTimeoutSeconds 0 keeps a temporary session alive",
        also=(_DOCS + "UUID-43f62357-250f-e408-087b-e1f5f237eab2.html",),
        differs='The seed tutorial once says "persistent sessions"; it means permanent sessions.',
    ),
    "fact.session_concepts": Source(
        _DOCS + "UUID-9d7f32cb-310c-e2e6-559b-103dbbcf1288.html",
        "a session acts with the authorization of the account that created it",
    ),
    # --- services.json ---
    "fact.json_action_api_defaults": Source(
        _NEW + "supplemental-properties/jsonactionapidefaults",
        "the properties of jsonActionApiDefaults; their names and values are those of createSession's params",
        also=(
            _DOCS + "UUID-6b6290a2-05de-3634-9373-dd45d9d68f88.html",
            _DOCS + "UUID-43f62357-250f-e408-087b-e1f5f237eab2.html",
        ),
        differs='Its sample has "defaultRetentionPeriod": "4", a string; the kit takes it as 4 with a warning. '
        'The seed tutorial\'s snippet lacks the ":" after "jsonActionApiDefaults"; the kit says where.',
    ),
    "fact.services_file": Source(
        "https://faircom.helpjuice.com/configure/configure-ports-and-services",
        "services.json in <faircom>/config, read at start: apiRoot, apis, applicationRoot, applications, "
        "listeners and more sections",
        also=(_DOCS + "UUID-15b5942b-fa19-227b-3bb5-d4d8955c6fca.html",),
    ),
    "fact.listener_tls": Source(
        "https://faircom.helpjuice.com/REUSE-TLS-tutorials/configure-tls-for-a-server",
        'a TLS listener names its certificate file in "tls": {"certificateFilename": ...}',
        also=(_DOCS + "UUID-ae174218-1ccf-d3a2-e242-7661b3f3691c.html",),
        differs='The contract calls it "serverCertificateFilename". The page wins: a fresh services.json uses '
        "certificateFilename; the contract's name is still read.",
    ),
}


def page(name: str) -> str:
    """The URL of the FairCom page of row ``name`` (``"action.cloneAccount"``, ``"fact.debug_modes"``)."""
    return SOURCES[name].url


def is_faircom_page(url: str) -> bool:
    """True for an https URL on one of FairCom's documentation hosts."""
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname in FAIRCOM_HOSTS and len(parts.path) > 1
