"""``python -m reactive``: the ``reactive`` command."""

import sys

from reactive.tools.cli import main

sys.exit(main())
