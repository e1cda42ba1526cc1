"""The deploy recipes carry only values the project uses or measured (issue 14).

deploy/figures.json is what `make hub-figures` measured; the limits in deploy/tljh/install.sh and
deploy/z2jh/config.yaml follow from it by the rules below (also written in docs/jupyterhub.md),
the culler's time is the kit's own idle time, the release tag is pyproject's version, and the
nbgitpuller link has the shape the hub test follows. docs/jupyterhub.md shows the measured table.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml

from _hub import REPO, release_tag
from _hub_steps import LESSON_1, TARGET, nbgitpuller_query
from tutorial_kit.server.kit_choices import choice

DEPLOY = REPO / "deploy"
FIGURES: dict[str, Any] = json.loads((DEPLOY / "figures.json").read_text(encoding="utf-8"))


def _up(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step


def derived() -> dict[str, Any]:
    """The recipes' values, from the figures (docs/jupyterhub.md, "Where the values come from")."""
    alone, five = FIGURES["course"]["1"], FIGURES["course"]["5"]
    peak = max([*alone["peak_rss_mib"].values(), *five["peak_rss_mib"].values()])
    idle = max([*alone["idle_after_rss_mib"].values(), *five["idle_after_rss_mib"].values()])
    lessons = len(list((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb")))
    return {  # memory: the server and its kit server, plus one kernel for every lesson left open
        "memory_limit": f"{int(_up(idle + lessons * (peak - idle), 64))}M",
        "memory_guarantee": f"{int(_up(max(five['peak_mib'].values()), 64))}M",
        "cpu_limit": max(0.5, _up(max(alone["peak_cores"].values()), 0.5)),
        "cpu_guarantee": round(_up(max(five["cpu_seconds"].values()) / five["wall_seconds"], 0.05), 2),
        "cull_timeout": choice("serve_idle_timeout_seconds"),
        "tag": release_tag(),
    }


def _shell_values(path: Path) -> dict[str, str]:
    """NAME=value and NAME="${NAME:-value}" lines of a shell script."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r'^([A-Z_]+)=(?:"\$\{\1:-([^}]*)\}"|(\S+))', line)
        if match:
            values[match.group(1)] = match.group(2) if match.group(2) is not None else match.group(3)
    return values


def test_the_figures_cover_what_the_docs_promise() -> None:
    assert sorted(FIGURES["spawn_seconds"], key=int) == ["1", "3", "5"]
    assert all(len(times) == int(count) for count, times in FIGURES["spawn_seconds"].items())
    assert sorted(FIGURES["course"], key=int) == ["1", "5"]
    for course in FIGURES["course"].values():
        assert len(course["peak_mib"]) == course["learners"] and course["wall_seconds"] > 0


def test_tljh_recipe_values_follow_from_the_figures() -> None:
    values, want = _shell_values(DEPLOY / "tljh" / "install.sh"), derived()
    assert values["MEMORY_LIMIT"] == want["memory_limit"]
    assert float(values["CPU_LIMIT"]) == want["cpu_limit"]
    assert int(values["CULL_TIMEOUT"]) == want["cull_timeout"]
    assert values["KIT_TAG"] == want["tag"]
    assert values["USER_ENV"] == "/opt/tljh/user"


def test_z2jh_values_follow_from_the_figures() -> None:
    config, want = yaml.safe_load((DEPLOY / "z2jh" / "config.yaml").read_text(encoding="utf-8")), derived()
    single = config["singleuser"]
    assert single["memory"] == {"limit": want["memory_limit"], "guarantee": want["memory_guarantee"]}
    assert single["cpu"] == {"limit": want["cpu_limit"], "guarantee": want["cpu_guarantee"]}
    assert config["cull"] == {"enabled": True, "timeout": want["cull_timeout"]}
    build = _shell_values(DEPLOY / "z2jh" / "build-image.sh")
    assert single["image"] == {"name": build["IMAGE"], "tag": want["tag"]} and build["KIT_TAG"] == want["tag"]
    assert single["extraEnv"]["TUTORIAL_KIT_HOME"] == f"/home/jovyan/{TARGET}/server-home"


def test_the_handed_out_link_is_the_one_the_hub_test_follows() -> None:
    script = (DEPLOY / "tljh" / "install.sh").read_text(encoding="utf-8")
    keys = dict(re.findall(r'"(\w+)": ("kit"|"[\w/.-]+"|repo|tag)', script))
    tested = {key: values[0] for key, values in parse_qs(nbgitpuller_query("REPO")).items()}
    assert set(keys) == set(tested)
    assert keys["targetPath"] == f'"{TARGET}"' and keys["urlpath"] == f'"lab/tree/{LESSON_1}"'
    assert tested["branch"] == release_tag() and keys["branch"] == "tag" and keys["repo"] == "repo"
    assert "/hub/user-redirect/git-pull?" in script


def test_the_learners_environment_is_binders_plus_the_hub() -> None:
    binder = (REPO / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^nbgitpuller==[\d.]+$", binder, re.M), "nbgitpuller is part of the learners' environment"
    extra = [line for line in (DEPLOY / "hub-test-requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert extra == [next(line for line in extra if line.startswith("jupyterhub=="))]


def figures_table() -> str:
    """The table docs/jupyterhub.md shows, from deploy/figures.json."""
    alone, five = FIGURES["course"]["1"], FIGURES["course"]["5"]
    spawn = FIGURES["spawn_seconds"]

    def span(values: Any) -> str:
        values = sorted(values.values() if isinstance(values, dict) else values)
        low, high = values[0], values[-1]
        return f"{low:g}" if low == high else f"{low:g}–{high:g}"

    rows = [
        (
            "servers started at once: ready after (s)",
            f"1: {span(spawn['1'])}; 3: {span(spawn['3'])}; 5: {span(spawn['5'])}",
        ),
        (
            "memory while running the lessons, PSS (MiB)",
            f"alone {span(alone['peak_mib'])}; five at once {span(five['peak_mib'])}",
        ),
        (
            "memory while running the lessons, RSS (MiB)",
            f"alone {span(alone['peak_rss_mib'])}; five at once {span(five['peak_rss_mib'])}",
        ),
        (
            "memory when idle after the lessons (MiB)",
            f"PSS {span(five['idle_after_mib'])}, RSS {span(five['idle_after_rss_mib'])}; "
            f"the kit's server {span(five['kit_server_mib'])} of it",
        ),
        (
            "CPU for the whole course (s)",
            f"alone {span(alone['cpu_seconds'])}; five at once {span(five['cpu_seconds'])}",
        ),
        (
            "most CPU in one second (cores)",
            f"alone {span(alone['peak_cores'])}; five at once {span(five['peak_cores'])}",
        ),
        (
            "every lesson, run cell after cell (s)",
            f"alone {alone['wall_seconds']:g}; five at once {five['wall_seconds']:g}",
        ),
        ("the hub and its proxy, PSS (MiB)", f"{five['hub_and_proxy_mib']:g}"),
    ]
    return "\n".join(["| figure | measured |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])


def test_the_doc_shows_the_measured_figures() -> None:
    doc = (REPO / "docs" / "jupyterhub.md").read_text(encoding="utf-8")
    assert figures_table() in doc, (
        "docs/jupyterhub.md's figures table differs from deploy/figures.json:\n" + figures_table()
    )
    machine = FIGURES["machine"]
    assert f"{machine['cpus']} cores" in doc and f"{machine['memory_gib']:g} GiB" in doc
