"""Entry point for ``python3 -m kinc``."""

import sys

from kinc.cli import main

sys.exit(main())
