"""``python -m motia_runner``: run the runner with the current interpreter's packages."""

import os
import sys

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # see bootstrap.py

from motia_runner.main import main

sys.exit(main())
