"""``facegan doctor``: what this machine offers facegan, for bug reports and before a GPU job.

Sections: versions; TensorFlow's build (the CUDA and cuDNN it was built for); the GPUs TensorFlow sees
(compute capability, memory) beside ``CUDA_VISIBLE_DEVICES`` and ``nvidia-smi``; the CPU (oneDNN,
AVX2/AVX-512, BF16/AMX); the precision ``train.mixed_precision: auto`` picks on each device kind; and a
short timed GAN step (the default training step, canonical 64x64 DCGAN) on each usable device kind.
Exit status 1 when GPUs are there but TensorFlow cannot use them.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_flags() -> list[str]:
    try:
        line = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags"))
    except (OSError, StopIteration):
        return []
    present = set(line.split(":", 1)[1].split())
    return [f for f in CPU_FLAGS if f in present]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed_step(device: str, *, batch: int, steps: int, width: int = 64) -> float:
    """images/s of the default training step (64x64 DCGAN of ``width``) on ``device``, median of ``steps``."""
    import keras
    import numpy as np
    import tensorflow as tf

    from facegan.devices import DeviceSetup, precision_policy
    from facegan.options import TrainOptions
    from facegan.runtime import dtype_policy
    from facegan.training import build_gan

    kind = "gpu" if "GPU" in device.upper() else "cpu"
    opts = TrainOptions.from_config({"width": width}, {"batch_size": batch}, resolution=64)
    policy = precision_policy("auto", kind=kind)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            float(logs["d_loss"])  # wait for the step
            times.append(time.perf_counter() - self.t)

    with dtype_policy(policy), tf.device(device):
        keras.utils.set_random_seed(0)
        setup = DeviceSetup(tf.distribute.get_strategy(), kind, [device], 0)
        gan = build_gan(opts, setup, policy=policy)
        x = tf.random.stateless_uniform([batch, 64, 64, 3], seed=[1, 2], minval=-1.0, maxval=1.0)
        data = tf.data.Dataset.from_tensors(x).repeat()
        gan.fit(data, epochs=1, steps_per_epoch=1 + steps, verbose=0, shuffle=False, callbacks=[Clock()])  # 1st traces
    return batch / float(np.median(times[1:]))


def _versions(out) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    import facegan

    out("== facegan doctor ==")
    out(f"facegan {facegan.__version__}, Python {platform.python_version()}, {platform.platform()}")
    out(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}")
    build = tf.sysconfig.get_build_info()
    out("\n== TensorFlow build ==")
    out(f"built with CUDA: {tf.test.is_built_with_cuda()}; CUDA {build.get('cuda_version', '-')}, "
        f"cuDNN {build.get('cudnn_version', '-')}")


def _gpus(out) -> tuple[list, int]:
    """The GPU section; returns TensorFlow's GPUs and the status (1 if GPUs are expected but not seen)."""
    import tensorflow as tf

    from facegan.gpuinfo import expected_gpus, nvidia_smi, nvidia_smi_gpus, visible_devices

    out("\n== GPUs ==")
    visible = visible_devices()
    out(f"CUDA_VISIBLE_DEVICES: {'(not set)' if visible is None else os.environ.get('CUDA_VISIBLE_DEVICES')!r}")
    listed = nvidia_smi_gpus()
    out(f"nvidia-smi: {len(listed)} GPU(s)" if listed else "nvidia-smi: no GPUs (tool or driver not found)")
    for line in listed:
        out(f"  {line}")
    if listed:
        memory = nvidia_smi("--query-gpu=index,name,memory.total,memory.used", "--format=csv,noheader").strip()
        out("  memory (index, name, total, used): " + "; ".join(memory.splitlines()))
    gpus = tf.config.list_physical_devices("GPU")
    out(f"TensorFlow sees {len(gpus)} GPU(s)")
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        out(f"  {gpu.name}: {details.get('device_name', '?')}, compute capability "
            f"{'.'.join(map(str, details.get('compute_capability', ('?',))))}")
    why = expected_gpus()
    if why and not gpus:
        out(f"PROBLEM: TensorFlow sees no GPU although {why}. Install facegan[gpu] (pip install -e '.[gpu]', "
            "TensorFlow with its CUDA libraries) on this machine, or train with train.gpus: 0.")
        return gpus, 1
    return gpus, 0


def _cpu_and_precision(out, gpus) -> None:
    from facegan.devices import precision_policy

    out("\n== CPU ==")
    flags = " ".join(cpu_flags()) or "none of " + ", ".join(CPU_FLAGS)
    out(f"{cpu_model()}, {os.cpu_count()} logical cores; flags: {flags}")
    out(f"oneDNN: TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(not set: on by default)')}")
    out("\n== Precision (train.mixed_precision: auto) ==")
    out(f"CPU: {precision_policy('auto', kind='cpu')}")
    if gpus:
        out(f"GPU: {precision_policy('auto', kind='gpu')}")


def _timed_steps(out, gpus, steps: int, batch: int | None, width: int) -> int:
    out("\n== Timed GAN step (default training step, 64x64 DCGAN width %d) ==" % width)
    status = 0
    for device in ["/CPU:0"] + (["/GPU:0"] if gpus else []):
        b = batch or (128 if "GPU" in device else 32)
        try:
            rate = timed_step(device, batch=b, steps=steps if "CPU" in device else max(steps, 20), width=width)
            out(f"{device}: {rate:,.1f} images/s at batch {b}")
        except Exception as exc:  # noqa: BLE001 - a broken device is what the doctor reports
            status = 1
            out(f"{device}: FAILED ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
    return status


def report(*, steps: int = 3, batch: int | None = None, width: int = 64, out=print) -> int:
    """Print every section; returns the exit status."""
    from facegan.runtime import configure_tensorflow

    configure_tensorflow()
    _versions(out)
    gpus, status = _gpus(out)
    _cpu_and_precision(out, gpus)
    status = max(status, _timed_steps(out, gpus, steps, batch, width))
    out(f"\n{'OK' if status == 0 else 'PROBLEMS FOUND (above)'}; paste this output into bug reports.")
    return status
