"""Per-GPU locks: concurrent jobs get different cards, a job sees only its cards, a kill frees them."""

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest

from facegan import gpulock


def _hold(lock_dir, count, candidates, queue, seconds):
    lease = gpulock.acquire(count, candidates, lock_dir=lock_dir, timeout=30, poll=0.05)
    queue.put((os.getpid(), lease.gpus, time.monotonic()))
    time.sleep(seconds)


def test_two_jobs_get_different_gpus_and_a_third_waits(tmp_path):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    a = ctx.Process(target=_hold, args=(tmp_path, 1, ["0", "1"], q, 1.5))
    b = ctx.Process(target=_hold, args=(tmp_path, 1, ["0", "1"], q, 1.5))
    a.start()
    b.start()
    first = [q.get(timeout=20), q.get(timeout=20)]
    assert sorted(g for _, gpus, _ in first for g in gpus) == ["0", "1"]
    started = time.monotonic()
    c = ctx.Process(target=_hold, args=(tmp_path, 1, ["0", "1"], q, 0))
    c.start()
    _, gpus, got_at = q.get(timeout=30)
    assert got_at - started > 0.8  # it had to wait for a or b to finish
    for p in (a, b, c):
        p.join(10)


def test_a_killed_job_frees_its_gpu(tmp_path):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_hold, args=(tmp_path, 2, ["0", "1"], q, 60))
    p.start()
    q.get(timeout=20)
    with pytest.raises(TimeoutError):
        gpulock.acquire(1, ["0", "1"], lock_dir=tmp_path, timeout=0.3, poll=0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.join(10)
    lease = gpulock.acquire(2, ["0", "1"], lock_dir=tmp_path, timeout=5, poll=0.05)
    assert lease.gpus == ["0", "1"]
    lease.release()


def test_assign_exports_only_the_won_cards(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5,7")  # the cards this machine lets us use
    held = gpulock.acquire(1, ["2"], lock_dir=tmp_path)  # another job holds card 2
    lease = gpulock.assign_gpus(2, tmp_path, timeout=5)
    assert lease.gpus == ["5", "7"] and os.environ["CUDA_VISIBLE_DEVICES"] == "5,7"
    lease.release()
    held.release()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5,7")
    lease = gpulock.assign_gpus(9, tmp_path, timeout=5)  # more than exist: all three, with a warning
    assert lease.gpus == ["2", "5", "7"]
    lease.release()


def test_cpu_jobs_and_slurm_jobs_lock_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert gpulock.assign_gpus(0, tmp_path) is None and os.environ["CUDA_VISIBLE_DEVICES"] == ""
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert gpulock.assign_gpus(1, tmp_path) is None and os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    assert not list(tmp_path.iterdir())


def test_no_gpu_machine_runs_on_cpu(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    assert gpulock.physical_gpus() == [] and gpulock.assign_gpus(2, tmp_path) is None


def test_lock_folder_and_files_let_every_user_lock_whatever_the_umask(tmp_path):
    from facegan import gpulock

    old = os.umask(0o077)
    try:
        lease = gpulock.acquire(1, ["0"], lock_dir=tmp_path / "locks", timeout=5)
    finally:
        os.umask(old)
    lease.release()
    assert (tmp_path / "locks").stat().st_mode & 0o7777 == 0o1777
    assert (tmp_path / "locks" / "gpu0.lock").stat().st_mode & 0o777 == 0o666


def test_a_planted_symlink_is_refused_and_its_target_untouched(tmp_path):
    from facegan import gpulock

    locks = tmp_path / "locks"
    locks.mkdir()
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    (locks / "gpu0.lock").symlink_to(target)
    with pytest.raises(gpulock.GpuLockError, match="symbolic link"):
        gpulock.acquire(1, ["0"], lock_dir=locks, timeout=5)
    assert target.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as a second user")
def test_a_second_user_can_lock_a_gpu_in_the_folder_the_first_user_made(tmp_path):
    import multiprocessing as mp
    import pwd
    import shutil
    import tempfile

    from facegan import gpulock

    shared = Path(tempfile.mkdtemp(prefix="facegan-locktest-", dir="/tmp"))  # pytest's tmp_path is private to root
    os.chmod(shared, 0o755)
    locks = shared / "locks"
    gpulock.acquire(1, ["0"], lock_dir=locks, timeout=5).release()  # root made the folder and gpu0.lock
    nobody = pwd.getpwnam("nobody")

    def as_nobody(queue):
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
        try:
            lease = gpulock.acquire(1, ["0", "1"], lock_dir=locks, timeout=5)
            queue.put(sorted(lease.gpus))
        except Exception as exc:  # noqa: BLE001
            queue.put(repr(exc))

    q = mp.get_context("fork").Queue()
    p = mp.get_context("fork").Process(target=as_nobody, args=(q,))
    p.start()
    got = q.get(timeout=30)
    p.join(10)
    shutil.rmtree(shared)
    assert got == ["0"], got
