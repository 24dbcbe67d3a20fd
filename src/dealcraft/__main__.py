"""``python -m dealcraft``: same as the ``dealcraft`` console script."""

import sys

from dealcraft.cli import main

if __name__ == "__main__":
    sys.exit(main())
