"""``python -m richneuron``: see :mod:`richneuron.cli`."""

import sys

from .cli import main

sys.exit(main())
