"""The kit's errors in a notebook: one short paragraph (what, where, what to do), never a traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from tutorial_kit import ConfigFileError, JsonActionError, KitUsageError, ServerNotRunningError
from tutorial_kit.notebook.error_paragraph import install, name_paragraph, paragraph, shown_path
from tutorial_kit.notebook.magic import get_magics

PATH = "/home/learner/kit/server-home/config/services.json"


def broken_file() -> ConfigFileError:
    return ConfigFileError(f"{PATH}: expected ',' or '}}' after a property value. Fix the file, then start the "
                           "server again.", path=PATH, line=7, column=5)


def test_a_broken_services_json_names_file_line_column_and_the_cell_to_run() -> None:
    err = broken_file()
    err.add_note("fix it there and save the file, then run this cell again.")
    text = paragraph(err)
    lines = text.splitlines()
    assert len(lines) == 3, text
    assert lines[0] == "services.json has a mistake, so the server did not start (ConfigFileError)."
    assert lines[1].startswith("server-home/config/services.json, line 7, column 5: expected ','")
    assert "/home/learner" not in text and "start the server again" not in text
    assert lines[2] == "What to do: fix it there and save the file, then run this cell again."


def test_every_kind_of_kit_error_says_what_to_do_and_hides_tokens() -> None:
    token = "A1" * 32
    assert "first cell again" in paragraph(ServerNotRunningError("No server answers at http://127.0.0.1:9/api"))
    answer = paragraph(JsonActionError(f"deleteSession failed with errorCode 12012: {token} is unknown",
                                       error_code=12012, error_message="unknown"))
    assert "errorCode 12012" in answer and token not in answer and "A1A1…" in answer and "check=False" in answer
    assert paragraph(KitUsageError("url='x' is not an http:// URL")).startswith("The kit was called the wrong way")
    assert shown_path("/x/y/services.json") == "/x/y/services.json"


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    assert install(ip)
    yield ip
    get_magics(ip).step_names = {}


def test_a_kit_error_in_a_cell_is_one_paragraph(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    shell.user_ns["broken_file"] = broken_file
    result = shell.run_cell("raise broken_file()")
    out = capsys.readouterr().out
    assert isinstance(result.error_in_exec, ConfigFileError), "the cell still failed: Run all stops there"
    assert "line 7, column 5" in out and "Traceback" not in out and "tutorial_kit" not in out
    assert len([line for line in out.splitlines() if line.strip()]) <= 3


def test_a_lesson_name_that_is_not_made_yet_names_its_step(shell: InteractiveShell,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    get_magics(shell).step_names = {"used": "Step 3: use the API key alone"}
    result = shell.run_cell("used.ok")
    out = capsys.readouterr().out
    assert isinstance(result.error_in_exec, NameError)
    assert out.strip().endswith(name_paragraph("used", "Step 3: use the API key alone").splitlines()[-1])
    assert "Step 3: use the API key alone makes it" in out and "Traceback" not in out
    shell.run_cell("not_a_lesson_name")
    assert "NameError" in capsys.readouterr().out  # any other name: IPython's usual report
