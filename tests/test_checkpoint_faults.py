"""Training state that survives damage: corrupt or truncated checkpoints, kills at random moments, orphans.

Tiny runs (6 steps per epoch) with a checkpoint every 2 steps: ckpt-2, -4, -6 (epoch end), -8, ...
"""

import os
import random
import signal
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow

EVERY = 2


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def reference(tiny_shards, tmp_path_factory, train_job, weights_of):
    """Uninterrupted 3-epoch run: the weights every damaged-then-resumed run must end with."""
    work = tmp_path_factory.mktemp("reference")
    train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=EVERY)
    return weights_of(work / "train" / "generator.keras")


def _numbers(ckpt_dir):
    return sorted(int(p.name[5:-6]) for p in ckpt_dir.glob("ckpt-*.index"))


def test_retention_keeps_the_newest_three_and_recent_epoch_ends(tiny_shards, tmp_path, train_job):
    train_job(tmp_path, tiny_shards, epochs=5, checkpoint_every_steps=EVERY)
    # 30 steps: newest three 26, 28, 30; epoch ends of the last three epochs 18, 24, 30
    assert _numbers(tmp_path / "train_state" / "checkpoints") == [18, 24, 26, 28, 30]


def test_a_corrupt_checkpoint_index_file_is_ignored_not_a_fresh_start(tiny_shards, tmp_path, train_job, weights_of,
                                                                       reference):
    train_job(tmp_path, tiny_shards, epochs=2, checkpoint_every_steps=EVERY)
    (tmp_path / "train_state" / "checkpoints" / "checkpoint").write_text("garbage")
    train_job(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=EVERY)
    log = (tmp_path / "train.log").read_text()
    assert "resumed from" in log and "ckpt-12" in log and "epochs 3..3" in log
    assert _same(weights_of(tmp_path / "train" / "generator.keras"), reference)


def test_a_truncated_newest_checkpoint_falls_back_to_the_one_before(tiny_shards, tmp_path, train_job, weights_of,
                                                                    reference):
    train_job(tmp_path, tiny_shards, epochs=2, checkpoint_every_steps=EVERY)
    ckpt = tmp_path / "train_state" / "checkpoints"
    data = next(ckpt.glob("ckpt-12.data-*"))
    os.truncate(data, data.stat().st_size // 3)
    train_job(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=EVERY)
    log = (tmp_path / "train.log").read_text()
    # It costs only the 2 steps since ckpt-10, and the result is what an undamaged run gives.
    assert "skipped 1 unreadable checkpoint(s)" in log and "ckpt-12 (" in log and "resumed from" in log
    assert "ckpt-10" in log.split("resumed from")[-1].splitlines()[0]
    assert _same(weights_of(tmp_path / "train" / "generator.keras"), reference)


def test_when_no_checkpoint_restores_training_stops_and_deletes_nothing(tiny_shards, tmp_path, train_job):
    train_job(tmp_path, tiny_shards, epochs=1, checkpoint_every_steps=EVERY)
    ckpt = tmp_path / "train_state" / "checkpoints"
    before = sorted(p.name for p in ckpt.iterdir())
    for data in ckpt.glob("ckpt-*.data-*"):
        os.truncate(data, 10)
    proc = train_job(tmp_path, tiny_shards, epochs=2, checkpoint_every_steps=EVERY, check=False)
    log = (tmp_path / "train.log").read_text()
    assert proc.returncode == 1 and "no checkpoint in" in log and "Traceback" not in log
    assert "ckpt-6" in log and "move" in log
    assert sorted(p.name for p in ckpt.iterdir()) == before


def test_remains_of_a_killed_save_are_removed_on_the_next_run(tiny_shards, tmp_path, train_job):
    train_job(tmp_path, tiny_shards, epochs=1, checkpoint_every_steps=EVERY)
    ckpt = tmp_path / "train_state" / "checkpoints"
    (ckpt / "ckpt-8_temp").mkdir()
    (ckpt / "ckpt-8_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"x" * 100)
    (ckpt / "ckpt-9.data-00000-of-00001").write_bytes(b"x" * 100)  # data without its index
    (tmp_path / "train_state" / "history.csv.part").write_text("half")
    train_job(tmp_path, tiny_shards, epochs=2, checkpoint_every_steps=EVERY)
    assert not (ckpt / "ckpt-8_temp").exists() and not (ckpt / "ckpt-9.data-00000-of-00001").exists()
    assert not (tmp_path / "train_state" / "history.csv.part").exists()
    assert "removed the remains of an interrupted checkpoint save" in (tmp_path / "train.log").read_text()


def test_kills_at_random_moments_always_resume_to_the_same_weights(tiny_shards, tmp_path, train_job, weights_of,
                                                                   reference):
    """SIGKILL at a random moment, then a plain rerun. One trial in five kills during start-up, the others at a
    random time while training runs (steps slowed to 0.2 s: 18 steps, 9 checkpoint saves, 3 epoch ends).
    FACEGAN_KILL_TRIALS sets how many trials (default 3), FACEGAN_KILL_SEED the random moments."""
    trials = int(os.environ.get("FACEGAN_KILL_TRIALS", "3"))
    rng = random.Random(int(os.environ.get("FACEGAN_KILL_SEED", "0")))
    outcomes = []
    for trial in range(trials):
        work = tmp_path / f"trial{trial}"
        proc = train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=EVERY, sleep_per_step=0.2, wait=False)
        started = time.time()
        if trial % 5 == 4:
            when = "start-up"
            deadline = started + rng.uniform(0.5, 4.0)
        else:
            while proc.poll() is None and "epochs 1..3" not in _read(work / "train.log") \
                    and time.time() < started + 120:
                time.sleep(0.02)
            when = "training"
            deadline = time.time() + rng.uniform(0.0, 8.0)  # tracing (~2 s), 18 steps, saves
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        after = round(time.time() - started, 1)
        ckpt_dir = work / "train_state" / "checkpoints"
        newest = (_numbers(ckpt_dir) or [None])[-1] if ckpt_dir.exists() else None
        train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=EVERY)
        same = _same(weights_of(work / "train" / "generator.keras"), reference)
        outcomes.append({"trial": trial, "killed_during": when if killed else "not killed (finished)",
                         "after_s": after, "newest_checkpoint": newest, "identical": same})
    print("\n".join(map(str, outcomes)))
    assert all(o["identical"] for o in outcomes), outcomes
    assert sum(o["killed_during"] == "training" for o in outcomes) >= (trials * 3) // 5  # the kills did land


def _read(path):
    return path.read_text() if path.exists() else ""
