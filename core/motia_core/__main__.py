from __future__ import annotations

from motia_core.cli import main

raise SystemExit(main())
