"""Choosing devices and the distribution strategy for training.

* ``gpus: N`` with GPUs visible -> ``MirroredStrategy`` over the first N (memory growth on), or one
  GPU without mirroring. ``CUDA_VISIBLE_DEVICES`` (set by SLURM or facegan's GPU locks) decides
  which cards are visible at all.
* ``gpus: N`` but TensorFlow sees no GPU -> an error when GPUs are there (assigned through
  ``CUDA_VISIBLE_DEVICES`` or listed by ``nvidia-smi``: TensorFlow lacks its CUDA libraries), so a GPU
  allocation is never spent on the CPU; on a machine without GPUs, the CPU, said in the log.
* no GPU asked for -> the CPU. ``cpu_replicas: K > 1`` splits the CPU into K
  logical devices and mirrors over them, so the multi-replica code path runs without a GPU (the
  logical devices share one thread pool: a test path, not a speed-up).

Everything here must run before TensorFlow initialises its runtime (the first op), because logical
devices and thread pools cannot be changed afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import tensorflow as tf

from facegan.errors import FaceganError
from facegan.gpuinfo import expected_gpus

log = logging.getLogger(__name__)


@dataclass
class DeviceSetup:
    strategy: tf.distribute.Strategy
    kind: str  # "gpu" or "cpu"
    devices: list[str]
    requested_gpus: int
    notes: list[str] = field(default_factory=list)

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def describe(self) -> dict:
        return {"kind": self.kind, "devices": self.devices, "replicas": self.replicas,
                "requested_gpus": self.requested_gpus, "notes": self.notes}


def setup_devices(gpus: int = 0, cpu_replicas: int = 1, threads: int | None = None) -> DeviceSetup:
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    physical = tf.config.list_physical_devices("GPU")
    notes = []
    if gpus > 0 and physical:
        use = physical[:gpus]
        if len(use) < gpus:
            notes.append(f"train.gpus is {gpus} but only {len(use)} GPU(s) are visible: using {len(use)}")
        tf.config.set_visible_devices(use, "GPU")
        for gpu in use:
            tf.config.experimental.set_memory_growth(gpu, True)
        names = [f"/gpu:{i}" for i in range(len(use))]
        strategy = tf.distribute.MirroredStrategy(names) if len(use) > 1 else tf.distribute.OneDeviceStrategy(names[0])
        setup = DeviceSetup(strategy, "gpu", names, gpus, notes)
    else:
        if gpus > 0:
            expected = expected_gpus()
            if expected:
                raise GpuUnusableError(f"TensorFlow sees no GPU although {expected}: install facegan[gpu] "
                                       "(pip install -e '.[gpu]': TensorFlow with its CUDA libraries; facegan doctor "
                                       "says more) or set train.gpus: 0 to train on the CPU")
            log.info("train.gpus is %d, and this machine has no GPU: training on the CPU", gpus)
        if physical:
            tf.config.set_visible_devices([], "GPU")  # gpus: 0 means CPU even where GPUs exist
        cpu = tf.config.list_physical_devices("CPU")[0]
        if cpu_replicas > 1:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)
            names = [f"/cpu:{i}" for i in range(cpu_replicas)]
            # NCCL is GPU-only: reduce through one device.
            strategy = tf.distribute.MirroredStrategy(names, cross_device_ops=tf.distribute.ReductionToOneDevice())
        else:
            names = ["/cpu:0"]
            strategy = tf.distribute.get_strategy()
        setup = DeviceSetup(strategy, "cpu", names, gpus, notes)
    for note in notes:
        log.warning("%s", note)
    log.info("training on %s: %d replica(s) %s", setup.kind.upper(), setup.replicas, ", ".join(setup.devices))
    return setup


class GpuUnusableError(FaceganError):
    """GPUs were assigned to the job or are on the machine, but TensorFlow cannot use them."""


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512_BF16 or AMX); elsewhere oneDNN emulates it."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return False
    flags = set(cpuinfo.split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def gpus_have_tensor_cores() -> bool:
    """All visible GPUs have compute capability >= 7.0 (fast float16)."""
    gpus = tf.config.list_physical_devices("GPU")
    caps = [tf.config.experimental.get_device_details(g).get("compute_capability", (0, 0)) for g in gpus]
    return bool(caps) and all(tuple(c) >= (7, 0) for c in caps)


def precision_policy(mixed_precision: bool | str, *, kind: str, bf16_cpu: bool | None = None,
                     fast_fp16_gpu: bool | None = None) -> str:
    """The Keras dtype policy for ``train.mixed_precision``.

    ``true``: mixed_float16 on GPU, mixed_bfloat16 on CPU. ``false``: float32. ``"auto"`` (default):
    mixed precision only where the hardware computes it natively (measured on an AVX2 CPU without
    BF16, mixed_bfloat16 was ~30x slower than float32: BENCHMARKS.md).
    """
    if mixed_precision == "auto":
        if kind == "gpu":
            fast = gpus_have_tensor_cores() if fast_fp16_gpu is None else fast_fp16_gpu
            return "mixed_float16" if fast else "float32"
        native = cpu_has_bf16() if bf16_cpu is None else bf16_cpu
        return "mixed_bfloat16" if native else "float32"
    if not mixed_precision:
        return "float32"
    return "mixed_float16" if kind == "gpu" else "mixed_bfloat16"
