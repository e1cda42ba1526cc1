"""A real JupyterHub on loopback for the hub test and `make hub-figures`: learners who are real
Unix users, LocalProcessSpawner, configurable-http-proxy from npm, nbgitpuller, and a learners'
environment built the way deploy/tljh/install.sh builds one.

Pieces, each with a deadline on every wait:

- :func:`build_site` makes a world-readable folder holding the learners' Python environment
  (binder/requirements.txt, i.e. the kit and its pinned notebook stack, plus
  deploy/hub-test-requirements.txt, then the kit's JupyterLab settings) and the lessons as a git
  repository for nbgitpuller links;
- :class:`Learners` creates and removes the Unix users;
- :class:`Hub` writes the hub's configuration, runs it, and talks to its REST API.

Needs root (useradd, setuid spawning), Linux, npm's configurable-http-proxy (`make test` installs
it into .venv) and a Python that other users may run (this one, or /usr/bin/python3.X).
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
CHP = REPO / ".venv" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
UV = Path(sys.executable).parent / "uv"
LEARNER_PREFIX = "kit-learner-"
TEST_REQUIREMENTS = REPO / "deploy" / "hub-test-requirements.txt"
HUB_CONFIG = REPO / "deploy" / "hub-test-config.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _others_may_run(path: Path) -> bool:
    """True when every folder on the way to ``path`` lets other users through and they may run it."""
    real = path.resolve()
    for folder in real.parents:
        if not os.stat(folder).st_mode & 0o001:
            return False
    return bool(os.stat(real).st_mode & 0o001)


def learner_python() -> str | None:
    """A Python of this version that other users may run: this one, else /usr/bin/python3.X."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(sys.executable), Path(f"/usr/bin/python{version}")):
        if candidate.exists() and _others_may_run(candidate):
            return str(candidate.resolve())
    return None


def missing() -> str | None:
    """Why the hub cannot run here, or None."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "the hub test creates Unix users and spawns servers as them: it needs root on Linux"
    if shutil.which("useradd") is None:
        return "useradd is not installed"
    if learner_python() is None:
        return f"no Python {sys.version_info.major}.{sys.version_info.minor} that other users may run"
    for tool, how in ((CHP, "make test installs it (npm install configurable-http-proxy)"),
                      (UV, "make test installs it (pip install -e '.[test]')")):
        if not tool.exists():
            return f"{tool} is missing: {how}"
    return None


def run(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


# --- the site: environment and lessons ----------------------------------------------------------


@dataclass
class Site:
    """The learners' environment and the lessons' git repository, served by ``git daemon``.

    The repository is served over git:// on loopback, as a trainer's would be over https: a
    learner's git refuses to read a repository on disk that another user owns ("dubious
    ownership"), and the test does not weaken that check.
    """

    root: Path      # world-readable, removed at the end
    env: Path       # the learners' Python environment (the TLJH "user environment")
    lessons: Path   # a bare git repository of the kit
    daemon: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def python(self) -> Path:
        return self.env / "bin" / "python"

    @property
    def lessons_url(self) -> str:
        return f"git://127.0.0.1:{self.port}/{self.lessons.name}"

    def serve_lessons(self, timeout: float = 30) -> None:
        self.port = free_port()
        self.daemon = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={self.root}", "--listen=127.0.0.1",
             f"--port={self.port}", str(self.lessons)], stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while subprocess.run(["git", "ls-remote", "--heads", self.lessons_url], capture_output=True,
                             check=False, timeout=30).returncode != 0:
            if time.monotonic() > deadline or self.daemon.poll() is not None:
                raise RuntimeError(f"git daemon did not serve {self.lessons_url}")
            time.sleep(0.2)

    def close(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            os.killpg(self.daemon.pid, signal.SIGTERM)
            self.daemon.wait(30)
        shutil.rmtree(self.root, ignore_errors=True)


def _copy_repository(target: Path) -> None:
    """The files a clone holds, plus work not committed yet (never .venv or server-home)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                         capture_output=True, check=True).stdout
    for name in filter(None, out.decode().split("\0")):
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)


def release_tag() -> str:
    """The tag of this version's release (``v`` + pyproject's version): what trainers' links name."""
    return "v" + tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def _git_repository(folder: Path) -> None:
    git = ["git", "-C", str(folder), "-c", "user.name=kit-test", "-c", "user.email=kit-test@localhost"]
    run([*git[:3], "init", "-q", "-b", "main"])
    run([*git, "add", "-A"])
    run([*git, "commit", "-q", "-m", "lessons"])
    run([*git, "tag", release_tag()])


def build_site() -> Site:
    """The learners' environment and the lessons' repository, in a new world-readable folder.

    Call :meth:`Site.serve_lessons` to serve the repository, :meth:`Site.close` at the end.
    """
    root = Path(tempfile.mkdtemp(prefix="kit-hub-", dir="/tmp"))
    try:
        return _fill_site(root)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _fill_site(root: Path) -> Site:
    root.chmod(0o755)
    site = Site(root, root / "env", root / "lessons.git")
    work = root / "kit-source"
    work.mkdir()
    _copy_repository(work)
    _git_repository(work)
    run(["git", "clone", "-q", "--bare", str(work), str(site.lessons)])
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)
    run([str(UV), "venv", "-q", "--python", str(learner_python()), str(site.env)], env=env)
    # `.` in binder/requirements.txt: the kit is installed from the copy, not from the work tree
    run([str(UV), "pip", "install", "-q", "--compile-bytecode", "--python", str(site.python),
         "-r", "binder/requirements.txt", "-r", str(TEST_REQUIREMENTS)], cwd=work, env=env, timeout=900)
    shutil.rmtree(work)
    run([str(site.python), "-m", "tutorial_kit.notebook.jupyter_settings", "install", str(site.env)])
    for path in (site.env, site.lessons):
        run(["chmod", "-R", "go+rX", str(path)])
    return site


# --- learners (Unix users) ---------------------------------------------------------------------


def processes_of(uid: int) -> list[int]:
    """Live pids whose real uid is ``uid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        uid_line = next((line for line in status.splitlines() if line.startswith("Uid:")), "")
        state = next((line for line in status.splitlines() if line.startswith("State:")), "")
        if uid_line.split()[1:2] == [str(uid)] and " Z " not in state + " ":
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def kit_servers_of(uid: int) -> list[int]:
    return [pid for pid in processes_of(uid) if "tutorial_kit serve" in cmdline(pid)]


class Learners:
    """Unix users ``kit-learner-1..n`` with home folders, removed (with their processes) at the end."""

    def __init__(self, count: int) -> None:
        self.names = [f"{LEARNER_PREFIX}{i}" for i in range(1, count + 1)]

    def create(self) -> Learners:
        for name in self.names:
            self._remove(name)  # a run that was cut short may have left it
            run(["useradd", "--create-home", "--shell", "/bin/bash", name])
        return self

    def uid(self, name: str) -> int:
        return pwd.getpwnam(name).pw_uid

    def home(self, name: str) -> Path:
        return Path(pwd.getpwnam(name).pw_dir)

    def _remove(self, name: str) -> None:
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            return
        for pid in processes_of(uid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False, timeout=60)

    def remove(self) -> None:
        for name in self.names:
            self._remove(name)


# --- the hub -----------------------------------------------------------------------------------


class Hub:
    """JupyterHub with deploy/hub-test-config.py, on loopback ports picked here."""

    def __init__(self, site: Site, learners: Learners, workdir: Path) -> None:
        self.site, self.learners, self.workdir = site, learners, workdir
        self.token = secrets.token_hex(32)
        self.password = secrets.token_urlsafe(16)  # every learner's, on the login page (dummy authenticator)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = httpx.AsyncClient(base_url=self.url, timeout=120, trust_env=False,
                                      headers={"Authorization": f"token {self.token}"})

    def start(self, timeout: float = 120) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        settings = {
            "bind_url": self.url,
            "hub_port": free_port(),
            "proxy_api_port": free_port(),
            "proxy": str(CHP),
            "singleuser": str(self.site.env / "bin" / "jupyterhub-singleuser"),
            "users": self.learners.names,
            "token": self.token,
            "password": self.password,
            "workdir": str(self.workdir),
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TUTORIAL_KIT_", "JPY_", "JUPYTER"))}
        env.update(KIT_HUB_TEST=json.dumps(settings), PATH=f"{Path(CHP).parent}:{self.site.env / 'bin'}:{env['PATH']}")
        self.log = open(self.workdir / "hub.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([str(self.site.env / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG)],
                                     cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/hub/api/", trust_env=False, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"jupyterhub did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return (self.workdir / "hub.log").read_text(errors="replace")[-6000:]

    async def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, f"/hub/api/{path}", **kwargs)

    async def add_users(self) -> None:
        answer = await self.api("POST", "users", json={"usernames": self.learners.names})
        assert answer.status_code in (201, 409), answer.text

    async def learner_token(self, name: str) -> str:
        answer = await self.api("POST", f"users/{name}/tokens", json={"note": "kit-test", "expires_in": 3600})
        assert answer.status_code in (200, 201), answer.text
        return str(answer.json()["token"])

    async def spawn(self, name: str, timeout: float = 240) -> float:
        """Start ``name``'s server through the REST API; seconds until the hub says it is ready."""
        began = time.monotonic()
        answer = await self.api("POST", f"users/{name}/server")
        assert answer.status_code in (201, 202), answer.text
        while time.monotonic() - began < timeout:
            server = (await self.api("GET", f"users/{name}")).json().get("servers", {}).get("")
            if server and server.get("ready"):
                return time.monotonic() - began
            await asyncio.sleep(0.2)
        raise AssertionError(f"{name}'s server was not ready within {timeout} s:\n{self.output()}")

    async def stop_server(self, name: str, timeout: float = 120) -> None:
        answer = await self.api("DELETE", f"users/{name}/server")
        assert answer.status_code in (202, 204), answer.text
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if not (await self.api("GET", f"users/{name}")).json().get("servers"):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"the hub did not stop {name}'s server within {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the proxy, if it was left
            except ProcessLookupError:
                pass
            self.log.close()


# --- per-learner figures -----------------------------------------------------------------------


def smaps_kib(pid: int, field: str = "Pss") -> int:
    """``field`` (Pss or Rss) of ``/proc/PID/smaps_rollup`` in KiB, 0 for a process that is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mib(uid: int, field: str = "Pss") -> float:
    """Memory of all of a user's processes in MiB: PSS (shared pages split fairly between all the
    processes that map them, so the sum over learners is what the machine needs) or RSS (each
    process counted whole: what one learner alone would hold)."""
    return sum(smaps_kib(pid, field) for pid in processes_of(uid)) / 1024


def cpu_seconds(uid: int) -> float:
    """CPU time of a user's live processes and of the children they waited for (ended kernels)."""
    total = 0
    for pid in processes_of(uid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")
