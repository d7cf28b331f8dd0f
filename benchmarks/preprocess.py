"""Shard-writer throughput vs the seed notebooks' plain loop, per core and scaling over processes.

    python benchmarks/preprocess.py [--images 2000] [--repeats 3] [--no-append]

Images are CelebA-sized (178x218) JPEGs from the synthetic generator with photographic grain
added so they compress like CelebA's (~10 KB each, not the ~4 KB of flat cartoon faces). Both
approaches read the same files from a warm page cache, interleaved, median of ``--repeats``.

* plain:   ``np.asarray(Image.open(p).convert("RGB").crop(box).resize((r, r)))`` one at a time,
           the notebooks' approach (no output written).
* facegan: ``write_shard``: libjpeg-turbo decode (simplejpeg; 1/2-1/8 scaled decode when the output is
           at most a quarter of the crop), crop+antialiased resize, Example encoding,
           TFRecord framing with CRCs, written to disk.
* scaling: the shard writer over all images in one process vs two processes on halves.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, publish, table  # noqa: E402

from facegan.index import Entry  # noqa: E402
from facegan.preprocess import PreprocessOptions, crop_box, write_shard  # noqa: E402
from facegan.synthetic import face_jpeg  # noqa: E402

CROP = 140


def make_images(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        img = np.asarray(Image.open(io.BytesIO(face_jpeg(0, i)[0])), dtype=np.int16)
        img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        path = folder / f"{i + 1:06d}.jpg"
        Image.fromarray(img).save(path, quality=90)
        paths.append(path)
    return paths


def plain(paths: list[Path], res: int) -> float:
    t = time.perf_counter()
    out = []
    for p in paths:
        img = Image.open(p).convert("RGB")
        out.append(np.asarray(img.crop(tuple(int(v) for v in crop_box(*img.size, CROP))).resize((res, res))))
    return len(paths) / (time.perf_counter() - t)


def shard_writer(paths: list[Path], res: int, out: Path) -> float:
    entries = [Entry(str(p), "all", 0) for p in paths]
    t = time.perf_counter()
    write_shard(entries, 0, out, opts=PreprocessOptions(resolution=res, crop=CROP))
    return len(paths) / (time.perf_counter() - t)


def _half(args):
    paths, res, out = args
    return shard_writer(paths, res, Path(out))


def two_processes(paths: list[Path], res: int, folder: Path) -> float:
    halves = [(paths[: len(paths) // 2], res, str(folder / "a.tfrecord")),
              (paths[len(paths) // 2:], res, str(folder / "b.tfrecord"))]
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_half, [(h[0][:20], res, h[2]) for h in halves]))  # start workers, import modules
        t = time.perf_counter()
        list(pool.map(_half, halves))
        return len(paths) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-append", action="store_true", help="print only; do not append to BENCHMARKS.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = make_images(folder, args.images)
        kb = np.mean([p.stat().st_size for p in paths]) / 1024
        for p in paths:  # warm the page cache
            p.read_bytes()
        rows = []
        for res in (64, 128):
            runs = {"plain": [], "facegan": [], "facegan x2": []}
            for _ in range(args.repeats):
                runs["plain"].append(plain(paths, res))
                runs["facegan"].append(shard_writer(paths, res, folder / "one.tfrecord"))
                runs["facegan x2"].append(two_processes(paths, res, folder))
            p, f, f2 = (median(runs[k]) for k in ("plain", "facegan", "facegan x2"))
            rows.append([res, f"{p:,.0f}", f"{f:,.0f}", f"{f / p:.2f}x", f"{f2:,.0f}", f"{f2 / f:.2f}x"])
    body = (f"{args.images} CelebA-sized 178x218 JPEGs (mean {kb:.1f} KB), centred {CROP}px crop, median of "
            f"{args.repeats} interleaved repeats. Images/s; 'per core' columns use one process.\n\n")
    body += table(["resolution", "plain PIL loop /core", "facegan shard writer /core", "speed-up",
                   "shard writer, 2 processes", "scaling 2 vs 1"], rows)
    publish("Preprocessing: shard writer vs plain PIL loop", body, args.no_append)


if __name__ == "__main__":
    main()
