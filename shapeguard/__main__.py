"""``python -m shapeguard`` runs the command line, exactly as ``shapeguard`` does."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
