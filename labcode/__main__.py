"""``python -m labcode``: see :mod:`labcode.cli`."""

import sys

from labcode.cli import main

if __name__ == "__main__":
    sys.exit(main())
