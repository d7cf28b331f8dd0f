"""Reading the small text tables that come with a data set (attribute lists, partition lists).

They come from many hands: UTF-8 with or without a byte-order mark, UTF-16 with one (what Excel and
PowerShell save), separated by commas, semicolons (Excel in many locales), tabs or runs of spaces
(CelebA's original ``.txt``). Anything else is refused with one line that names the file and the fix.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from facegan.errors import FaceganError

SEPARATORS = (",", ";", "\t")


class TableError(FaceganError, ValueError):
    """A table cannot be read; the message names the file and what to do."""


def decode(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise TableError(f"{path} is empty: put the data set's table back, or remove the file")
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(f"{path} is not UTF-8 or UTF-16 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}):"
                         f" save it as UTF-8") from exc


def read_rows(path: str | Path) -> list[list[str]]:
    """The table's non-empty rows, each a list of stripped fields, with the separator its first line uses."""
    path = Path(path)
    lines = [ln for ln in decode(path).splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    sep = next((s for s in SEPARATORS if s in first), None)
    if sep is None:
        return [ln.split() for ln in lines]
    return [[field.strip() for field in row] for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)]
