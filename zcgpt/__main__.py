"""`python -m zcgpt ...`: see zcgpt/cli.py."""

import sys

from .process import tune_process

tune_process()                     # before the command line imports numpy

try:
    from .cli import main
except KeyboardInterrupt:          # Ctrl-C while Python loads the command line
    print("python -m zcgpt: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
