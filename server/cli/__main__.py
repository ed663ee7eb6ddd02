"""``python -m server.cli``: the same as the ``srchallenge`` command."""

import sys

from server.cli import main

sys.exit(main())
