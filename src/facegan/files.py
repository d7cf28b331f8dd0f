"""Writing output files so that a kill never leaves half a file and a planted link is never followed.

Every file facegan writes goes through :func:`atomic_output`: the content is written to a new temporary
file beside the target (created with ``O_CREAT | O_EXCL``, so it cannot be a link someone planted), then
renamed over the target. A rename replaces a link at the target instead of writing through it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from facegan.errors import FaceganError

PART = ".part"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | Path):
    """Yield a fresh temporary path for ``path``'s content; on success it replaces ``path``.

    The temporary name keeps the target's extension (``.x.1a2b.part.keras``) for writers that look at it.
    """
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise FaceganError(f"{path} is a directory: give a file name that does not exist yet, or remove the folder")
    legacy = path.with_name(path.name + PART)  # what older versions wrote (or a link planted there)
    if legacy.is_symlink() or legacy.is_file():
        legacy.unlink()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART + path.suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_parts(directory: Path) -> None:
    """Every temporary file in ``directory`` (left by a kill)."""
    for part in [*Path(directory).glob(f".*{PART}*"), *Path(directory).glob(f"*{PART}")]:
        if part.is_file() or part.is_symlink():
            part.unlink(missing_ok=True)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_text(path: str | Path, text: str, **kwargs) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text, **kwargs)


def write_json(path: str | Path, obj, indent: int = 2) -> None:
    write_text(path, json.dumps(obj, indent=indent) + "\n")


def open_append(path: str | Path, **kwargs):
    """Open ``path`` for appending text without following a link planted at it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    return os.fdopen(fd, "a", **kwargs)
