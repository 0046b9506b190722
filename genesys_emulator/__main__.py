"""``python -m genesys_emulator``: see `cli.py`."""

import sys

from .cli import main

sys.exit(main())
