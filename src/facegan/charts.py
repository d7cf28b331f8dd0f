"""Every chart facegan draws (matplotlib, Agg), each saved atomically by :func:`save_figure`: the losses, SWD
during training, the attribute comparison, the job costs and a sweep's quality per run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from facegan.files import atomic_output


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out: str | Path) -> None:
    """Lay ``fig`` out, write it to ``out`` (format from the suffix) atomically and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        fig.savefig(tmp, format=Path(out).suffix[1:])
    plt.close(fig)


def smooth(values: list[float], window: int) -> np.ndarray:
    """A centred moving average (shorter at the ends)."""
    x = np.asarray(values, np.float64)
    if len(x) < 3 or window < 2:
        return x
    kernel = np.ones(window)
    return np.convolve(x, kernel, "same") / np.convolve(np.ones_like(x), kernel, "same")


def losses_chart(history_csv: str | Path, out: str | Path, steps_csv: str | Path | None = None) -> None:
    """The losses: per-step values (light, and smoothed) when logged, and the epoch means (dots); below them
    the mean D(x) and D(G(z)) per logged step, as the PyTorch DCGAN tutorial prints them."""
    plt = pyplot()

    with open(history_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{history_csv} has no epochs")
    steps = []
    if steps_csv and Path(steps_csv).exists():
        with open(steps_csv, newline="") as f:
            steps = list(csv.DictReader(f))
    epochs = [int(r["epoch"]) for r in rows]
    fig, axes = plt.subplots(2 if steps else 1, 1, figsize=(8, 7 if steps else 4.5), dpi=120, squeeze=False,
                             sharex=True)
    ax = axes[0, 0]
    for key, label, colour in (("d_loss", "discriminator", "C0"), ("g_loss", "generator", "C1")):
        if steps:
            x = [float(r["epoch"]) for r in steps]
            y = [float(r[f"step_{key}"]) for r in steps]
            ax.plot(x, y, color=colour, alpha=0.25, lw=0.8)
            ax.plot(x, smooth(y, max(3, len(y) // 30)), color=colour, lw=1.5, label=f"{label} (per step, smoothed)")
        ax.plot(epochs, [float(r[key]) for r in rows], "o", ms=3, color=colour, label=f"{label} (epoch mean)")
    ax.set_ylabel("loss")
    ax.set_title("Training losses")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if steps:
        ax2 = axes[1, 0]
        x = [float(r["epoch"]) for r in steps]
        for key, label, colour in (("d_x", "D(x): real", "C2"), ("d_g_z", "D(G(z)): generated", "C3")):
            y = [float(r[key]) for r in steps]
            ax2.plot(x, y, color=colour, alpha=0.25, lw=0.8)
            ax2.plot(x, smooth(y, max(3, len(y) // 30)), color=colour, lw=1.5, label=label)
        ax2.set_ylabel("mean D output")
        ax2.set_ylim(0, 1)
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=8)
    axes[-1, 0].set_xlabel("epoch")
    save_figure(fig, out)


def swd_chart(swd_csv: str | Path, out: str | Path) -> list[tuple[int, float]]:
    """SWD (x1e3, average of the levels) per measurement, on a log axis, with the real-data floor drawn as
    the line a perfect generator would sit on; returns the points drawn, (epoch, SWD)."""
    plt = pyplot()

    with open(swd_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    epochs, swd = [], []
    if rows:
        epochs = [int(r["epoch"]) for r in rows]
        swd = [float(r["SWDx1e3_avg"]) for r in rows]
        floor = [s / float(r["swd_vs_floor"]) for s, r in zip(swd, rows)]
        ax.plot(epochs, swd, marker="o", ms=4, label="generator")
        ax.axhline(floor[-1], color="grey", ls="--", label=f"real-data floor ({floor[-1]:.1f})")
        for e, s, r in zip(epochs, swd, rows):
            ax.annotate(f"{float(r['swd_vs_floor']):.1f}x", (e, s), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=8)
        ax.set_yscale("log")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "not measured during training (train.swd_every_epochs is 0)", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("epoch")
    ax.set_ylabel("SWD x1e3 (average of levels)")
    ax.set_title("Quality during training: SWD against the real reference (x = times the floor)")
    ax.grid(alpha=0.3, which="both")
    save_figure(fig, out)
    return list(zip(epochs, swd))


def attributes_chart(metrics_json: str | Path, out: str | Path) -> int:
    """One panel per attribute: each class's frequency among real and among generated faces, the total
    variation distance in the title; for a conditioned generator one more panel per conditioned attribute
    the classifier reads: the share of faces asked for each value that show it, beside what real faces with
    the value read. Returns the number of coverage panels (0 when the comparison was skipped)."""
    plt = pyplot()

    metrics = json.loads(Path(metrics_json).read_text())
    result = metrics.get("attributes", {})
    per = result.get("per_attribute", {})
    obeyed = (metrics.get("obedience") or {}).get("attributes", {})
    if not per:
        fig, ax = plt.subplots(figsize=(8, 2.5), dpi=120)
        ax.axis("off")
        ax.text(0.5, 0.5, "attribute coverage not measured:\n" + result.get("skipped", "no classifier"),
                ha="center", va="center", wrap=True, fontsize=9)
    else:
        panels = len(per) + len(obeyed)
        cols = min(3, panels)
        rows = -(-panels // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows + 0.8), dpi=110, squeeze=False)
        for ax, (name, d) in zip(list(axes.flat)[len(per):], obeyed.items()):
            values = list(d)
            ax.bar(np.arange(len(values)), [100 * d[v]["obeyed"] for v in values], 0.6, color="tab:green")
            ceiling = [(i, 100 * d[v]["real"]) for i, v in enumerate(values) if d[v].get("real") is not None]
            if ceiling:  # what real faces with the value read: a generator that obeys perfectly reads no higher
                ax.plot(*zip(*ceiling), "k_", ms=18, mew=2, label="real faces")
                ax.legend(fontsize=7, loc="lower right")
            ax.axhline(90, color="grey", lw=0.8, ls="--")
            ax.set_xticks(np.arange(len(values)), values, rotation=30, ha="right", fontsize=8)
            ax.set_ylim(0, 100)
            ax.set_ylabel("% read as asked")
            ax.set_title(f"asked for {name} ({d[values[0]]['asked']} faces each)", fontsize=10)
        for ax, (name, d) in zip(axes.flat, per.items()):
            classes = list(d["real"])
            x = np.arange(len(classes))
            ax.bar(x - 0.2, [100 * d["real"][c] for c in classes], 0.4, label="real")
            ax.bar(x + 0.2, [100 * d["generated"][c] for c in classes], 0.4, label="generated")
            ax.set_xticks(x, classes, rotation=30, ha="right", fontsize=8)
            ax.set_ylabel("% of faces")
            ax.set_title(f"{name} (distance {d['tvd']:.2f})", fontsize=10)
        for ax in list(axes.flat)[panels:]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=8)
        fig.suptitle(f"Attributes of generated vs real faces: joint coverage {result['joint_coverage']:.2f} "
                     f"({'+'.join(result['joint_attributes'])}; real vs real "
                     f"{result['real_vs_real']['joint_coverage']:.2f})", fontsize=11)
    save_figure(fig, out)
    return len(per)


def job_costs_chart(rows: list[dict], out: str | Path) -> None:
    plt = pyplot()

    names = [r["rule"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 0.35 * len(rows) + 1.6), dpi=110, sharey=True)
    a.barh(names, [r["seconds"] for r in rows], color="C0")
    a.set_xlabel("wall seconds (all jobs of the rule)")
    b.barh(names, [r["max_rss_mb"] for r in rows], color="C1")
    b.set_xlabel("peak resident memory of one job (MB)")
    a.invert_yaxis()
    total = sum(r["seconds"] for r in rows)
    fig.suptitle(f"What each rule cost ({total / 60:.1f} min of jobs in all)")
    save_figure(fig, out)


def sweep_chart(rows: list[dict], out: str | Path) -> None:
    """swd_vs_floor per run (lower is better; 1.0 is the real-data floor)."""
    plt = pyplot()

    names = [r["run"] for r in rows]
    values = [float(r["swd_vs_floor"]) for r in rows]
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(rows) + 2), 4), dpi=120)
    bars = ax.bar(names, values, color="C0")
    ax.bar_label(bars, [f"{v:.2f}x" for v in values], fontsize=8)
    ax.axhline(1.0, color="grey", ls="--", label="real-data floor")
    ax.set_ylabel("SWD / real-data floor (lower is better)")
    ax.set_title("Sweep: quality per run")
    ax.legend(fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    save_figure(fig, out)
