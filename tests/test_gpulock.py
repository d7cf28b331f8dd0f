"""Per-GPU locks: concurrent jobs get different cards, a job sees only its cards, a kill frees them."""

import multiprocessing as mp
import os
import signal
import time

import pytest

from facegan import gpulock


def _hold(lock_dir, count, candidates, queue, seconds):
    lease = gpulock.acquire(count, candidates, lock_dir, timeout=30, poll=0.05)
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
        gpulock.acquire(1, ["0", "1"], tmp_path, timeout=0.3, poll=0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.join(10)
    lease = gpulock.acquire(2, ["0", "1"], tmp_path, timeout=5, poll=0.05)
    assert lease.gpus == ["0", "1"]
    lease.release()


def test_assign_exports_only_the_won_cards(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5,7")  # the cards this machine lets us use
    held = gpulock.acquire(1, ["2"], tmp_path)  # another job holds card 2
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
