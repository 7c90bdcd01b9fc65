"""``python -m chime_mock serve ...``: the ``chime-mock`` command (see ``cli``)."""
from __future__ import annotations

import sys

from .doors.server.cli import main

if __name__ == "__main__":
    sys.exit(main())
