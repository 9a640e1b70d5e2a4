#!/usr/bin/env python3
"""Provision a participant's workshop environment, or a whole class's: ``python -m workshop setup``.

    python setup_env.py --help                # the options: --prefix, --participants, --roster, --upto ...

The command lives in workshop/cli/setup.py; this file keeps the name README.md documents.
"""

import sys

from workshop.cli import main

if __name__ == "__main__":
    sys.exit(main(["setup", *sys.argv[1:]], prog="setup_env.py"))
