"""``python -m scsr`` runs the command-line interface."""

import sys

from scsr.cli import main

sys.exit(main())
