"""``python -m motia_runner``: run the runner with the current interpreter's packages."""

import sys

from motia_runner.main import main

sys.exit(main())
