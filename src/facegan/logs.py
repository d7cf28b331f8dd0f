"""Logging set-up shared by the workflow steps and the command line."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send log records to ``log_file`` (created with its folder) and to stderr.

    ``FACEGAN_LOG_LEVEL`` (e.g. ``DEBUG``) sets facegan's own loggers' level; other libraries stay at ``level``.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        # backslashreplace: a file name that is not valid UTF-8 is logged, not a logging error
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8", errors="backslashreplace"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.getLogger("facegan").setLevel(os.environ.get("FACEGAN_LOG_LEVEL", "").upper() or level)
    logging.captureWarnings(True)
    logging.getLogger("absl").setLevel(logging.WARNING)  # one INFO line per checkpoint save otherwise
