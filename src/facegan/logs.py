"""Logging set-up shared by the workflow steps and the command line."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TerminalFilter(logging.Filter):
    """What a workflow job shows on the terminal: facegan's own records, and every library's errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "facegan" or record.name.startswith("facegan.") or record.levelno >= logging.ERROR


def native_stderr_to(log_file: str | Path):
    """Send this process's file descriptor 2 (TensorFlow's C++ start-up lines, native warnings, a
    traceback) into ``log_file``, truncated; returns a stream to the terminal's stderr for the log records
    meant for a person. Only for processes that own their stderr (workflow jobs), never in a test runner."""
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    sys.stderr.flush()
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_NOFOLLOW, 0o666)
    os.dup2(fd, 2)
    os.close(fd)
    return terminal


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO, terminal=None) -> None:
    """Send log records to ``log_file`` (created with its folder) and to stderr.

    With ``terminal`` (a stream, from :func:`native_stderr_to`), the records go there instead of stderr,
    filtered by :class:`TerminalFilter`; the log file keeps them all.
    ``FACEGAN_LOG_LEVEL`` (e.g. ``DEBUG``) sets facegan's own loggers' level; other libraries stay at ``level``.
    """
    to_terminal = logging.StreamHandler(terminal or sys.stderr)
    if terminal is not None:
        to_terminal.addFilter(TerminalFilter())
    handlers: list[logging.Handler] = [to_terminal]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        # backslashreplace: a file name that is not valid UTF-8 is logged, not a logging error
        handlers.append(logging.FileHandler(log_file, mode="a" if terminal else "w", encoding="utf-8",
                                            errors="backslashreplace"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.getLogger("facegan").setLevel(os.environ.get("FACEGAN_LOG_LEVEL", "").upper() or level)
    logging.captureWarnings(True)
    logging.getLogger("absl").setLevel(logging.WARNING)  # one INFO line per checkpoint save otherwise
