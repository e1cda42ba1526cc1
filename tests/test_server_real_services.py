"""A real FairCom services.json starts the kit's server (revision 2 rows 5, 6 and 8).

The file below is shaped like FairCom's (sources: action.listServices, fact.services_file,
fact.listener_tls, fact.json_action_api_defaults): MQTT and WebSocket listeners, an https listener
whose certificate is not in the kit's home, "port" values as FairCom's listServices prints them,
and the apis, applications and mqtt sections the kit does not use.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Answer
from tutorial_kit.server import EmulatorServer, services_path
from tutorial_kit.server.config import load_config

REAL_FAIRCOM_SERVICES: dict[str, Any] = {
    "listeners": [
        {"serviceName": "http8080", "description": "Port 8080 using insecure HTTP protocol", "port": 8080,
         "protocol": "http", "enabled": True},
        {"serviceName": "https8443", "description": "Port 8443 using TLS-secured HTTPS protocol", "port": 8443,
         "protocol": "https", "enabled": True, "tls": {"certificateFilename": "./web/fccert.pem"}},
        {"serviceName": "mqtt1883", "description": "Port 1883 using insecure MQTT protocol", "port": "1883",
         "protocol": "mqtt", "enabled": True},
        {"serviceName": "mqtts8883", "description": "Port 8883 using TLS-secured MQTTS protocol", "port": 8883,
         "protocol": "mqtts", "enabled": True, "tls": {"certificateFilename": "./web/fccert.pem"}},
        {"serviceName": "mqttws9001", "description": "Port 9001 using insecure MQTT over WebSocket", "port": 9001,
         "protocol": "mqttws", "enabled": True},
        {"serviceName": "mqttwss9002", "description": "Port 9002 using TLS-secured MQTT over WebSocket", "port": 9002,
         "protocol": "mqttwss", "enabled": False, "tls": {"certificateFilename": "./web/fccert.pem"}},
    ],
    "apiRoot": "./api",
    "apis": [{"serviceName": "admin", "enabled": True}, {"serviceName": "hub", "enabled": True}],
    "applicationRoot": "./web/apps/",
    "applications": [{"serviceName": "ace", "folderName": "ace", "enabled": True}],
    "mqtt": {"maxDeliveryRatePerSecond": 100},
    "jsonActionApiDefaults": {
        "defaultApi": "db", "defaultBinaryFormat": "hex", "defaultVariantFormat": "json",
        "defaultDatabaseName": "faircom", "defaultDebug": "max", "defaultOwnerName": "admin",
        "defaultResponseOptions": {"binaryFormat": "hex", "variantFormat": "json", "dataFormat": "objects",
                                   "numberFormat": "number"},
        "idleConnectionTimeoutSeconds": 3600, "idleCursorTimeoutSeconds": 600,
        "defaultRetentionPolicy": "autoPurge", "defaultRetentionPeriod": "4", "defaultRetentionUnit": "week",
        "enablePermanentJsonApiSessions": "true",
    },
}


def _write(home: Path, data: Any) -> Path:
    path = services_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def test_a_real_faircom_services_json_starts_and_names_what_is_not_served_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, post: Callable[..., Answer],
        login: Callable[..., str]) -> None:
    path = _write(tmp_path, REAL_FAIRCOM_SERVICES)
    before = path.read_text(encoding="utf-8")
    with caplog.at_level(logging.WARNING), EmulatorServer(tmp_path, port=0) as srv:
        assert srv.https_url is None
        token = login(srv, permanentSession=True)  # "enablePermanentJsonApiSessions": "true" was taken as true
        answer = post(srv, {"action": "listServices", "authToken": token})[1]
        listeners = answer["result"]["listeners"]
        assert [(item["serviceName"], item["enabled"], item["port"]) for item in listeners] == [
            ("http8080", True, str(srv.port)),  # the command-line port, as a string like FairCom's
            ("https8443", False, "8443"), ("mqtt1883", False, "1883"), ("mqtts8883", False, "8883"),
            ("mqttws9001", False, "9001"), ("mqttwss9002", False, "9002")]
        assert list(listeners[1]) == ["serviceName", "description", "enabled", "port", "protocol", "tls"]
        assert answer["result"]["jsonActionApiDefaults"]["defaultRetentionPeriod"] == 4
        no_token = post(srv, {"action": "listServices"})[1]["result"]["listeners"]
        assert all("tls" not in item for item in no_token)
        ok = post(srv, {"action": "createSession", "params": {"username": "ADMIN", "password": "ADMIN"}})[1]
        assert ok["result"]["defaultApi"] == "db" and ok["result"]["defaultRetentionPeriod"] == 4
    messages = [record.getMessage() for record in caplog.records]
    unserved = [m for m in messages if "not served by this kit" in m]
    assert len(unserved) == 1, messages
    for name in ("https8443", "fccert.pem", "mqtt1883", '"mqtt"', "mqtts8883", "mqttws9001", '"apis"',
                 '"applications"', '"applicationRoot"', '"mqtt"'):
        assert name in unserved[0], name
    assert "mqttwss9002" not in unserved[0]  # disabled in the file: nothing to tell
    assert not [m for m in messages if "unknown property" in m]
    assert any('"true": taken as the JSON boolean true' in m for m in messages)
    assert path.read_text(encoding="utf-8") == before  # kept in the file, as written


def test_serve_prints_the_one_warning_on_stderr(tmp_path: Path) -> None:
    _write(tmp_path, REAL_FAIRCOM_SERVICES)
    proc = subprocess.Popen([sys.executable, "-m", "tutorial_kit", "serve", "--home", str(tmp_path), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("serving http://127.0.0.1:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert err.count("not served by this kit") == 1 and "mqtt1883" in err


def test_a_misspelled_section_is_an_unknown_property_not_an_unused_section(tmp_path: Path) -> None:
    path = _write(tmp_path, {**REAL_FAIRCOM_SERVICES, "jsonActionApiDefault": {"defaultApi": "db"}})
    warnings = load_config(path).warnings
    assert any('unknown property "jsonActionApiDefault"' in w and 'did you mean "jsonActionApiDefaults"' in w
               for w in warnings)
    assert not any("not served" in w and "jsonActionApiDefault\"" in w for w in warnings)


def test_the_flag_misspelled_in_a_real_file_is_named_with_a_hint(tmp_path: Path) -> None:
    data = json.loads(json.dumps(REAL_FAIRCOM_SERVICES))
    data["jsonActionApiDefaults"]["enablePermanentJsonApiSession"] = True
    warnings = load_config(_write(tmp_path, data)).warnings
    assert any("enablePermanentJsonApiSession" in w and 'did you mean "enablePermanentJsonApiSessions"' in w
               for w in warnings)
