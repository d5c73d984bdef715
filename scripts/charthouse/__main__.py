"""Allow ``python -m charthouse``: the bootstrap uses it before the console script exists."""

from charthouse.cli import main

raise SystemExit(main())
