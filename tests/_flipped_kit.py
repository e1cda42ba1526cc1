"""Run ``tutorial-kit doctor`` on an embedded kit whose kit's-choice rows are flipped.

    python tests/_flipped_kit.py ROW=JSON_VALUE [ROW=JSON_VALUE ...]

The rows are changed before any server module is imported (they read the table when imported),
so the embedded server the doctor starts answers with the flipped values.
"""

import importlib.util
import json
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "tutorial_kit" / "server" / "kit_choices.py"
_SPEC = importlib.util.spec_from_file_location("tutorial_kit.server.kit_choices", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
choices = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = choices
_SPEC.loader.exec_module(choices)
for argument in sys.argv[1:]:
    name, value = argument.split("=", 1)
    choices.KIT_CHOICES[name] = choices.Choice(
        json.loads(value), "flipped for a test: " + choices.KIT_CHOICES[name].why
    )

from tutorial_kit.client.doctor import main  # noqa: E402  (after the flip, on purpose)

sys.exit(main([]))
