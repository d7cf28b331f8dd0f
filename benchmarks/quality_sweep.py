"""A quality ablation from one finished sweep: medians over seeds, and SWD against minutes of training.

    python benchmarks/quality_sweep.py WORKDIR... [--title T] [--figure images/quality/quality_vs_time.png]
        [--rows default nearest ...] [--rate ROW=IMAGES_PER_S ...] [--at ROW=EPOCH ...] [--no-append]

WORKDIR is a folder where ``snakemake sweep`` ran with runs named ``<row>_s<seed>`` (the same row with
several seeds). Per row: the median over seeds of the final SWD over the real-data floor
(``results/sweep/<run>/metrics.json``), each seed's value, the attribute coverage and largest attribute
distance (medians), the largest difference of the first seed in words, and the median training
minutes. The figure plots the SWD probes taken during training (``train_state/swd.csv``) against the
training minutes at that epoch (``history.csv``'s seconds, summed): the median over seeds per row.
Compare rows of one sweep only: its runs shared one machine under the same load. Appended to QUALITY.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _common import machine, table  # noqa: E402

from facegan.doctor import cpu_flags  # noqa: E402


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def runs_by_row(sweeps: list[Path]) -> dict[str, dict[int, Path]]:
    out: dict[str, dict[int, Path]] = {}
    for sweep in sweeps:
        for run in sorted(p for p in sweep.iterdir() if p.is_dir()):
            m = re.fullmatch(r"(.+)_s(\d+)", run.name)
            if m and (run / "metrics.json").exists():
                out.setdefault(m.group(1), {})[int(m.group(2))] = run
    return dict(sorted(out.items()))


AT_EPOCH: dict[str, int] = {}  # row -> the epoch whose SWD probe is reported (runs that trained past it)


def ratio(name: str, run: Path, metrics: dict) -> float:
    """SWD over the floor: the final evaluation's, or the probe's at the row's --at epoch (the same measurement)."""
    epoch = AT_EPOCH.get(name)
    if epoch:
        for r in _rows(run / "train_state" / "swd.csv"):
            if int(r["epoch"]) == epoch:
                return float(r["swd_vs_floor"])
    return metrics["swd_vs_floor"]


RATES: dict[str, float] = {}  # row -> images/s measured alone on the machine (--rate); else the run's own times


def curve(run: Path, rate: float | None = None) -> list[tuple[float, float]]:
    """(training minutes at the probe's epoch, SWD x floor) for each probe taken during training: images seen
    over ``rate`` when given, else the run's own summed epoch times."""
    seconds, total = {}, 0.0
    for r in _rows(run / "train_state" / "history.csv"):
        total += float(r["seconds"])
        seconds[int(r["epoch"])] = total
    probes = _rows(run / "train_state" / "swd.csv")
    if rate:
        return [(int(r["images_seen"]) / rate / 60, float(r["swd_vs_floor"])) for r in probes]
    return [(seconds[int(r["epoch"])] / 60, float(r["swd_vs_floor"])) for r in probes if int(r["epoch"]) in seconds]


def row_summary(name: str, seeds: dict[int, Path]) -> list:
    metrics = {s: json.loads((p / "metrics.json").read_text()) for s, p in sorted(seeds.items())}
    ratios = [ratio(name, seeds[s], m) for s, m in metrics.items()]
    attrs = [m.get("attributes") or {} for m in metrics.values()]
    coverage = [a["joint_coverage"] for a in attrs if "joint_coverage" in a]
    distance = [a["max_tvd"] for a in attrs if "max_tvd" in a]
    minutes = [curve(p, RATES.get(name))[-1][0] if curve(p) else float("nan") for p in seeds.values()]
    first = attrs[0].get("largest_differences", ["-"])[0] if attrs else "-"
    med = statistics.median
    return [name, len(ratios), f"**{med(ratios):.2f}**", " / ".join(f"{r:.2f}" for r in ratios),
            f"{med(coverage):.2f}" if coverage else "-", f"{med(distance):.2f}" if distance else "-", first,
            f"{med(minutes):.1f}"]


def median_curve(seeds: dict[int, Path], rate: float | None = None) -> tuple[list[float], list[float]]:
    curves = [curve(p, rate) for p in seeds.values()]
    n = min(len(c) for c in curves)
    return ([statistics.median(c[i][0] for c in curves) for i in range(n)],
            [statistics.median(c[i][1] for c in curves) for i in range(n)])


def figure(rows: dict[str, dict[int, Path]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, seeds in rows.items():
        x, y = median_curve(seeds, RATES.get(name))
        ax.plot(x, y, marker="o", label=f"{name} ({len(seeds)} seeds)")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("training minutes on 2 cores (images seen / the row's images/s measured alone)" if RATES
                  else "training minutes (this sweep's jobs: 1 thread each, two at a time on 2 cores)")
    ax.set_ylabel("SWD / real-data floor (median over seeds)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdirs", type=Path, nargs="+", help="folders where snakemake sweep ran")
    ap.add_argument("--title", default="Quality ablation (sweep)")
    ap.add_argument("--figure", type=Path, default=None)
    ap.add_argument("--rows", nargs="*", default=None, help="rows to report, in this order (default: all)")
    ap.add_argument("--rate", action="append", default=[], metavar="ROW=IMAGES_PER_S",
                    help="the row's training images/s measured alone: the minutes become images seen / rate")
    ap.add_argument("--at", action="append", default=[], metavar="ROW=EPOCH",
                    help="report the row's SWD probe at this epoch (its runs trained at least that long)")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    RATES.update({k: float(v) for k, v in (r.split("=", 1) for r in args.rate)})
    AT_EPOCH.update({k: int(v) for k, v in (a.split("=", 1) for a in args.at)})
    found = runs_by_row([w / "results" / "sweep" for w in args.workdirs])
    rows = {r: found[r] for r in (args.rows or sorted(found)) if r in found}
    body = (f"CPU flags: {' '.join(cpu_flags()) or '?'}\n\n"
            + table(["row", "seeds", "x floor (median)", "x floor per seed", "coverage", "distance",
                     "largest difference (first seed)", "training min"],
                    [row_summary(name, seeds) for name, seeds in rows.items()]))
    if args.figure:
        figure(rows, ROOT / args.figure, args.title)
        body += f"\n\n![SWD against training minutes]({args.figure})"
    text = f"\n## {args.title}\n\nMachine: {machine()}\n\n{body}\n"
    print(text)
    if not args.no_append:
        with open(ROOT / "QUALITY.md", "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
