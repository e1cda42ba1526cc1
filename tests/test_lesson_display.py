"""Showing a lesson (the last line of every lesson's first cell) never talks to the server.

A display is what a notebook does with ``lesson``: IPython's display formatter asks for every
form the object has. It must send no HTTP request and read the progress file once, however many
forms it asks for. Both are counted here: every request any httpx client of this process sends,
and every read of a ``progress.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from IPython.core.formatters import DisplayFormatter

from tutorial_kit.client.kit_client import KitClient
from tutorial_kit.lessons import Lesson, lesson_info, start_lesson
from tutorial_kit.lessons.catalog import MILESTONES


@dataclass
class Counts:
    requests: list[str] = field(default_factory=list)
    progress_reads: list[Path] = field(default_factory=list)


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """Count the HTTP requests of every httpx client and the reads of every progress.json."""
    counts = Counts()
    send, read_text = httpx.Client.send, Path.read_text

    def counted_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        counts.requests.append(f"{request.method} {request.url} {request.content[:80]!r}")
        return send(self, request, **kwargs)

    def counted_read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        if self.name == "progress.json" or self.name.startswith("progress-"):
            counts.progress_reads.append(self)
        return read_text(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(httpx.Client, "send", counted_send)
        patch.setattr(Path, "read_text", counted_read_text)
        yield counts


def show(lesson: Lesson) -> dict[str, Any]:
    """Display ``lesson`` as a notebook does: every form IPython's formatter asks for."""
    data, _ = DisplayFormatter().format(lesson)
    return data


class FakeControl:
    """The kit's own server of one home, as far as a Lesson's display can see; any request fails."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def client(self, **kwargs: Any) -> KitClient:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise AssertionError(f"the display sent {request.method} {request.url}")

        return KitClient("http://127.0.0.1:9/api", transport=httpx.MockTransport(refuse), **kwargs)


@pytest.fixture
def lesson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lesson:
    monkeypatch.delenv("TUTORIAL_KIT_REPRODUCIBLE", raising=False)  # show the ticks, not the saved-output line
    (tmp_path / "run").mkdir()
    done = [MILESTONES[0].key, MILESTONES[1].key]
    (tmp_path / "run" / "progress.json").write_text(json.dumps({"done": done, "check_token": None, "labels": {}}))
    return Lesson(lesson_info(3), FakeControl(tmp_path), {})  # type: ignore[arg-type]


def test_showing_a_lesson_sends_no_request_and_reads_the_progress_file_once(
        lesson: Lesson, monkeypatch: pytest.MonkeyPatch) -> None:
    with counting(monkeypatch) as counts:
        data = show(lesson)
    assert sorted(data) == ["text/html", "text/plain"]
    assert counts.requests == []
    assert len(counts.progress_reads) == 1, counts.progress_reads
    assert f"Course progress: 2 of {len(MILESTONES)}" in data["text/plain"]
    assert f"Course progress: 2 of {len(MILESTONES)}" in data["text/html"]


def test_the_notebook_shows_what_repr_and_repr_html_show(lesson: Lesson, monkeypatch: pytest.MonkeyPatch) -> None:
    data = show(lesson)
    with counting(monkeypatch) as counts:
        text, page = repr(lesson), lesson._repr_html_()
    assert (data["text/plain"], data["text/html"]) == (text, page)
    assert counts.requests == [] and len(counts.progress_reads) == 2, "one read each"
    assert text.startswith("Lesson 3 of 6: ") and page.startswith("<div ")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTORIAL_KIT_")}
    return {**env, "TUTORIAL_KIT_HOME": str(home), **extra}


@pytest.mark.slow
def test_a_lesson_of_the_kits_server_is_shown_without_a_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tutorial_kit.control.local import ServerControl

    monkeypatch.delenv("TUTORIAL_KIT_REPRODUCIBLE", raising=False)
    env = _env(tmp_path / "server-home")
    try:
        lesson = start_lesson(3, env=env)
        lesson.mark(MILESTONES[0].key)
        with counting(monkeypatch) as counts:
            data = show(lesson)
        assert counts.requests == [] and len(counts.progress_reads) == 1, counts
        assert "[x] " + MILESTONES[0].label in data["text/plain"]
    finally:
        ServerControl(tmp_path / "server-home").stop()


@pytest.mark.slow
def test_a_lesson_of_a_remote_server_is_shown_without_a_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tutorial_kit.server import EmulatorServer

    monkeypatch.setenv("HOME", str(tmp_path / "learner"))  # a remote server's progress file is under ~
    with EmulatorServer(tmp_path / "shared", port=0) as shared:
        env = _env(tmp_path / "unused", TUTORIAL_KIT_URL=shared.url,
                   TUTORIAL_KIT_USERNAME="ADMIN", TUTORIAL_KIT_PASSWORD="ADMIN")
        lesson = start_lesson(3, env=env)
        with counting(monkeypatch) as counts:
            data = show(lesson)
        lesson.client.close()
    assert lesson.remote and "ask your trainer" in data["text/plain"]
    assert counts.requests == [] and len(counts.progress_reads) == 1, counts
