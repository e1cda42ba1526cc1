"""``python -m tutorial_kit.bench [--quick] [--json PATH]``."""

import sys

from .cli import main

sys.exit(main())
