"""``python -m ipr_vision`` runs the command line."""

import sys

from .app.cli import main

sys.exit(main())
