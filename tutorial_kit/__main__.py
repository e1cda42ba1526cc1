"""``python -m tutorial_kit`` is the ``tutorial-kit`` command."""

import sys

from .cli.main import main

sys.exit(main())
