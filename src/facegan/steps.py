"""One function per workflow step: what each ``workflow/scripts/*.py`` adapter calls.

Each step sets up logging to the rule's log file and turns a :class:`FaceganError` (bad input or
configuration) into one clear ERROR line and exit status 1, instead of a traceback. Steps take
plain paths and values, so they run the same with or without Snakemake.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path

from facegan.errors import FaceganError
from facegan.logs import setup_logging

log = logging.getLogger("facegan.steps")


def step(func):
    """Wrap a step: ``log_file`` keyword sets up logging; user errors exit 1 with their message."""

    @functools.wraps(func)
    def wrapper(*args, log_file=None, **kwargs):
        setup_logging(log_file)
        try:
            return func(*args, **kwargs)
        except FaceganError as exc:
            log.error("%s", exc)
            sys.exit(1)

    return wrapper


@step
def download(out_dir: str, source: str, path: str = "", kaggle_slug: str = "", synthetic_count: int = 0,
             seed: int = 0) -> None:
    from facegan.sources import fetch

    fetch(source, out_dir, path=path, kaggle_slug=kaggle_slug, synthetic_count=synthetic_count, seed=seed)


@step
def index(root: str, index_path: str, counts_path: str, split: str, limit: int, shards: int) -> None:
    from facegan.index import build_index, write_index

    entries, counts = build_index(root, split=split, limit=limit, shards=shards)
    write_index(entries, index_path)
    Path(counts_path).write_text(json.dumps(counts, indent=2) + "\n")


@step
def shard(index_path: str, shard: int, out_path: str, report_path: str, resolution: int, crop: int,
          min_side: int) -> None:
    from facegan.index import read_index
    from facegan.preprocess import PreprocessOptions, write_shard

    entries = read_index(index_path, shard=shard)
    write_shard(entries, shard, out_path, PreprocessOptions(resolution, crop, min_side), report_path)


@step
def data_stats(counts_path: str, report_paths: list[str], manifest_path: str, stats_path: str,
               settings: dict) -> None:
    from facegan.datastats import collect

    counts = json.loads(Path(counts_path).read_text())
    reports = [json.loads(Path(p).read_text()) for p in report_paths]
    collect(counts, reports, settings, manifest_path, stats_path)


@step
def train(shard_files: list[str], stats_path: str, out_dir: str, state_dir: str, options: dict,
          resolved_config: dict | None = None, gpus_granted: int | None = None) -> None:
    """``gpus_granted``: the job's ``gpu`` resource as Snakemake granted it (it silently cuts a request
    above ``--resources gpu=N`` down to N)."""
    from facegan.gpulock import assign_gpus

    requested = int(options.get("gpus", 0))
    if gpus_granted is not None and int(gpus_granted) < requested:
        log.warning("train.gpus is %d but Snakemake granted this job %d GPU(s) (--resources gpu caps every job): "
                    "training with %d", requested, gpus_granted, gpus_granted)
        options = {**options, "gpus": int(gpus_granted)}
    lease = assign_gpus(int(options.get("gpus", 0)))  # held until training ends
    from facegan.training import TrainOptions, train as run_training

    try:
        run_training(list(shard_files), stats_path, TrainOptions(**options), out_dir=out_dir, state_dir=state_dir,
                     resolved_config=resolved_config)
    finally:
        if lease:
            lease.release()


def _cpu_only() -> None:
    """Export and evaluation never take a GPU from training: hide them before TensorFlow starts."""
    import os

    os.environ["CUDA_VISIBLE_DEVICES"] = ""


@step
def export(kind: str, generator: str = "", outputs: dict | None = None, **params) -> None:
    """One export picture: ``kind`` is the rule name (sample, grid, progress_gif, plot_losses, interpolate, compare)."""
    _cpu_only()
    from facegan import export as ex

    out = outputs or {}
    if kind == "plot_losses":
        ex.plot_losses(params["history"], out["png"])
    elif kind == "progress_gif":
        ex.progress_gif(params["progress_dir"], out["gif"], out["png"], params["fps"])
    else:
        g = ex.load_generator(generator)
        if kind == "sample":
            ex.write_samples(g, out["dir"], params["n"], params["seed"])
        elif kind == "grid":
            ex.write_grid(g, out["png"], params["rows"], params["cols"], params["seed"])
        elif kind == "interpolate":
            ex.interpolation(g, out["png"], out["gif"], params["steps"], params["rows"], params["seed"])
        elif kind == "compare":
            ex.real_vs_fake(g, params["shards"], params["resolution"], out["png"], params["n"], params["seed"])
        else:
            raise ValueError(f"unknown export kind {kind!r}")


@step
def real_stats(shard_files: list[str], stats_path: str, out_npz: str, resolution: int, images: int, seed: int,
               inception_weights: str = "") -> None:
    _cpu_only()
    from facegan.evaluation import compute_real_stats

    compute_real_stats(list(shard_files), stats_path, resolution, images, seed, out_npz, inception_weights)


@step
def evaluate(generator: str, training_options: str, real_stats_path: str, out_json: str, images: int, seed: int,
             inception_weights: str = "") -> None:
    _cpu_only()
    from facegan.evaluation import evaluate as run

    run(generator, training_options, real_stats_path, images, seed, out_json, inception_weights)
