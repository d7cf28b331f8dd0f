"""The export stage's steps: pictures from the trained generator, one rule each, all on the CPU."""

from __future__ import annotations

from facegan.steps.runner import hide_gpus, step


@step
def sample(*, generator: str, samples: str, n: int, seed: int) -> None:
    """``n`` faces as ``samples/sample_00000.png`` ..."""
    hide_gpus()
    from facegan.generation import load_generator
    from facegan.pictures import write_samples

    write_samples(load_generator(generator), samples, n=n, seed=seed)


@step
def grid(*, generator: str, png: str, rows: int, cols: int, seed: int) -> None:
    """One contact sheet of ``rows`` x ``cols`` faces."""
    hide_gpus()
    from facegan.generation import load_generator
    from facegan.pictures import write_grid

    write_grid(load_generator(generator), png, rows=rows, cols=cols, seed=seed)


@step
def conditions_sheet(*, generator: str, png: str, cols: int, seed: int) -> None:
    """A conditioned generator's conditions.png: one row per value of each attribute, the same noise down
    each column."""
    hide_gpus()
    from facegan.generation import load_generator
    from facegan.pictures import condition_sheet

    condition_sheet(load_generator(generator), png, cols=cols, seed=seed)


@step
def progress_gif(*, progress: str, gif: str, mp4: str, png: str, fps: float) -> None:
    """The per-epoch grids as a small animated GIF and an MP4 video, and the last of them as PNG."""
    from facegan.pictures import progress_animation

    progress_animation(progress, out_gif=gif, out_mp4=mp4, out_png=png, fps=fps)


@step
def plot_losses(*, history: str, png: str, steps: str | None = None) -> None:
    """The discriminator's and generator's losses: per step (smoothed) and per epoch."""
    from facegan.charts import losses_chart

    losses_chart(history, png, steps)


@step
def plot_swd(*, swd: str, png: str) -> None:
    """The SWD measured during training against the real-data floor."""
    from facegan.charts import swd_chart

    swd_chart(swd, png)


@step
def plot_attributes(*, metrics: str, png: str) -> None:
    """Real against generated frequency of each attribute's classes (from metrics.json)."""
    from facegan.charts import attributes_chart

    attributes_chart(metrics, png)


@step
def interpolate(*, generator: str, png: str, gif: str, steps: int, rows: int, seed: int) -> None:
    """Rows of faces morphing between random latent points (sheet and GIF)."""
    hide_gpus()
    from facegan.generation import load_generator
    from facegan.pictures import interpolation

    interpolation(load_generator(generator), out_png=png, out_gif=gif, steps=steps, rows=rows, seed=seed)


@step
def compare(*, generator: str, shards: list[str], png: str, n: int, resolution: int, seed: int) -> None:
    """``n`` real faces from the shards beside ``n`` generated ones."""
    hide_gpus()
    from facegan.generation import load_generator
    from facegan.pictures import real_vs_fake

    real_vs_fake(load_generator(generator), shard_files=list(shards), resolution=resolution, out=png, n=n, seed=seed)


@step
def job_costs(*, benchmarks: list[str], tsv: str, png: str) -> None:
    """Each rule's jobs' time and memory (Snakemake's benchmark files), as a table and a chart."""
    from facegan.jobcosts import summarize

    summarize(list(benchmarks), tsv, png)


@step
def export_model(*, generator: str, savedmodel: str, onnx: str, serving: str, seed: int) -> None:
    """The generator as a SavedModel and as ONNX for serving stacks, each checked against the Keras model."""
    hide_gpus()
    from facegan.files import write_json
    from facegan.serving import export_generator

    write_json(serving, export_generator(generator, savedmodel_dir=savedmodel, onnx_path=onnx, seed=seed))
