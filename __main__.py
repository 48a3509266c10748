"""``python -m tapehead``: the ``tapehead`` command (``tapehead.agent.cli.main``)."""

import sys

from tapehead.agent.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
