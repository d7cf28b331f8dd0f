"""GPUs assigned but unusable stop training with one line; facegan doctor reports the machine and fails
when assigned GPUs are unusable."""

import os

import pytest


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    return {**env, "FACEGAN_GPU_LOCK_DIR": str(tmp_path / "locks"), **extra}


@pytest.mark.slow
def test_gpus_assigned_but_unusable_stop_training_with_one_line_and_gpus_0_trains_on_the_cpu(tiny_shards, tmp_path,
                                                                                              train_job):
    env = _env(tmp_path, CUDA_VISIBLE_DEVICES="0")  # as SLURM sets it; this TensorFlow sees no GPU
    proc = train_job(tmp_path / "a", tiny_shards, epochs=1, gpus=1, env=env, check=False)
    log = (tmp_path / "a" / "train.log").read_text()
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in log
    assert "TensorFlow sees no GPU although CUDA_VISIBLE_DEVICES=0" in errors[0] and "facegan[gpu]" in errors[0]
    assert "train.gpus: 0" in errors[0]
    train_job(tmp_path / "b", tiny_shards, epochs=1, gpus=0, env=env)
    assert "training on CPU" in (tmp_path / "b" / "train.log").read_text()


@pytest.mark.slow
def test_doctor_prints_every_section(python, tmp_path):
    proc = python(["-m", "facegan.cli", "doctor", "--steps", "1", "--width", "8"], env=_env(tmp_path), check=False,
                  timeout=300)
    out = proc.stdout
    for section in ("== facegan doctor ==", "== TensorFlow build ==", "built with CUDA", "== GPUs ==",
                    "CUDA_VISIBLE_DEVICES", "nvidia-smi", "TensorFlow sees", "== CPU ==", "oneDNN",
                    "== Precision", "CPU: ", "== Timed GAN step", "/CPU:0: "):
        assert section in out, section
    assert proc.returncode == 0 and "PROBLEM" not in out, out
    assert "images/s at batch 32" in out


@pytest.mark.parametrize("visible, status", [(None, 0), ("0", 1), ("NoDevFiles", 0), ("", 0)])
def test_doctor_fails_when_gpus_are_assigned_but_unusable(monkeypatch, visible, status):
    """The GPU section (this TensorFlow sees no GPU) under what SLURM or a user sets."""
    from facegan import doctor

    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    lines = []
    gpus, found = doctor._gpus(lines.append)
    out = "\n".join(lines)
    assert gpus == [] and found == status, out
    assert ("PROBLEM: TensorFlow sees no GPU although CUDA_VISIBLE_DEVICES=0" in out) == bool(status)
