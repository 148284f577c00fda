"""``python -m sklearn_order``: the command-line main job (:mod:`sklearn_order.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
