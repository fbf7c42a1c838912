"""Logging set-up: plain text on a terminal, JSON lines otherwise, optional rotating file."""

from __future__ import annotations

import json
import logging
import sys
from typing import Final

_TEXT_FORMAT: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as JSON."""
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup(
    level: str = "info",
    *,
    log_file: str | None = None,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
    json_lines: bool | None = None,
) -> None:
    """Configure the root logger (idempotent: earlier handlers are replaced)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    use_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(JsonFormatter() if use_json else logging.Formatter(_TEXT_FORMAT))
    root.addHandler(console)
    if log_file:
        from logging.handlers import RotatingFileHandler  # noqa: PLC0415 (only with a log file)

        rotating = RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        rotating.setFormatter(logging.Formatter(_TEXT_FORMAT))
        root.addHandler(rotating)
    root.setLevel(level.upper())
    # aiohttp's access log is noise at info level for a scrape target.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
