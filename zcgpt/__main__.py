"""`python -m zcgpt ...`: see zcgpt/cli.py."""

import sys

from .cli import main

sys.exit(main())
