"""Give each local GPU job its own cards.

Snakemake's ``--resources gpu=N`` only caps how many GPUs the running jobs ask for in total; it never
sets ``CUDA_VISIBLE_DEVICES``, so two jobs with ``gpu=1`` would both see, and use, every card. Here
a job takes an exclusive ``flock`` on one lock file per card (``<lock dir>/gpu<i>.lock``) for its
whole life and exports the cards it won as ``CUDA_VISIBLE_DEVICES``: two jobs never share a card and
a job never sees more cards than it asked for. The kernel drops a flock when its process ends, even
on SIGKILL, so a killed job never leaves a card locked.

Under SLURM the scheduler assigns the cards (and sets ``CUDA_VISIBLE_DEVICES``): nothing is locked.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from facegan.errors import FaceganError
from facegan.gpuinfo import nvidia_smi_gpus, visible_devices

log = logging.getLogger(__name__)

DEFAULT_LOCK_DIR = Path(os.environ.get("FACEGAN_GPU_LOCK_DIR", Path(tempfile.gettempdir()) / "facegan-gpu-locks"))


def physical_gpus() -> list[str]:
    """The GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else what nvidia-smi lists."""
    visible = visible_devices()
    if visible is not None:
        return visible
    return [str(i) for i in range(len(nvidia_smi_gpus()))]


def prepare_lock_dir(lock_dir: Path) -> None:
    """The lock folder, shared by every user of the machine: created world-writable with the sticky bit
    (mode 1777, like /tmp), so anyone can create a lock file but only its owner can delete it."""
    if lock_dir.is_symlink():
        raise GpuLockError(f"{lock_dir} is a symbolic link; refusing to use it for GPU locks (remove it, or set "
                           f"FACEGAN_GPU_LOCK_DIR to a folder of your own)")
    if not lock_dir.is_dir():
        lock_dir.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(lock_dir, 0o1777)
        except PermissionError:  # created concurrently by another user: theirs to set
            pass


class GpuLockError(FaceganError):
    pass


def open_lock_file(path: Path):
    """Open (creating it mode 0666, whatever the umask) one card's lock file, never through a symlink."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise GpuLockError(f"{path} is a symbolic link; refusing to follow it (someone may be trying to make a "
                               f"GPU job overwrite another file). Remove the link.") from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise GpuLockError(f"cannot open {path} ({exc.strerror}): another user created it without write "
                               f"permission for others. Ask them (or root) to run chmod 1777 {path.parent} and "
                               f"chmod 666 {path.parent}/gpu*.lock, or set FACEGAN_GPU_LOCK_DIR to a folder of "
                               f"your own (then locks are not shared with other users)") from exc
        raise
    try:
        if os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, 0o666)  # the umask may have narrowed it
    except OSError:
        pass
    return os.fdopen(fd, "r+")


@dataclass
class GpuLease:
    """Cards held by this process; released by :meth:`release` or when the process ends."""

    gpus: list[str]
    _files: list = field(default_factory=list, repr=False)

    def release(self) -> None:
        for f in self._files:
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()
        self._files.clear()


def acquire(count: int, candidates: list[str], *, lock_dir: Path = DEFAULT_LOCK_DIR, timeout: float | None = None,
            poll: float = 1.0) -> GpuLease:
    """Lock ``count`` of the ``candidates`` cards, waiting (up to ``timeout`` s) until enough are free."""
    if count > len(candidates):
        raise ValueError(f"asked for {count} GPU(s) but only {len(candidates)} exist")
    prepare_lock_dir(lock_dir)
    start, warned = time.monotonic(), False
    while True:
        held = []
        for gpu in candidates:
            f = open_lock_file(lock_dir / f"gpu{gpu}.lock")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            held.append((gpu, f))
            if len(held) == count:
                lease = GpuLease([g for g, _ in held], [f for _, f in held])
                for g, f in held:
                    f.seek(0)
                    f.truncate()
                    f.write(f"pid {os.getpid()}\n")
                    f.flush()
                return lease
        for _, f in held:  # not enough free: give back what we took, so waiting jobs cannot deadlock
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()
        if timeout is not None and time.monotonic() - start > timeout:
            raise TimeoutError(f"no {count} free GPU(s) among {candidates} after {timeout:.0f} s (locks in {lock_dir})")
        if not warned:
            log.info("waiting for %d free GPU(s) among %s (held by other jobs; locks in %s)", count, candidates,
                     lock_dir)
            warned = True
        time.sleep(poll)


def assign_gpus(requested: int, lock_dir: Path = DEFAULT_LOCK_DIR, timeout: float | None = None) -> GpuLease | None:
    """Decide this job's cards and export them as ``CUDA_VISIBLE_DEVICES`` (before TensorFlow starts).

    Returns the lease to keep for the job's lifetime (None when nothing was locked).
    """
    if requested <= 0:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        return None
    if os.environ.get("SLURM_JOB_ID") and "CUDA_VISIBLE_DEVICES" in os.environ:
        log.info("SLURM job %s: using the GPUs SLURM assigned (CUDA_VISIBLE_DEVICES=%s)", os.environ["SLURM_JOB_ID"],
                 os.environ["CUDA_VISIBLE_DEVICES"])
        return None
    candidates = physical_gpus()
    if not candidates:
        log.info("no GPU found on this machine: the job runs on the CPU")
        return None
    count = min(requested, len(candidates))
    if count < requested:
        log.warning("asked for %d GPU(s), this machine has %d: using %d", requested, len(candidates), count)
    lease = acquire(count, candidates, lock_dir=lock_dir, timeout=timeout)
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(lease.gpus)
    log.info("this job holds GPU(s) %s (CUDA_VISIBLE_DEVICES=%s; locks in %s)", lease.gpus, ",".join(lease.gpus),
             lock_dir)
    return lease
