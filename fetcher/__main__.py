"""`python -m fetcher`: the command line."""

from fetcher.cli import main

raise SystemExit(main())
