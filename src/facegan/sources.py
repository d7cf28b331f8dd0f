"""The ``download`` stage: put a data set's raw files under ``resources/<name>/``.

Three sources, all ending in the same place and layout-agnostic (the index step finds images
wherever they are nested):

* ``synthetic`` - the embedded demo faces (:mod:`facegan.synthetic`), offline.
* ``local``     - an archive (``.zip``, ``.tar``, ``.tar.gz``/``.tgz``) that is unpacked, or a folder that
  is linked (not copied: CelebA is 200k files).
* ``kaggle``    - any Kaggle data set slug through the ``kaggle`` package, then unpacked like a local
  archive.

Every source writes into ``<out>.partial/`` and renames it to ``<out>`` only when complete, so a
failure or a kill never leaves something that looks like a finished download.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from facegan.errors import FaceganError
from facegan.files import write_json
from facegan.progress import progress

log = logging.getLogger(__name__)

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
MARKER = "facegan_source.json"


class SourceError(FaceganError):
    """A data source could not be fetched; the message says what to do."""


class KaggleCredentialsError(SourceError):
    pass


KAGGLE_HELP = (
    "Kaggle credentials not found. Provide one of:\n"
    "  - an API token: set KAGGLE_API_TOKEN, or save it as ~/.kaggle/access_token\n"
    "  - KAGGLE_USERNAME and KAGGLE_KEY environment variables\n"
    "  - ~/.kaggle/kaggle.json containing {\"username\": ..., \"key\": ...} (chmod 600)\n"
    "KAGGLE_CONFIG_DIR moves the ~/.kaggle folder. Create a token at https://www.kaggle.com/settings "
    "(API section). Alternatively download the archive yourself and use dataset.source: local with "
    "dataset.path pointing at it."
)


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(ARCHIVE_SUFFIXES)


def _safe_target(root: Path, member: str) -> Path:
    target = (root / member).resolve()
    if not target.is_relative_to(root.resolve()):
        raise SourceError(f"archive member {member!r} would be written outside {root}; refusing to unpack")
    return target


MAX_RATIO = 100  # declared size / archive size; CelebA's JPEGs barely compress (~1.0), a zip bomb is ~1000
RATIO_FROM = 256 << 20  # the ratio is checked from this declared size on (small archives of text compress well)
FREE_MARGIN = 1 << 30  # leave 1 GiB free after unpacking


def check_unpacked_size(archive: Path, declared: int, out: Path) -> None:
    """Refuse an archive that would fill the disk or that inflates suspiciously, before writing anything."""
    packed = max(archive.stat().st_size, 1)
    if declared > RATIO_FROM and declared / packed > MAX_RATIO:
        raise SourceError(f"{archive}: its members declare {declared / 2**20:,.0f} MiB, {declared / packed:,.0f} "
                          f"times the archive's size (at most {MAX_RATIO}x is unpacked): refusing a likely "
                          f"decompression bomb; unpack it yourself and give the folder as dataset.path")
    free = shutil.disk_usage(out).free
    if declared + FREE_MARGIN > free:
        raise SourceError(f"{archive}: its members declare {declared / 2**20:,.0f} MiB but {out} has "
                          f"{free / 2**20:,.0f} MiB free (1 GiB is kept free): free some space, or unpack it "
                          f"elsewhere and give the folder as dataset.path")


def _unzip(archive: Path, out: Path) -> list[str]:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for m in members:
            _safe_target(out, m.filename)
        check_unpacked_size(archive, sum(m.file_size for m in members), out)
        for m in progress(members, total=len(members), desc=f"unzip {archive.name}", unit="file"):
            zf.extract(m, out)
    return []


def _untar(archive: Path, out: Path) -> list[str]:
    """Unpack regular files, folders and links; devices and FIFOs are skipped and returned."""
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for m in members:
            _safe_target(out, m.name)
        special = [m for m in members if m.ischr() or m.isblk() or m.isfifo()]
        members = [m for m in members if m not in special]
        check_unpacked_size(archive, sum(m.size for m in members if m.isfile()), out)
        for m in progress(members, total=len(members), desc=f"untar {archive.name}", unit="file"):
            tf.extract(m, out, filter="data")
    if special:
        log.warning("%s: skipped %d device or FIFO member(s), which are not data: %s", archive, len(special),
                    ", ".join(m.name for m in special[:5]) + (" ..." if len(special) > 5 else ""))
    return [m.name for m in special]


def unpack_archive(archive: str | Path, out_dir: str | Path) -> list[str]:
    """Unpack a zip or tar archive into ``out_dir``, refusing members that escape it and archives too large
    for the disk; returns the members skipped (devices, FIFOs)."""
    archive, out = Path(archive), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            return _unzip(archive, out)
        if name.endswith((".tar", ".tar.gz", ".tgz")):
            return _untar(archive, out)
        raise SourceError(f"{archive}: not a supported archive (use one of {', '.join(ARCHIVE_SUFFIXES)})")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise SourceError(f"{archive}: the archive is damaged or incomplete ({exc}); download it again") from exc


def fetch_local(path: str | Path, out_dir: Path) -> dict:
    src = Path(path).expanduser()
    if not src.exists():
        raise SourceError(f"dataset.path {str(path)!r} does not exist (dataset.source is 'local')")
    if src.is_dir():
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "images").symlink_to(src.resolve(), target_is_directory=True)
        log.info("linked folder %s as %s", src, out_dir / "images")
        return {"kind": "folder", "path": str(src.resolve())}
    if not is_archive(src):
        raise SourceError(f"dataset.path {str(path)!r} is neither a folder nor an archive "
                          f"({', '.join(ARCHIVE_SUFFIXES)})")
    skipped = unpack_archive(src, out_dir)
    return {"kind": "archive", "path": str(src.resolve()), "bytes": src.stat().st_size, "skipped_members": skipped}


def kaggle_credentials_present(env: os._Environ | dict | None = None, home: Path | None = None) -> bool:
    """Whether any credential that kaggle 2.x accepts is present, checked without importing it.

    Mirrors ``KaggleApi.authenticate`` (kaggle 2.2): an access token (``KAGGLE_API_TOKEN``, or
    ``~/.kaggle/access_token[.txt]``), a legacy key (``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, or
    ``kaggle.json`` in ``KAGGLE_CONFIG_DIR``, ``~/.kaggle`` or ``~/.config/kaggle``), or the OAuth
    file ``~/.kaggle/credentials.json`` written by ``kaggle auth login``.
    """
    env = os.environ if env is None else env
    home = Path(home or Path.home())
    if env.get("KAGGLE_API_TOKEN") or (env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY")):
        return True
    config_dirs = [Path(env["KAGGLE_CONFIG_DIR"])] if env.get("KAGGLE_CONFIG_DIR") else [
        home / ".kaggle", Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "kaggle"]
    files = [d / "kaggle.json" for d in config_dirs] + [
        home / ".kaggle" / name for name in ("access_token", "access_token.txt", "credentials.json")]
    return any(f.is_file() for f in files)


def unpack_downloads(download_dir: Path, out_dir: Path) -> tuple[list[str], list[str]]:
    """Unpack every archive that ``kaggle.api.dataset_download_files`` left in ``download_dir``; returns their
    names and the members skipped."""
    archives = sorted(p for p in Path(download_dir).iterdir() if is_archive(p))
    if not archives:
        raise SourceError(f"the kaggle download produced no archive in {download_dir}")
    skipped = [m for archive in archives for m in unpack_archive(archive, out_dir)]
    return [a.name for a in archives], skipped


def fetch_kaggle(slug: str, out_dir: Path) -> dict:
    if not kaggle_credentials_present():
        raise KaggleCredentialsError(KAGGLE_HELP)
    download_dir = out_dir.parent / (out_dir.name + ".kaggle-download")
    shutil.rmtree(download_dir, ignore_errors=True)
    download_dir.mkdir(parents=True)
    try:
        # The kaggle package authenticates when imported and (depending on the version) raises,
        # calls exit(1) or swallows the failure: import it here only, catch SystemExit too, and
        # check that it really authenticated.
        try:
            from kaggle import api  # noqa: PLC0415
        except (Exception, SystemExit) as exc:
            raise KaggleCredentialsError(
                f"the kaggle package rejected the credentials ({exc!r}).\n{KAGGLE_HELP}") from exc
        if getattr(api, "_authenticated", True) is False:
            raise KaggleCredentialsError(
                f"the kaggle package found credentials but could not authenticate with them (an access token is "
                f"checked online: is the network reachable, is the token valid?).\n{KAGGLE_HELP}")
        log.info("downloading kaggle data set %s (CelebA is ~1.4 GB)", slug)
        try:
            api.dataset_download_files(slug, path=str(download_dir), unzip=False, quiet=False)
        except (Exception, SystemExit) as exc:
            raise SourceError(
                f"downloading kaggle data set {slug!r} failed: {exc!r}. Check the slug "
                f"(owner/dataset), your network connection and that your credentials are valid."
            ) from exc
        names, skipped = unpack_downloads(download_dir, out_dir)
        return {"kind": "kaggle", "slug": slug, "archives": names, "skipped_members": skipped}
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)


def safe_folder_name(name: str) -> bool:
    """Whether ``name`` is one plain folder name (no separator, not ``.`` or ``..``): what becomes a path."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


def _remove_previous(out: Path) -> None:
    """Remove an earlier download at ``out``: only a folder facegan made (it holds the marker file);
    a symlink is unlinked, never followed."""
    if out.is_symlink():
        out.unlink()
    elif out.is_dir():
        if not (out / MARKER).is_file():
            raise SourceError(f"{out} exists but was not made by facegan (no {MARKER} in it); move it away or "
                              f"choose another dataset.name")
        shutil.rmtree(out)
    elif out.exists():
        raise SourceError(f"{out} exists and is not a folder; move it away or choose another dataset.name")


def fetch(source: str, out_dir: str | Path, *, path: str | None = None, kaggle_slug: str | None = None,
          synthetic_count: int = 0, seed: int = 0) -> Path:
    """Fetch a data set into ``out_dir`` (atomically) and record what was fetched in its marker file.

    ``out_dir``'s last part must be a plain folder name (``dataset.name``): nothing outside its parent
    folder is ever written or deleted.
    """
    name = str(out_dir).rsplit("/", 1)[-1]  # as given: pathlib would drop a trailing "." or "/"
    if not safe_folder_name(name):
        raise SourceError(f"dataset.name must be one plain folder name (letters, digits, '.', '_', '-'; not '.' "
                          f"or '..'), got {name!r}")
    out = Path(out_dir)
    partial = out.parent / (out.name + ".partial")
    if partial.is_symlink():
        partial.unlink()
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        if source == "synthetic":
            from facegan.synthetic import write_synthetic_dataset  # noqa: PLC0415

            write_synthetic_dataset(partial, synthetic_count, seed)
            info = {"kind": "synthetic", "count": synthetic_count, "seed": seed}
        elif source == "local":
            if not path:
                raise SourceError("dataset.source is 'local' but dataset.path is empty: set it to an archive or folder")
            info = fetch_local(path, partial)
        elif source == "kaggle":
            info = fetch_kaggle(kaggle_slug or "", partial)
        else:
            raise SourceError(f"dataset.source {source!r} is not one of synthetic, local, kaggle")
        write_json(partial / MARKER, info)
        _remove_previous(out)
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("data set ready in %s: %s", out, info)
    return out
