"""Training: outputs, resume after a kill, raising epochs, determinism, stale checkpoints, NaN stop.

Each run trains a tiny DCGAN (width 8, 32x32, 96 images, 6 steps per epoch) in a fresh process.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import TINY_TRAIN, generator_weights, run_training

pytestmark = pytest.mark.slow


def _history(workdir):
    with open(workdir / "train" / "history.csv") as f:
        return list(csv.DictReader(f))


def _same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def straight_run(tiny_shards, tmp_path_factory):
    """An uninterrupted 3-epoch run: the reference the resumed runs must reproduce exactly."""
    work = tmp_path_factory.mktemp("straight")
    run_training(work, tiny_shards, epochs=3, checkpoint_every_steps=4)
    return work


def test_training_writes_every_output(straight_run, tiny_shards):
    out = straight_run / "train"
    for name in ("generator.keras", "generator.h5", "discriminator.keras", "history.csv", "training_options.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "progress").iterdir()) == ["epoch_0001.png", "epoch_0002.png",
                                                                   "epoch_0003.png"]
    rows = _history(straight_run)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert all(np.isfinite(float(r[k])) for r in rows for k in ("d_loss", "g_loss", "seconds", "images_per_s"))
    assert [int(r["steps"]) for r in rows] == [6, 6, 6]
    opts = json.loads((out / "training_options.json").read_text())
    assert opts["dataset_sha256"] == tiny_shards["stats_json"]["dataset_sha256"]
    assert opts["devices"]["kind"] == "cpu" and opts["devices"]["replicas"] == 1
    assert {"python", "tensorflow", "keras"} <= set(opts["versions"])
    assert opts["train_options"]["learning_rate"] == 2e-4
    assert any((straight_run / "train_state" / "tensorboard").rglob("events.out.tfevents.*"))


def test_h5_generator_loads_with_keras_and_generates(straight_run):
    import keras

    g = keras.models.load_model(straight_run / "train" / "generator.h5")
    images = np.asarray(g(np.random.default_rng(0).normal(size=(4, 16)).astype("float32"), training=False))
    assert images.shape == (4, 32, 32, 3) and np.all(np.abs(images) <= 1)
    keras_g = keras.models.load_model(straight_run / "train" / "generator.keras")
    assert _same_weights(g.get_weights(), keras_g.get_weights())


def test_exported_models_load_without_facegan(straight_run):
    """Training uses facegan's fused BatchNormalization; the exports use Keras's own layers."""
    code = ("import sys, keras\n"
            "for name in sys.argv[1:]:\n"
            "    m = keras.models.load_model(name)\n"
            "    kinds = {type(layer).__name__ for layer in m.layers}\n"
            "    assert 'BatchNormalization' in kinds and 'FusedBatchNormalization' not in kinds, kinds\n"
            "assert not any(mod.startswith('facegan') for mod in sys.modules)\n"
            "print('ok')\n")
    out = straight_run / "train"
    proc = subprocess.run([sys.executable, "-c", code, str(out / "generator.keras"), str(out / "generator.h5"),
                           str(out / "discriminator.keras")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_two_seeded_runs_are_identical(straight_run, tiny_shards, tmp_path):
    run_training(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=4)
    assert _same_weights(generator_weights(tmp_path / "train" / "generator.keras"),
                         generator_weights(straight_run / "train" / "generator.keras"))


def test_raising_epochs_continues_and_matches_an_uninterrupted_run(straight_run, tiny_shards, tmp_path):
    run_training(tmp_path, tiny_shards, epochs=2, checkpoint_every_steps=4)
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1, 2]
    run_training(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=4)
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1, 2, 3]
    log = (tmp_path / "train.log").read_text()
    assert "resumed from" in log and "epochs 3..3" in log
    assert _same_weights(generator_weights(tmp_path / "train" / "generator.keras"),
                         generator_weights(straight_run / "train" / "generator.keras"))


def test_killed_job_resumes_from_its_last_checkpoint(straight_run, tiny_shards, tmp_path):
    """SIGKILL mid-training (after the step-4 checkpoint of epoch 2), then run again."""
    args = {"shard_files": tiny_shards["files"], "stats_path": tiny_shards["stats"], "out_dir": str(tmp_path / "train"),
            "state_dir": str(tmp_path / "train_state"),
            "options": {**TINY_TRAIN, "epochs": 3, "checkpoint_every_steps": 4}}
    (tmp_path / "args.json").write_text(json.dumps(args))
    code = ("import json; from facegan.steps import train; import time, keras\n"
            "class Slow(keras.callbacks.Callback):\n"
            "    def on_train_batch_end(self, b, logs=None): time.sleep(0.3)\n"
            "import facegan.training as t\n"
            "orig = t._callbacks\n"
            "t._callbacks = lambda *a, **k: orig(*a, **k) + [Slow()]\n"
            f"train(**json.load(open({str(tmp_path / 'args.json')!r})))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt_dir = tmp_path / "train_state" / "checkpoints"
    deadline = time.time() + 300
    # Wait for the mid-epoch checkpoint of epoch 2 (step 6 + 4 = 10), then kill without warning.
    while time.time() < deadline and not (ckpt_dir / "ckpt-10.index").exists():
        assert proc.poll() is None, "training ended before it could be killed"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "train" / "generator.keras").exists()

    run_training(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=4)
    rows = _history(tmp_path)
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert "resumed from" in (tmp_path / "train.log").read_text()
    assert _same_weights(generator_weights(tmp_path / "train" / "generator.keras"),
                         generator_weights(straight_run / "train" / "generator.keras"))


def test_checkpoint_from_other_settings_is_set_aside_not_reused(tiny_shards, tmp_path):
    run_training(tmp_path, tiny_shards, epochs=1)
    run_training(tmp_path, tiny_shards, epochs=1, width=4)
    log = (tmp_path / "train.log").read_text()
    assert "NOT reused" in log and "width" in log and "resumed from" not in log
    assert len(list(tmp_path.glob("train_state.stale-*"))) == 1
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1]


def test_lowering_epochs_below_the_checkpoint_is_a_clear_error(tiny_shards, tmp_path):
    run_training(tmp_path, tiny_shards, epochs=2)
    proc = run_training(tmp_path, tiny_shards, epochs=1, check=False)
    assert proc.returncode == 1
    assert "is at epoch 2 but train.epochs is 1" in (tmp_path / "train.log").read_text()


def test_non_finite_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tiny_shards, tmp_path):
    """Fault injection: after epoch 1 (checkpointed) a discriminator weight becomes NaN."""
    args = {"shard_files": tiny_shards["files"], "stats_path": tiny_shards["stats"], "out_dir": str(tmp_path / "train"),
            "state_dir": str(tmp_path / "train_state"), "options": {**TINY_TRAIN, "epochs": 3}}
    (tmp_path / "args.json").write_text(json.dumps(args))
    code = ("import json, numpy as np, keras; from facegan.steps import train\n"
            "class Poison(keras.callbacks.Callback):\n"
            "    def on_epoch_end(self, epoch, logs=None):\n"
            "        if epoch == 0:\n"
            "            v = self.model.discriminator.trainable_variables[0]\n"
            "            v.assign(np.full(v.shape, np.nan, 'float32'))\n"
            "import facegan.training as t\n"
            "orig = t._callbacks\n"
            "t._callbacks = lambda *a, **k: orig(*a, **k) + [Poison()]\n"
            f"train(**json.load(open({str(tmp_path / 'args.json')!r})), log_file={str(tmp_path / 'train.log')!r})")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    log = (tmp_path / "train.log").read_text()
    assert proc.returncode == 1, log[-3000:]
    assert "non-finite loss" in log and "last good checkpoint (epoch 1)" in log and "Traceback" not in log
    assert not (tmp_path / "train" / "generator.keras").exists()
    # The epoch-1 checkpoint is intact: rerunning (without the fault) resumes from it and finishes.
    run_training(tmp_path, tiny_shards, epochs=3)
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1, 2, 3]
    assert "resumed from" in (tmp_path / "train.log").read_text()
