"""`make outputs` is deterministic: regenerating every lesson gives back the saved files, byte for byte.

nbval compares outputs after sanitising; this is stricter. It fails when a lesson was edited
without `make outputs`, or when something in an output changes from run to run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tutorial_kit.notebook.outputs import main

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_regenerated_outputs_equal_the_saved_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(NOTEBOOKS), "--check"]) == 0, capsys.readouterr().err
