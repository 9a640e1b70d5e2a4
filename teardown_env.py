#!/usr/bin/env python3
"""Remove exactly what belongs to a participant (or a class): ``python -m workshop teardown``.

    python teardown_env.py --help             # the options: --dry-run, --prefix, --participants ...

The command lives in workshop/cli/teardown.py; this file keeps the name README.md documents.
"""

import sys

from workshop.cli import main

if __name__ == "__main__":
    sys.exit(main(["teardown", *sys.argv[1:]], prog="teardown_env.py"))
