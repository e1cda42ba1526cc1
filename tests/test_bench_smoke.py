"""The benchmark runs end to end in its quick mode and reports every figure (issue 7).

No timing is asserted: a test never fails because a machine is slow. This only checks that
``python -m tutorial_kit.bench --quick --json PATH`` works and that its JSON is complete.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "bench-results.json"
    done = subprocess.run([sys.executable, "-m", "tutorial_kit.bench", "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8")), done.stdout


def test_the_machine_is_reported(bench: tuple[dict[str, Any], str]) -> None:
    results, table = bench
    machine = results["machine"]
    for key in ("cpu_model", "cores", "python", "tornado", "platform", "cpu_clock"):
        assert machine[key], key
    assert f"tornado {machine['tornado']}" in table and machine["cpu_model"] in table


def test_request_cost_side_by_side_with_a_bare_tornado_handler(bench: tuple[dict[str, Any], str]) -> None:
    results, table = bench
    for case in ("pingSession", "describeSessions_one"):
        row = results["request_cost"][case]
        for server in ("bare", "ours"):
            for figure in ("cpu_us_per_request", "throughput_rps", "p50_ms", "p99_ms"):
                assert _number(row[server][figure]) and row[server][figure] > 0, (case, server, figure)
            assert row[server]["requests"] >= results["config"]["requests"]
        assert _number(row["ratio_bare_over_ours"]) and row["ratio_bare_over_ours"] > 0
    assert "bare/ours" in table


def test_start_restart_and_the_session_counts(bench: tuple[dict[str, Any], str]) -> None:
    results, _ = bench
    sizes = results["config"]["sizes"]
    assert sizes == [100]
    assert sorted(results["start"], key=int) == ["0", *map(str, sizes)]
    for size, row in results["start"].items():
        for kind, figures in (("inprocess", ("start", "restart")),
                              ("background", ("start", "restart", "stop", "start_cpu", "restart_cpu"))):
            for figure in figures:
                summary = row[kind][figure]
                assert all(
                    _number(summary[k]) and summary[k] > 0 for k in ("median_ms", "min_ms", "max_ms", "first_ms")
                ), (size, kind, figure)
    assert _number(results["start_uncompiled"]["median_ms"]) and results["start_uncompiled"]["median_ms"] > 0
    assert list(results["live_sessions"]) == [str(s) for s in sizes]
    for row in results["live_sessions"].values():
        assert _number(row["describe_all"]["median_ms"]) and row["describe_all"]["bytes"] > 0
        assert _number(row["ping"]["p50_ms"]) and _number(row["ping"]["p99_ms"])


def test_spawns_side_by_side_with_a_bare_tornado_import(bench: tuple[dict[str, Any], str]) -> None:
    """Issue 15: the bare spawn, the fresh start and the 2,000-key restart, in the table and the JSON."""
    results, table = bench
    spawn = results["spawn"]
    assert spawn["rounds"] == results["config"]["spawn_rounds"] == 1
    assert spawn["bare"]["code"] == "import tornado.web"
    assert spawn["restart"]["permanent_sessions"] == 2000
    for kind in ("bare", "fresh_start", "restart"):
        row = spawn[kind]
        assert all(_number(row[k]) and row[k] > 0 for k in ("median_ms", "min_ms", "max_ms", "first_ms")), kind
        assert row["runs"] == 1
    for kind, target in (("fresh_start", 1.3), ("restart", 1.5)):
        row = spawn[kind]
        assert row["target_ratio"] == target
        assert _number(row["ratio"]) and row["ratio"] > 0 and _number(row["ratio_of_medians"])
        assert len(row["rounds_ratio"]) == 1
    assert 'bare: python -c "import tornado.web", spawn to exit' in table
    assert "fresh start (empty home), spawn to first answer" in table
    assert "restart, 2,000 permanent sessions, spawn to first answer" in table
    assert "<= 1.3x" in table and "<= 1.5x" in table


def test_every_target_has_a_value_and_a_verdict(bench: tuple[dict[str, Any], str]) -> None:
    results, table = bench
    names = [t["name"] for t in results["targets"]]
    assert len(names) == 8
    assert "fresh start / bare tornado spawn (ratio)" in names
    assert "restart, 2,000 keys / bare spawn (ratio)" in names
    for target in results["targets"]:
        assert _number(target["value"]) and isinstance(target["met"], bool) and target["target"]
    assert "Targets" in table
