from ecsfix.cli import main

raise SystemExit(main())
