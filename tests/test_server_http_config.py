"""The embedded server over real HTTP: services.json at start (section 5: broken files, wrong types,
unknown properties, numeric strings), a port in use, and the https listener."""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Post, ok, strict_json
from tutorial_kit import ConfigFileError
from tutorial_kit.server import EmulatorServer, services_path

# --- services.json at start ------------------------------------------------------------------------


def _data_snapshot(home: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((home / "data").iterdir())}


def test_a_broken_services_json_stops_the_start_and_leaves_the_data(home: Path, enable_permanent: Callable[..., Any],
                                                                    post: Post, login: Callable[..., str]) -> None:
    srv = EmulatorServer(home, port=0).start()
    try:
        enable_permanent(home, srv)
        key = login(srv, permanentSession=True)
    finally:
        srv.stop()
    before = _data_snapshot(home)
    assert "kit.sqlite3" in before
    path = services_path(home)
    text = path.read_text(encoding="utf-8").replace('"jsonActionApiDefaults": {', '"jsonActionApiDefaults"\n  {')
    path.write_text(text, encoding="utf-8")
    name_end = text.index('"jsonActionApiDefaults"') + len('"jsonActionApiDefaults"')
    line = text.count("\n", 0, name_end) + 1
    column = name_end - text.rfind("\n", 0, name_end)
    with pytest.raises(ConfigFileError) as info:
        EmulatorServer(home, port=0).start()
    assert (info.value.line, info.value.column) == (line, column)
    assert text.splitlines()[line - 1][: column - 1].endswith('"jsonActionApiDefaults"')
    assert str(path) in str(info.value) and f"line {line}, column {column}" in str(info.value)
    assert '":"' in str(info.value) or '":" is missing' in str(info.value)
    assert _data_snapshot(home) == before
    # fixed file: the server starts and the API key is still there
    path.write_text(text.replace('"jsonActionApiDefaults"\n  {', '"jsonActionApiDefaults": {'), encoding="utf-8")
    with EmulatorServer(home, port=0) as srv:
        ok(post(srv, {"action": "pingSession", "authToken": key})[1])


def test_an_https_listener_without_its_certificate_file_is_not_served_beside_http(
        home: Path, caplog: pytest.LogCaptureFixture, post: Post) -> None:
    EmulatorServer(home, port=0).start().stop()
    data = json.loads(services_path(home).read_text())
    data["listeners"][1].update(enabled=True, port=0)
    services_path(home).write_text(json.dumps(data, indent=2))
    with caplog.at_level(logging.WARNING), EmulatorServer(home, port=0) as srv:
        assert srv.https_url is None
        listeners = ok(post(srv, {"action": "listServices"})[1])["result"]["listeners"]
        assert [(item["serviceName"], item["enabled"], item["port"]) for item in listeners] == [
            ("http8080", True, str(srv.port)), ("https8443", False, "0")]
    notes = [r.getMessage() for r in caplog.records if "not served" in r.getMessage()]
    assert len(notes) == 1 and "https8443" in notes[0] and "fccert.pem does not exist" in notes[0]


def test_numeric_strings_in_services_json_are_taken_with_a_warning(
        home: Path, set_defaults: Callable[..., None], caplog: pytest.LogCaptureFixture, post: Post) -> None:
    # FairCom's own jsonActionApiDefaults sample has "defaultRetentionPeriod": "4"
    # (sources: fact.json_action_api_defaults)
    EmulatorServer(home, port=0).start().stop()
    set_defaults(home, defaultRetentionPeriod="4", maxJsonApiSessionsPerUsername="50")
    with caplog.at_level(logging.WARNING), EmulatorServer(home, port=0) as srv:
        defaults = ok(post(srv, {"action": "listServices"})[1])["result"]["jsonActionApiDefaults"]
        assert defaults["defaultRetentionPeriod"] == 4 and defaults["maxJsonApiSessionsPerUsername"] == 50
    assert any('"4": taken as the number 4' in r.getMessage() for r in caplog.records)


def test_a_wrong_type_in_services_json_names_the_property(home: Path, set_defaults: Callable[..., None]) -> None:
    EmulatorServer(home, port=0).start().stop()
    set_defaults(home, maxJsonApiSessionsPerUsername="fifty")
    with pytest.raises(ConfigFileError) as info:
        EmulatorServer(home, port=0).start()
    assert info.value.property_path == "jsonActionApiDefaults.maxJsonApiSessionsPerUsername"
    assert "jsonActionApiDefaults.maxJsonApiSessionsPerUsername" in str(info.value) and "integer" in str(info.value)


def test_unknown_properties_in_services_json_are_warnings(home: Path, set_defaults: Callable[..., None],
                                                          caplog: pytest.LogCaptureFixture, post: Post) -> None:
    EmulatorServer(home, port=0).start().stop()
    set_defaults(home, enablePermanentSessions=True)
    with caplog.at_level(logging.WARNING):
        with EmulatorServer(home, port=0) as srv:
            ok(post(srv, {"action": "pingSession"})[1])
    assert "jsonActionApiDefaults.enablePermanentSessions" in caplog.text


def test_a_port_in_use_is_an_os_error_naming_the_port(home: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        with pytest.raises(OSError) as info:
            EmulatorServer(home, port=busy.getsockname()[1]).start()
        assert getattr(info.value, "port", None) == busy.getsockname()[1]
    finally:
        busy.close()


# --- https --------------------------------------------------------------------------------------------------


def test_https_listener_with_a_certificate(home: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    EmulatorServer(home, port=0).start().stop()
    (home / "web").mkdir()
    cert.private_key_and_cert_chain_pem.write_to_path(str(home / "web" / "fccert.pem"))
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    data = json.loads(services_path(home).read_text())
    data["listeners"][1].update(enabled=True, port=0)
    services_path(home).write_text(json.dumps(data, indent=2))
    with EmulatorServer(home, port=0) as srv:
        assert srv.https_url is not None and srv.https_url.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(ca_file))
        with httpx.Client(verify=context, trust_env=False) as c:
            answer = strict_json(
                c.post(
                    srv.https_url,
                    json={
                        "action": "createSession",
                        "debug": "none",
                        "params": {"username": "ADMIN", "password": "ADMIN"},
                    },
                ).content
            )
            token = ok(answer)["authToken"]
            # the same session works over plain http too
            plain = strict_json(c.post(srv.url, json={"action": "listServices", "authToken": token}).content)
            assert ok(plain)["result"]["listeners"][1]["enabled"] is True
        with httpx.Client(trust_env=False) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.post(srv.https_url, json={"action": "pingSession"})


def test_a_missing_certificate_stops_the_start_and_releases_the_port(home: Path) -> None:
    EmulatorServer(home, port=0).start().stop()
    data = json.loads(services_path(home).read_text())
    data["listeners"][0].update(enabled=False)  # https is then the only listener: its certificate must be there
    data["listeners"][1].update(enabled=True, port=0)
    services_path(home).write_text(json.dumps(data, indent=2))
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(ConfigFileError) as info:
        EmulatorServer(home, port=port).start()
    assert info.value.property_path == "listeners[1].tls.certificateFilename"
    assert "fccert.pem" in str(info.value) and "private key" in str(info.value)
    again = socket.socket()  # the failed start left nothing bound, even while its error is alive
    try:
        again.bind(("127.0.0.1", port))
    finally:
        again.close()
