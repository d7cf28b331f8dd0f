"""Training options, grouped by what they change, built from the config with the schema's defaults.

* :class:`ModelOptions`, :class:`OptimizerOptions`, :class:`GanOptions`, :class:`DataOptions`: what a
  checkpoint was trained with. A checkpoint is resumed only if all four (and the data set and
  precision) agree: the fingerprint is derived from these groups, so a new option in any of them is
  fingerprinted without anyone remembering to.
* :class:`RunOptions`: how this run executes (how long, on which devices, how often it saves); none
  of it changes what a checkpoint holds.

Defaults come from one place, the config schema (:func:`facegan.config.with_defaults`); every
``train.*`` key must belong to exactly one group, or :meth:`TrainOptions.from_config` refuses it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields

from facegan.config import with_defaults

log = logging.getLogger(__name__)

ARCHITECTURES = ("dcgan", "tutorial")
RENAMED_ARCHITECTURES = {"seed": "tutorial"}  # old name -> current name
DEFAULT_LEARNING_RATE = {"dcgan": 2e-4, "tutorial": 1e-4}
UPSAMPLINGS = ("transposed", "nearest")  # how the generator doubles its resolution
D_NORMS = ("standard", "spectral", "none")  # the discriminator's normalisation ("standard": the architecture's own)


def canonical_architecture(name: str) -> str:
    """``model.architecture`` under its current name (old names are accepted with a warning)."""
    if name in RENAMED_ARCHITECTURES:
        new = RENAMED_ARCHITECTURES[name]
        log.warning("model.architecture %r is now called %r; please update your config", name, new)
        return new
    if name not in ARCHITECTURES:
        raise ValueError(f"model.architecture must be one of {ARCHITECTURES}, got {name!r}")
    return name


def attribute_weights(weights: dict | None, conditions: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """``train.attribute_weights`` as (attribute, factor) pairs in ``model.conditions``' order; one line when a
    name is not conditioned on."""
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(conditions))
    if unknown:
        raise ValueError(f"train.attribute_weights names {', '.join(unknown)}, not among model.conditions "
                         f"({', '.join(conditions) or 'none'})")
    return tuple((name, float(weights[name])) for name in conditions if name in weights)


@dataclass(frozen=True)
class ModelOptions:
    architecture: str
    latent_dim: int
    width: int
    resolution: int
    d_width: int | None = None  # the discriminator's channel multiplier; None: width
    upsample: str = "transposed"
    rgb_skips: bool = False
    d_norm: str = "standard"
    minibatch_std: int = 0
    pack: int = 1  # images the discriminator scores at once (PacGAN)
    conditions: tuple[str, ...] = ()  # the data's attribute names the generator is conditioned on
    classify_conditions: bool = False  # the discriminator also classifies them (AC-GAN's auxiliary classifier)
    conditional_batchnorm: bool = False  # they also modulate the generator's BatchNorms
    latent_batchnorm: bool = False  # the noise modulates the generator's BatchNorms
    g_refine: int = 0  # channels of the generator's last features, at full resolution (0: RGB at once)
    d_stem: int = 0  # channels of a full-resolution convolution before the discriminator's first stride-2 one


@dataclass(frozen=True)
class OptimizerOptions:
    learning_rate: float  # resolved: the architecture's default when the config says null
    d_learning_rate: float  # resolved: learning_rate when the config says null
    beta_1: float
    beta_2: float = 0.999
    lr_decay_epochs: int = 0  # the last N epochs decay both rates linearly towards 0 (0: constant)


@dataclass(frozen=True)
class GanOptions:
    """The adversarial objective and what stabilises it (all off: the canonical DCGAN step)."""

    loss: str
    label_smoothing: float
    augment: str
    ema_kimg: float
    ema_rampup: float | None
    r1_gamma: float = 0.0
    r1_every: int = 16
    class_weight: float = 1.0  # the auxiliary classifier's cross-entropy in D's and G's losses
    generator_class_weight: float | None = None  # in G's loss only; None: class_weight
    class_balance: bool = False  # each value's cross-entropy weighted inversely to its share of the data
    attribute_weights: tuple[tuple[str, float], ...] = ()  # (attribute, factor) on its cross-entropy, in both losses


@dataclass(frozen=True)
class DataOptions:
    """What fixes the sequence of batches and noise."""

    seed: int
    batch_size: int
    shuffle_buffer: int
    mirror: bool


@dataclass(frozen=True)
class RunOptions:
    epochs: int
    gpus: int
    cpu_replicas: int
    mixed_precision: bool | str
    checkpoint_every_steps: int
    swd_every_epochs: int
    steps_per_execution: int | str
    log_every_steps: int
    snapshot_every_epochs: int
    reader: str
    reader_memory_share: float
    threads: int | None = None

    def executions(self, device_kind: str) -> int:
        """Steps per execution: ``steps_per_execution``, or for ``auto`` 8 on the CPU (the tiny model's step
        costs 1.0x a bare loop there: BENCHMARKS.md) and 32 on GPUs (not measured: no GPU available)."""
        if self.steps_per_execution != "auto":
            return int(self.steps_per_execution)
        return 32 if device_kind == "gpu" else 8


FINGERPRINTED = ("model", "optimizer", "gan", "data")


@dataclass(frozen=True)
class TrainOptions:
    model: ModelOptions
    optimizer: OptimizerOptions
    gan: GanOptions
    data: DataOptions
    run: RunOptions

    def fingerprint(self, dataset_sha256: str, policy: str) -> dict:
        """What a checkpoint must agree on to be resumed: the fingerprinted groups, the data set and the
        resolved precision policy (a float16 checkpoint carries loss-scale state a float32 one lacks)."""
        out: dict = {}
        for group in FINGERPRINTED:
            out.update(asdict(getattr(self, group)))
        # keys at their defaults are left out, so checkpoints from before the keys resume
        for key in ("d_width", "rgb_skips", "latent_batchnorm", "g_refine", "d_stem", "conditions",
                    "classify_conditions", "conditional_batchnorm", "generator_class_weight", "class_balance",
                    "attribute_weights", "lr_decay_epochs"):
            if not out[key]:
                del out[key]
        for key, default in (("class_weight", 1.0), ("pack", 1)):
            if out[key] == default:
                del out[key]
        out |= {"precision_policy": policy, "dataset_sha256": dataset_sha256}
        return json.loads(json.dumps(out))  # as fingerprint.json reads back (tuples are lists there)

    def as_dict(self) -> dict:
        return {group.name: asdict(getattr(self, group.name)) for group in fields(self)}

    @classmethod
    def from_config(cls, model: dict | None = None, training: dict | None = None, *, resolution: int | None = None,
                    seed: int | None = None, threads: int | None = None) -> TrainOptions:
        """Options from the config's ``model`` and ``train`` blocks, ``preprocess.resolution`` and ``seed``;
        whatever is missing takes the schema's default."""
        partial: dict = {"model": dict(model or {}), "train": dict(training or {})}
        if resolution is not None:
            partial["preprocess"] = {"resolution": resolution}
        if seed is not None:
            partial["seed"] = seed
        cfg = with_defaults(partial)
        architecture = canonical_architecture(cfg["model"]["architecture"])
        values = {**cfg["model"], "architecture": architecture, "resolution": cfg["preprocess"]["resolution"],
                  "seed": cfg["seed"], **cfg["train"], "threads": threads}
        values["conditions"] = tuple(values["conditions"] or ())
        values["attribute_weights"] = attribute_weights(values["attribute_weights"], values["conditions"])
        if values["learning_rate"] is None:
            values["learning_rate"] = DEFAULT_LEARNING_RATE[architecture]
        if values["d_learning_rate"] is None:
            values["d_learning_rate"] = values["learning_rate"]
        groups = {"model": ModelOptions, "optimizer": OptimizerOptions, "gan": GanOptions, "data": DataOptions,
                  "run": RunOptions}
        owned = {f.name for kind in groups.values() for f in fields(kind)}
        unowned = sorted(set(values) - owned)
        if unowned:
            raise ValueError(f"no training option group holds {', '.join(unowned)}: add them to facegan.options")
        return cls(**{name: kind(**{f.name: values[f.name] for f in fields(kind)}) for name, kind in groups.items()})
