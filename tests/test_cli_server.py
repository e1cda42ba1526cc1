"""`tutorial-kit restart` and `tutorial-kit status` in a terminal: what lesson.restart() does in a cell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutorial_kit.control.local import ServerControl

pytestmark = pytest.mark.slow


def kit(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
    env["TUTORIAL_KIT_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "tutorial_kit", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_restart_reads_the_file_again_and_names_typos_and_mistakes(tmp_path: Path) -> None:
    home = tmp_path / "server-home"
    control = ServerControl(home, env={**os.environ, "TUTORIAL_KIT_HOME": str(home)}).start()
    try:
        services = control.services_path
        services.write_text(services.read_text().replace(
            '"jsonActionApiDefaults": {', '"jsonActionApiDefaults": {\n    "enablePermanentJsonApiSesions": true,'))
        done = kit(home, "restart")
        assert done.returncode == 0, done.stderr
        assert "read" in done.stdout and "did you mean enablePermanentJsonApiSessions?" in done.stdout
        status = kit(home, "status")
        assert status.returncode == 0 and "server: running" in status.stdout
        assert "did you mean enablePermanentJsonApiSessions?" in status.stdout
        services.write_text(services.read_text().replace('"apiRoot":', '"apiRoot"'))
        broken = kit(home, "restart")
        assert broken.returncode == 2 and "line " in broken.stderr and "column " in broken.stderr
        assert "tutorial-kit restart again" in broken.stderr and "Traceback" not in broken.stderr
        assert "server: not running" in kit(home, "status").stdout
    finally:
        control.stop()


def test_restart_of_a_remote_server_says_what_to_do_there(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
    env.update(TUTORIAL_KIT_URL="http://127.0.0.1:9/api", TUTORIAL_KIT_HOME=str(tmp_path / "unused"))
    done = subprocess.run([sys.executable, "-m", "tutorial_kit", "restart"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 1 and "remote server" in done.stderr and "restart the FairCom server" in done.stderr
    assert not (tmp_path / "unused").exists()
