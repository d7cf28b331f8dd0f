"""Sample quality on the demo: the whole workflow per configuration and seed, measured against the real-data floor.

    python benchmarks/quality.py [--rows baseline ema ...] [--seeds 0 1 2] [--work DIR] [--no-append]
    python benchmarks/quality.py --row 'name={"train": {"epochs": 30}}' --seeds 0   # an ad-hoc row

Each (row, seed) runs ``snakemake --cores 2`` from scratch in its own folder on ``config/config.yaml``
with the row's overrides and ``seed: <seed>`` (the seed also draws the synthetic data set), exactly as
a user's run: data, training, export, evaluation. Reported per row: the median over seeds of SWD avg
(x1e3), of ``swd_vs_floor`` (SWD over the real-data floor at the same n; 1.0 is perfect), each seed's
value, the median wall time of the whole run, the precision policy and the CPU's flags; a strip of
faces from seed 0's grid goes to ``images/quality/<row>.png``. Appended to QUALITY.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from facegan.doctor import cpu_flags

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

CANONICAL = yaml.safe_load((ROOT / "config" / "canonical-dcgan.yaml").read_text())
DEFAULT_STEP = {"train": {"ema_kimg": 10, "augment": "translation,cutout", "mirror": True}}
# The ablation: each row is the demo (config/config.yaml) with the canonical DCGAN step, then these changes.
ROWS = {
    "before: 24 epochs, canonical": {"train": {"epochs": 24}},
    "canonical": {},
    "+ema": {"train": {"ema_kimg": 10}},
    "+ema +augment": {"train": {"ema_kimg": 10, "augment": "translation,cutout"}},
    "+ema +augment +mirror (default)": DEFAULT_STEP,
    "default, augment with color": {"train": {**DEFAULT_STEP["train"], "augment": "color,translation,cutout"}},
    "default, hinge loss": {"train": {**DEFAULT_STEP["train"], "loss": "hinge"}},
    "default, TTUR (G 1e-4, D 4e-4)": {"train": {**DEFAULT_STEP["train"], "learning_rate": 1e-4,
                                                 "d_learning_rate": 4e-4}},
}


def merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def run(name: str, overrides: dict, seed: int, work: Path) -> dict:
    folder = work / name / f"seed{seed}"
    metrics_path = folder / "results" / "eval" / "metrics.json"
    if not metrics_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        cfg = merge(merge(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), CANONICAL), overrides)
        cfg["seed"] = seed
        (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(folder),
                               "--configfile", str(folder / "config.yaml"), "--cores", "2"],
                              capture_output=True, text=True)
        (folder / "wall_seconds").write_text(f"{time.perf_counter() - t:.1f}\n")
        if proc.returncode:
            raise SystemExit(f"{name} seed {seed} failed:\n{proc.stderr[-3000:]}")
    metrics = json.loads(metrics_path.read_text())
    options = json.loads((folder / "results" / "train" / "training_options.json").read_text())
    attrs = metrics.get("attributes", {})
    return {"swd": metrics["swd"]["SWDx1e3_avg"], "floor": metrics["swd_floor"]["SWDx1e3_avg"],
            "x_floor": metrics["swd_vs_floor"], "wall": float((folder / "wall_seconds").read_text()),
            "policy": options["precision_policy"], "images": metrics["images"], "folder": folder,
            "coverage": attrs.get("joint_coverage", float("nan")), "max_tvd": attrs.get("max_tvd", float("nan")),
            "worst": (attrs.get("largest_differences") or ["-"])[0],
            "joint": "+".join(attrs.get("joint_attributes", []))}


def strip(grid_png: Path, out: Path, rows: int = 2) -> None:
    """The first ``rows`` rows of faces of a grid sheet (8 columns), as a small picture for the table."""
    sheet = np.asarray(Image.open(grid_png).convert("RGB"))
    cell = sheet.shape[1] // 8
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet[:rows * cell]).resize((sheet.shape[1] // 2, rows * cell // 2), Image.LANCZOS).save(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", nargs="*", default=list(ROWS))
    ap.add_argument("--row", action="append", default=[], help="name=JSON overrides (an ad-hoc row)")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--work", default=str(ROOT / "benchmarks" / "out" / "quality"))
    ap.add_argument("--title", default="Ablation on the demo")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    from _common import table

    rows = {name: ROWS[name] for name in args.rows}
    for spec in args.row:
        name, _, js = spec.partition("=")
        rows[name] = json.loads(js)
    work = Path(args.work)
    lines = []
    for name, overrides in rows.items():
        results = [run(name, overrides, seed, work) for seed in args.seeds]
        med = statistics.median
        slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
        picture = ROOT / "images" / "quality" / f"{slug}.png"
        strip(results[0]["folder"] / "results" / "export" / "grid.png", picture)
        lines.append([name, f"{med(r['swd'] for r in results):.1f}",
                      f"**{med(r['x_floor'] for r in results):.2f}**",
                      " / ".join(f"{r['x_floor']:.2f}" for r in results), f"{med(r['floor'] for r in results):.2f}",
                      f"{med(r['coverage'] for r in results):.2f}", f"{med(r['max_tvd'] for r in results):.2f}",
                      results[0]["worst"], f"{med(r['wall'] for r in results) / 60:.1f} min",
                      f"![{name}](images/quality/{slug}.png)"])
        print(name, [(round(r["x_floor"], 2), round(r["wall"])) for r in results], flush=True)
    flags = " ".join(cpu_flags()) or "no AVX2"
    body = (f"Seeds {', '.join(map(str, args.seeds))}; each cell is the median over seeds (the largest difference is "
            f"seed 0's); CPU flags: {flags}; precision {results[0]['policy']}; {results[0]['images']} real vs "
            f"{results[0]['images']} generated images (the floor: {results[0]['images']} real vs as many other real "
            f"ones). Coverage: the share of the attribute combinations ({results[0]['joint']}) holding >= 1% of the "
            f"real images that generated faces fall into; distance: the largest total variation distance between "
            f"an attribute's real and generated class frequencies (both read by the attribute classifier).\n\n")
    body += table(["row", "SWD avg x1e3", "x floor", "x floor per seed", "floor", "coverage", "distance",
                   "largest difference (seed 0)", "wall (whole run)", "seed 0's first faces"], lines)
    body += "\n\nRows: the demo (config/config.yaml) with the canonical step (config/canonical-dcgan.yaml) and: " + \
        "; ".join(f"{n}: {json.dumps(o)}" for n, o in rows.items()) + "\n"
    if args.no_append:
        print(body)
        return
    from _common import append_report

    append_report(args.title, body, ROOT / "QUALITY.md")


if __name__ == "__main__":
    main()
