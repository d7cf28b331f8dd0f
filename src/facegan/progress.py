"""Progress bars that end up in the rule's log file instead of a terminal.

tqdm writes to a small stream that forwards each refreshed bar as one ``logging`` record, so the
bar lands in ``logs/<rule>.log`` (set up by :func:`facegan.logs.setup_logging`) at a bounded rate
(``mininterval``) rather than as thousands of carriage-return updates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
_log = logging.getLogger("facegan.progress")


class _LogStream:
    def write(self, text: str) -> None:
        text = text.strip("\r\n ")
        if text:
            _log.info(text)

    def flush(self) -> None:
        pass


def progress(iterable: Iterable[T], total: int | None = None, *, desc: str = "", unit: str = "it",
             mininterval: float = 5.0) -> Iterator[T]:
    """Iterate with a tqdm bar written to the log every ``mininterval`` seconds and at the end."""
    yield from tqdm(iterable, total=total, desc=desc, unit=unit, file=_LogStream(), mininterval=mininterval,
                    ascii=True, dynamic_ncols=False, ncols=100)
