"""Remote mode of the control helper: a server started separately, looked at but never touched."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutorial_kit import KitUsageError, RemoteServerError
from tutorial_kit.control.local import RemoteControl, ServerControl, control_from_env
from tutorial_kit.control.process import servers_of

pytestmark = pytest.mark.slow

FLAG = "enablePermanentJsonApiSessions"


@pytest.fixture
def clean_env() -> dict[str, str]:
    """This process's environment without any TUTORIAL_KIT_* setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}


@pytest.fixture
def remote_url(tmp_path: Path, clean_env: dict[str, str]) -> Iterator[str]:
    """A server started separately with `tutorial-kit serve --port 0`; its serving line gives the URL."""
    home = tmp_path / "remote"
    with open(tmp_path / "remote.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tutorial_kit", "serve", "--home", str(home), "--port", "0"],
                                stdout=subprocess.PIPE, stderr=log, env=clean_env, text=True)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving http://127.0.0.1:"), line
        yield line.split()[1]
    finally:
        proc.stdout.close()
        proc.terminate()
        assert proc.wait(timeout=15) == 0
    assert not servers_of(home)


def remote_env(url: str, clean_env: dict[str, str]) -> dict[str, str]:
    return {**clean_env, "TUTORIAL_KIT_URL": url, "TUTORIAL_KIT_USERNAME": "ADMIN", "TUTORIAL_KIT_PASSWORD": "ADMIN"}


def test_remote_control_looks_but_does_not_touch(remote_url: str, clean_env: dict[str, str]) -> None:
    remote = control_from_env(remote_env(remote_url, clean_env))
    assert isinstance(remote, RemoteControl) and remote.start() is remote
    status = remote.status()
    assert status.running and status.remote and status.running_defaults is not None
    assert FLAG not in status.running_defaults and status.file_defaults is None
    assert remote_url in status.text and "as ADMIN" in status.text and "not visible from here" in status.text
    for call in (remote.stop, remote.restart, remote.reset):
        with pytest.raises(RemoteServerError):
            call()
    with pytest.raises(RemoteServerError) as caught:
        remote.set_default(FLAG, True)
    assert str(caught.value) == remote.explain("set_default", FLAG, True)
    assert remote.start().status().running  # nothing was stopped


def test_remote_explanations_say_what_to_do_by_hand(remote_url: str) -> None:
    remote = RemoteControl(remote_url, username="ADMIN", password="ADMIN")
    text = remote.explain("set_default", FLAG, True)
    for words in ("services.json", "config folder", '"jsonActionApiDefaults"', f'"{FLAG}": true', "restart"):
        assert words in text
    assert "restart" in remote.explain("restart") and "TUTORIAL_KIT_URL" in remote.explain("start")
    with pytest.raises(KitUsageError):
        remote.explain("format")


def test_remote_password_is_never_shown(remote_url: str, clean_env: dict[str, str]) -> None:
    env = {**remote_env(remote_url, clean_env), "TUTORIAL_KIT_PASSWORD": "s3cret-Pa55"}
    remote = control_from_env(env)
    assert isinstance(remote, RemoteControl)
    shown = repr(remote) + str(remote.status()) + "".join(remote.explain(step) for step in ("start", "reset"))
    assert "s3cret-Pa55" not in shown
    with remote.client() as client:
        assert client.password == "s3cret-Pa55" and client.username == "ADMIN"
        assert client.create_session(check=False).error_code == 12033  # wrong password, but it was sent


def test_remote_client_uses_the_environment_credentials(remote_url: str, clean_env: dict[str, str]) -> None:
    remote = control_from_env(remote_env(remote_url, clean_env))
    with remote.client() as client:
        assert client.create_session().ok


def test_remote_server_that_does_not_answer(clean_env: dict[str, str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/api"
    remote = control_from_env(remote_env(url, clean_env))
    assert isinstance(remote, RemoteControl)
    with pytest.raises(RemoteServerError, match="TUTORIAL_KIT_URL"):
        remote.start()
    assert not remote.status().running and "nothing answers" in remote.status().text


def test_remote_verify_settings_from_env(clean_env: dict[str, str], tmp_path: Path) -> None:
    base = remote_env("https://example.invalid/api", clean_env)
    assert control_from_env(base).verify is True  # type: ignore[union-attr]
    assert control_from_env({**base, "TUTORIAL_KIT_VERIFY": "0"}).verify is False  # type: ignore[union-attr]
    ca = str(tmp_path / "ca.pem")
    assert control_from_env({**base, "TUTORIAL_KIT_CA_FILE": ca}).verify == ca  # type: ignore[union-attr]
    assert isinstance(control_from_env({**clean_env, "TUTORIAL_KIT_HOME": str(tmp_path)}), ServerControl)


@pytest.fixture
def remote_https(tmp_path: Path, clean_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """A separately started server whose https listener has a trustme certificate: (https url, CA file)."""
    import trustme

    from tutorial_kit.server.config import write_default_file

    home, ca = tmp_path / "tls-home", trustme.CA()
    services = home / "config" / "services.json"
    write_default_file(services)
    config = json.loads(services.read_text())
    https = next(item for item in config["listeners"] if item["protocol"] == "https")
    https.update(enabled=True, port=0)
    services.write_text(json.dumps(config, indent=2))
    pem = home / https["tls"]["certificateFilename"]
    pem.parent.mkdir(parents=True, exist_ok=True)
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    proc = subprocess.Popen([sys.executable, "-m", "tutorial_kit", "serve", "--home", str(home), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert proc.stdout.readline().startswith("serving http://"), proc.stderr.read()
        line = proc.stderr.readline()
        assert "also serving https://127.0.0.1:" in line, line
        yield line.split("also serving ")[1].strip(), str(tmp_path / "ca.pem")
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    assert proc.returncode == 0 and not servers_of(home)


def test_remote_https_with_ca_file_or_verify_off(remote_https: tuple[str, str], clean_env: dict[str, str]) -> None:
    url, ca_file = remote_https
    base = remote_env(url, clean_env)
    trusted = control_from_env({**base, "TUTORIAL_KIT_CA_FILE": ca_file})
    assert trusted.start().status().running
    with trusted.client() as client:
        assert client.create_session().ok
    assert control_from_env({**base, "TUTORIAL_KIT_VERIFY": "0"}).start().status().running
    with pytest.raises(RemoteServerError, match="TUTORIAL_KIT_CA_FILE"):
        control_from_env(base).start()  # the system CAs do not know the test CA
