"""``python -m reactive``: the ``reactive`` command."""

import sys

from .cli import main

sys.exit(main())
