"""``python -m fmaudit``: the command line."""

import sys

from fmaudit.cli import main

sys.exit(main())
