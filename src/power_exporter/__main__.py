"""Allow ``python -m power_exporter``."""

from power_exporter.cli import main

raise SystemExit(main())
