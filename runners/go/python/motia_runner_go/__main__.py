from motia_runner_go.cli import main

raise SystemExit(main())
