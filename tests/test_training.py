"""Training: outputs, resume after a kill, raising epochs, determinism, stale checkpoints, NaN stop, precisions.

Each run trains a tiny DCGAN (width 8, 32x32, 96 images, 6 steps per epoch) in a fresh process.
"""

import csv
import json

import numpy as np
import pytest
from conftest import kill_when

pytestmark = pytest.mark.slow


def _history(workdir):
    with open(workdir / "train" / "history.csv") as f:
        return list(csv.DictReader(f))


def _same_weights(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def straight_run(tiny_shards, tmp_path_factory, train_job):
    """An uninterrupted 3-epoch run: the reference the resumed runs must reproduce exactly."""
    work = tmp_path_factory.mktemp("straight")
    train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=4)
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
    assert opts["train_options"]["optimizer"]["learning_rate"] == 2e-4  # dcgan's default, resolved
    assert opts["precision_policy"] == "float32"
    assert opts["outputs"]["generator"] == str(out / "generator.keras")
    assert any((straight_run / "train_state" / "tensorboard").rglob("events.out.tfevents.*"))


def test_h5_generator_loads_with_keras_and_generates(straight_run, weights_of):
    import keras

    g = keras.models.load_model(straight_run / "train" / "generator.h5")
    images = np.asarray(g(np.random.default_rng(0).normal(size=(4, 16)).astype("float32"), training=False))
    assert images.shape == (4, 32, 32, 3) and np.all(np.abs(images) <= 1)
    assert _same_weights(g.get_weights(), weights_of(straight_run / "train" / "generator.keras"))


def test_exported_models_load_without_facegan(straight_run, python):
    """Training uses facegan's fused BatchNormalization; the exports use Keras's own layers."""
    code = ("import sys, keras\n"
            "for name in sys.argv[1:]:\n"
            "    m = keras.models.load_model(name)\n"
            "    kinds = {type(layer).__name__ for layer in m.layers}\n"
            "    assert 'BatchNormalization' in kinds and 'FusedBatchNormalization' not in kinds, kinds\n"
            "assert not any(mod.startswith('facegan') for mod in sys.modules)\n"
            "print('ok')\n")
    out = straight_run / "train"
    proc = python(["-c", code, out / "generator.keras", out / "generator.h5", out / "discriminator.keras"])
    assert proc.stdout.strip() == "ok"


def test_two_seeded_runs_are_identical(straight_run, tiny_shards, tmp_path, train_job, weights_of):
    train_job(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=4)
    assert _same_weights(weights_of(tmp_path / "train" / "generator.keras"),
                         weights_of(straight_run / "train" / "generator.keras"))


def test_raising_epochs_continues_and_matches_an_uninterrupted_run(straight_run, tiny_shards, tmp_path, train_job,
                                                                   weights_of):
    train_job(tmp_path, tiny_shards, epochs=2, checkpoint_every_steps=4)
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1, 2]
    train_job(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=4)
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1, 2, 3]
    log = (tmp_path / "train.log").read_text()
    assert "resumed from" in log and "epochs 3..3" in log
    assert _same_weights(weights_of(tmp_path / "train" / "generator.keras"),
                         weights_of(straight_run / "train" / "generator.keras"))


@pytest.mark.parametrize("executions", [1, 2])
def test_killed_job_resumes_from_its_last_checkpoint(straight_run, tiny_shards, tmp_path, train_job, weights_of,
                                                     executions):
    """SIGKILL mid-training (after the step-4 checkpoint of epoch 2), then run again; with 1 or 2 steps per
    execution (the checkpoints are taken between executions)."""
    proc = train_job(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=4, sleep_per_step=0.3, wait=False,
                     steps_per_execution=executions)
    # The mid-epoch checkpoint of epoch 2 (step 6 + 4 = 10), then a kill without warning.
    kill_when(proc, tmp_path / "train_state" / "checkpoints" / "ckpt-10.index")
    assert not (tmp_path / "train" / "generator.keras").exists()

    train_job(tmp_path, tiny_shards, epochs=3, checkpoint_every_steps=4)
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1, 2, 3]
    assert "resumed from" in (tmp_path / "train.log").read_text()
    assert _same_weights(weights_of(tmp_path / "train" / "generator.keras"),
                         weights_of(straight_run / "train" / "generator.keras"))


def test_checkpoint_from_other_settings_is_set_aside_not_reused(tiny_shards, tmp_path, train_job):
    train_job(tmp_path, tiny_shards, epochs=1)
    train_job(tmp_path, tiny_shards, epochs=1, model={"width": 4})
    log = (tmp_path / "train.log").read_text()
    assert "NOT reused" in log and "width" in log and "resumed from" not in log
    assert len(list(tmp_path.glob("train_state.stale-*"))) == 1
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1]


def test_lowering_epochs_below_the_checkpoint_is_a_clear_error(tiny_shards, tmp_path, train_job):
    train_job(tmp_path, tiny_shards, epochs=2)
    proc = train_job(tmp_path, tiny_shards, epochs=1, check=False)
    assert proc.returncode == 1
    assert "is at epoch 2 but train.epochs is 1" in (tmp_path / "train.log").read_text()


@pytest.mark.parametrize("executions", [1, 4])
def test_non_finite_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tiny_shards, tmp_path,
                                                                                     train_job, executions):
    """Fault injection: after epoch 1 (checkpointed) a discriminator weight becomes NaN. The step records the
    first bad step itself; the host reads it after each execution of 1 or 4 steps."""
    proc = train_job(tmp_path, tiny_shards, epochs=3, poison_after_epoch=0, check=False,
                     steps_per_execution=executions)
    log = (tmp_path / "train.log").read_text()
    assert proc.returncode == 1, log[-3000:]
    assert "non-finite loss" in log and "in epoch 2, step 1." in log
    assert "last good checkpoint (epoch 1)" in log and "Traceback" not in log
    assert not (tmp_path / "train" / "generator.keras").exists()
    # The epoch-1 checkpoint is intact: rerunning (without the fault) resumes from it and finishes.
    train_job(tmp_path, tiny_shards, epochs=3)
    assert [int(r["epoch"]) for r in _history(tmp_path)] == [1, 2, 3]
    assert "resumed from" in (tmp_path / "train.log").read_text()


@pytest.mark.parametrize("setting", [False, True, "auto"])
def test_each_precision_setting_trains_with_the_policy_it_names(setting, tiny_shards, tmp_path, train_job):
    from facegan.devices import cpu_has_bf16

    expected = {False: "float32", True: "mixed_bfloat16",
                "auto": "mixed_bfloat16" if cpu_has_bf16() else "float32"}[setting]
    train_job(tmp_path, tiny_shards, epochs=1, mixed_precision=setting)
    opts = json.loads((tmp_path / "train" / "training_options.json").read_text())
    assert opts["precision_policy"] == expected
    assert f"{expected}, stream reader" in (tmp_path / "train.log").read_text()
    assert all(np.isfinite(float(r["g_loss"])) for r in _history(tmp_path))
    import keras

    g = keras.models.load_model(tmp_path / "train" / "generator.keras")
    assert {w.dtype for w in g.weights} == {"float32"}  # exported in float32 whatever trained it


QUALITY_KEYS = {"ema_kimg": 0.2, "augment": "color,translation,cutout", "mirror": True, "loss": "hinge",
                "d_learning_rate": 4e-4, "lr_decay_epochs": 2}
QUALITY_MODEL = {"upsample": "nearest", "rgb_skips": True, "latent_batchnorm": True, "pack": 2}


def test_kill_and_resume_is_bit_exact_with_ema_augmentation_mirror_and_the_model_options(tiny_shards, tmp_path,
                                                                                         train_job, weights_of,
                                                                                         python):
    """The EMA generator (exported), the discriminator, the flips and the decaying learning rates (the kill
    falls inside the decay) all resume exactly after a SIGKILL, with
    the fused nearest upsampling, the RGB skips, the noise's BatchNorm modulation and a packing discriminator;
    the exported models hold Keras's own layers."""
    train_job(tmp_path / "straight", tiny_shards, epochs=3, checkpoint_every_steps=4, model=QUALITY_MODEL,
              **QUALITY_KEYS)
    work = tmp_path / "killed"
    proc = train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=4, sleep_per_step=0.3, wait=False,
                     model=QUALITY_MODEL, **QUALITY_KEYS)
    kill_when(proc, work / "train_state" / "checkpoints" / "ckpt-10.index")
    train_job(work, tiny_shards, epochs=3, checkpoint_every_steps=4, model=QUALITY_MODEL, **QUALITY_KEYS)
    assert "resumed from" in (work / "train.log").read_text()
    for name in ("generator.keras", "discriminator.keras"):
        assert _same_weights(weights_of(work / "train" / name), weights_of(tmp_path / "straight" / "train" / name))
    # The exported generator is the EMA one: not the raw generator's weights in the checkpoint.
    opts = json.loads((work / "train" / "training_options.json").read_text())
    assert opts["train_options"]["gan"]["ema_kimg"] == 0.2 and opts["train_options"]["data"]["mirror"] is True
    code = ("import sys, keras\n"
            "g, d = (keras.models.load_model(name) for name in sys.argv[1:])\n"
            "kinds = {type(layer).__name__ for layer in g.layers}\n"
            "assert 'UpSampling2D' in kinds and 'NearestUpsampleConv' not in kinds, kinds\n"
            "assert d.input_shape == (None, 32, 32, 6), d.input_shape\n"
            "assert not any(mod.startswith('facegan') for mod in sys.modules)\n"
            "print('ok')\n")
    out = work / "train"
    assert python(["-c", code, out / "generator.keras", out / "discriminator.keras"]).stdout.strip() == "ok"


def test_a_batch_that_packs_unevenly_is_one_line(tiny_shards, tmp_path, train_job):
    job = train_job(tmp_path, tiny_shards, epochs=1, batch_size=15, model={"pack": 2}, check=False)
    assert job.returncode != 0
    log = job.stderr + (tmp_path / "train.log").read_text()
    assert "each replica's batch (15) is not a multiple of model.pack 2" in log
    assert "Traceback" not in job.stderr


def test_steps_are_logged_every_n_steps_with_d_of_x_and_snapshots_are_kept(tiny_shards, tmp_path, train_job, python):
    train_job(tmp_path, tiny_shards, epochs=2, steps_per_execution=2, log_every_steps=4, snapshot_every_epochs=1)
    with open(tmp_path / "train" / "steps.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [4, 8, 12]
    assert all(0 <= float(r["d_x"]) <= 1 and 0 <= float(r["d_g_z"]) <= 1 for r in rows)
    assert list((tmp_path / "train_state" / "tensorboard" / "steps").glob("events.out.tfevents.*"))
    snapshots = sorted(p.name for p in (tmp_path / "train" / "snapshots").iterdir())
    assert snapshots == ["generator-epoch0001.keras", "generator-epoch0002.keras"]
    python(["-m", "facegan.cli", "generate", "--model", tmp_path / "train" / "snapshots" / snapshots[0], "-n", "2",
            "--out", tmp_path / "faces"], timeout=300)
    assert len(list((tmp_path / "faces").glob("*.png"))) == 2
