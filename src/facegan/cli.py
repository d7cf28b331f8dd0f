"""``facegan`` on the command line: make faces from a saved generator without Snakemake.

    facegan generate --model results/train/generator.keras -n 16 --out faces/ --seed 0
    facegan grid --model results/train/generator.h5 --rows 4 --cols 8 --out grid.png
    facegan generate --model M --condition glasses=yes --condition hair_colour=red -n 16 --out faces/
    facegan generate --model M --list-conditions   # what a conditioned generator can be asked for
    facegan interpolate --model results/train/generator.keras --out morph.png --steps 10 --rows 4
    facegan export-model --model results/train/generator.keras --out serving/
    facegan doctor      # TensorFlow, GPUs, CPU, precision and a timed step: paste it into bug reports

Models saved as ``.keras`` or ``.h5`` (the seed notebooks' format) both load.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from facegan.errors import FaceganError
from facegan.runtime import configure_tensorflow


def _at_least(low: int):
    """An argparse type: an integer >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="facegan", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)

    def with_model(p):
        p.add_argument("--model", required=True, help="generator .keras or .h5 file")
        p.add_argument("--seed", type=_at_least(0), default=0, help="noise seed (same seed, same faces)")
        return p

    def with_conditions(p):
        p.add_argument("--condition", action="append", default=[], metavar="NAME=VALUE",
                       help="a conditioned generator's attribute value (repeatable); the others follow the data")
        p.add_argument("--list-conditions", action="store_true", help="print what the generator can be asked for")
        return p

    g = with_conditions(with_model(sub.add_parser("generate", help="write N faces as PNG files")))
    g.add_argument("-n", type=_at_least(1), default=16, help="number of faces")
    g.add_argument("--out", help="output folder (sample_00000.png ...)")
    gr = with_conditions(with_model(sub.add_parser("grid", help="write one contact sheet")))
    gr.add_argument("--rows", type=_at_least(1), default=8)
    gr.add_argument("--cols", type=_at_least(1), default=8)
    gr.add_argument("--out", help="output .png")
    it = with_model(sub.add_parser("interpolate", help="rows of faces morphing between random latent points"))
    it.add_argument("--steps", type=_at_least(2), default=10, help="faces per row, both ends included")
    it.add_argument("--rows", type=_at_least(1), default=4)
    it.add_argument("--out", required=True, help="output .png (an animated .gif is written beside it)")
    ex = with_model(sub.add_parser("export-model", help="the generator as a SavedModel and as ONNX, both checked"))
    ex.add_argument("--out", required=True, help="output folder (generator_savedmodel/, generator.onnx, serving.json)")
    dr = sub.add_parser("doctor", help="what this machine offers facegan: TensorFlow, GPUs, CPU, a timed step")
    dr.add_argument("--steps", type=_at_least(1), default=3, help="timed steps per device (at least 20 on GPU)")
    dr.add_argument("--batch", type=_at_least(1), default=None, help="batch size (default 32 on CPU, 128 on GPU)")
    dr.add_argument("--width", type=_at_least(1), default=64, help="DCGAN width of the timed step (64: canonical)")
    return ap


def _export_model(args) -> int:
    import json

    from facegan.files import write_json
    from facegan.serving import export_generator

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = export_generator(args.model, savedmodel_dir=out / "generator_savedmodel",
                              onnx_path=out / "generator.onnx", seed=args.seed)
    write_json(out / "serving.json", report)
    print(json.dumps(report, indent=2))
    return 0


def _conditions(generator, args) -> dict[int, int] | None:
    """The ``--condition`` requests as {attribute: class}; ``--list-conditions`` prints the choices (None)."""
    from facegan.generation import conditioning_of

    spec = conditioning_of(generator)
    if args.list_conditions:
        print(f"{args.model}: " + (f"conditioned on {spec.options()}" if spec else "not conditioned"))
        return None
    if not args.out:
        raise FaceganError(f"facegan {args.command} needs --out")
    if args.condition and spec is None:
        raise FaceganError(f"{args.model} is not conditioned: it takes no --condition (train one with "
                           "model.conditions)")
    return spec.parse(args.condition) if spec else {}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    configure_tensorflow()
    if args.command == "doctor":
        from facegan.doctor import report

        return report(steps=args.steps, batch=args.batch, width=args.width)
    from facegan import pictures
    from facegan.generation import conditioning_of, load_generator

    try:
        if args.command == "export-model":
            return _export_model(args)
        generator = load_generator(args.model)
        fixed = _conditions(generator, args) if args.command in ("generate", "grid") else {}
        if fixed is None:
            return 0
        asked = f" ({conditioning_of(generator).describe(fixed)})" if fixed else ""
        if args.command == "generate":
            paths = pictures.write_samples(generator, args.out, n=args.n, seed=args.seed, fixed=fixed)
            print(f"wrote {len(paths)} faces to {args.out}{asked}")
        elif args.command == "grid":
            pictures.write_grid(generator, args.out, rows=args.rows, cols=args.cols, seed=args.seed, fixed=fixed)
            print(f"wrote {args.out}{asked}")
        else:
            gif = str(Path(args.out).with_suffix(".gif"))
            pictures.interpolation(generator, out_png=args.out, out_gif=gif, steps=args.steps, rows=args.rows,
                                   seed=args.seed)
            print(f"wrote {args.out} and {gif}")
    except (FaceganError, FileNotFoundError, ValueError) as exc:
        print(f"facegan: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full disk, a folder that cannot be written
        print(f"facegan: error: cannot write {exc.filename or args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
