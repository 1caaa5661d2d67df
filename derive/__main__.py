"""``python -m derive`` is the same as the ``backprop-derive`` command."""

import sys

from derive.cli import main

sys.exit(main())
