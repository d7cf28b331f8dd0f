"""The data's own attributes: read from the source's table, carried through the data stage, compared.

Attribute tables, found anywhere below the download (the shallowest one wins):

* ``list_attr_celeba.csv`` (Kaggle's CelebA): ``image_id`` and 40 columns of -1/1;
* ``list_attr_celeba.txt`` (the original release): a count line, a line of 40 names, then
  ``image_id v1 ... v40`` separated by spaces;
* ``list_attr_synthetic.csv`` (the demo): every drawn parameter, bucketed here into a few classes
  (skin tone light/medium/dark, hair colour, hair style - a bun counts as short: the demo's crop cuts it
  off on a third of the faces -, glasses, smiling, eye colour, background hue in 6 sectors); hair colour
  is unknown on bald faces.

Every attribute is categorical with named classes (CelebA's are ``no``/``yes``); a value is a class
index, or -1 when unknown. Comparing real and generated attributes is :mod:`facegan.attribute_stats`'s
job (the data stage never runs it).
"""

from __future__ import annotations

import colorsys
import csv
import logging
from pathlib import Path

import numpy as np

from facegan.attribute_files import MISSING, Attribute, load_attribute_files  # noqa: F401 - the data stage's files
from facegan.files import atomic_output, write_json, write_text
from facegan.tables import TableError, read_rows

log = logging.getLogger(__name__)

TABLE_FILES = ("list_attr_celeba.csv", "list_attr_celeba.txt", "list_attr_synthetic.csv")
# CelebA's 40 binary attributes in its tables' order (the header of list_attr_celeba.csv after image_id)
CELEBA_ATTRIBUTES = tuple(
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair "
    "Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones "
    "Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline "
    "Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick "
    "Wearing_Necklace Wearing_Necktie Young".split())


class AttributeTableError(TableError):
    pass


# ------------------------------------------------------------------------------------- reading tables


def find_table(files: list[Path]) -> Path | None:
    candidates = [p for p in files if p.name in TABLE_FILES]
    return min(candidates, key=lambda p: (len(p.parts), TABLE_FILES.index(p.name), str(p))) if candidates else None


def _celeba_rows(path: Path) -> tuple[list[str], dict[str, list[int]]]:
    """(attribute names, image name -> -1/1 values) from either CelebA form."""
    rows = read_rows(path)
    if path.suffix == ".csv":
        header, body = rows[0][1:], rows[1:]
    else:
        if len(rows) < 2 or not rows[0][0].isdigit():
            raise AttributeTableError(f"{path}: expected a count line, a line of names, then one line per image")
        header, body = rows[1], rows[2:]
    if not header:
        raise AttributeTableError(f"{path}: the header names no attributes (only {rows[0]!r}); expected image_id "
                                  "then the attribute names, separated by commas, semicolons, tabs or spaces")
    values = {}
    for row in body:
        if len(row) != len(header) + 1:
            raise AttributeTableError(f"{path}: row {row[:3]}... has {len(row) - 1} values for {len(header)} names")
        try:
            values[row[0].strip()] = [int(v) for v in row[1:]]
        except ValueError as exc:
            raise AttributeTableError(f"{path}: row for {row[0]} is not -1/1 values") from exc
    return [h.strip() for h in header], values


SKIN = ("light", "medium", "dark")  # synthetic.SKIN_TONES 0-2, 3-4, 5-6
HAIR_COLOURS = ("black", "dark_brown", "brown", "light_brown", "blond", "red", "grey")
# synthetic.HAIR_STYLES, with the bun counted as short hair: the demo's crop cuts it off on a third of the faces
HAIR_STYLES = ("bald", "short", "long", "bangs")
_STYLE_CLASS = {0: 0, 1: 1, 2: 2, 3: 3, 4: 1}
EYE_COLOURS = ("dark_brown", "brown", "green", "blue", "grey")
HUES = ("red", "yellow", "green", "cyan", "blue", "magenta")


def synthetic_attributes() -> list[Attribute]:
    return [Attribute("skin", SKIN), Attribute("hair_colour", HAIR_COLOURS, {"hair_style": ("bald",)}),
            Attribute("hair_style", HAIR_STYLES), Attribute("glasses", ("no", "yes")),
            Attribute("smiling", ("no", "yes")), Attribute("eye_colour", EYE_COLOURS),
            Attribute("background_hue", HUES)]


def background_hue(r: float, g: float, b: float) -> int:
    """The background colour's hue in 6 sectors of 60 degrees centred on red, yellow, green, cyan, blue, magenta."""
    hue = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)[0]
    return int(((hue * 360 + 30) % 360) // 60)


def _synthetic_values(row: dict) -> list[int]:
    skin = int(row["skin"])
    style = _STYLE_CLASS[int(row["hair_style"])]
    return [0 if skin <= 2 else 1 if skin <= 4 else 2,
            MISSING if HAIR_STYLES[style] == "bald" else int(row["hair_colour"]),
            style, int(row["glasses"]), int(float(row["smile"]) > 0.35), int(row["eye_colour"]),
            background_hue(float(row["background_r"]), float(row["background_g"]), float(row["background_b"]))]


def read_table(path: str | Path) -> tuple[list[Attribute], dict[str, list[int]]]:
    """The attributes a table describes and each image's class indices, keyed by image file name."""
    path = Path(path)
    if path.name == "list_attr_synthetic.csv":
        header, *body = read_rows(path)
        rows = [dict(zip(header, row)) for row in body]
        try:
            return synthetic_attributes(), {r["image_id"]: _synthetic_values(r) for r in rows}
        except (KeyError, ValueError) as exc:
            raise AttributeTableError(f"{path}: not the demo's attribute table ({type(exc).__name__}: {exc}); "
                                      "draw the data again (remove resources/ and rerun)") from exc
    names, values = _celeba_rows(path)
    attrs = [Attribute(n, ("no", "yes")) for n in names]
    return attrs, {k: [1 if v > 0 else 0 for v in vs] for k, vs in values.items()}


# ----------------------------------------------------------------------------- the data stage's files


def write_attribute_files(table: str | None, manifest_paths: list[str], *, out_tsv: str | Path,
                          out_json: str | Path) -> dict:
    """``attributes.tsv`` (one row per kept image, manifest order; -1 = unknown) and ``attributes.json``
    (the attributes and their classes). Without a table both say so; the comparison is then skipped."""
    if not table:
        spec = {"attributes": [], "table": None,
                "note": f"no attribute table ({', '.join(TABLE_FILES)}) in the data set: attribute coverage is "
                        "not measured"}
        write_text(out_tsv, "path\n")
        write_json(out_json, spec)
        log.info("%s", spec["note"])
        return spec
    attrs, values = read_table(table)
    missing = 0
    with atomic_output(out_tsv) as tmp, open(tmp, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["path", *(a.name for a in attrs)])
        for path in manifest_paths:
            row = values.get(Path(path).name)
            if row is None:
                missing += 1
                row = [MISSING] * len(attrs)
            w.writerow([path, *row])
    spec = {"attributes": [a.to_json() for a in attrs], "table": str(table), "images": len(manifest_paths),
            "images_not_in_table": missing}
    write_json(out_json, spec)
    log.info("attributes: %d per image from %s (%d kept images not in the table)", len(attrs), table, missing)
    return spec


# ------------------------------------------------------------------------------------ unknown values


def apply_unknown(attrs: list[Attribute], labels: np.ndarray) -> np.ndarray:
    """Labels with an attribute set to unknown where its ``unknown_when`` condition holds (e.g. bald)."""
    labels = labels.copy()
    index = {a.name: i for i, a in enumerate(attrs)}
    for i, a in enumerate(attrs):
        for key, classes in a.unknown_when.items():
            if key in index:
                cond = np.isin(labels[:, index[key]], [attrs[index[key]].classes.index(c) for c in classes])
                labels[cond, i] = MISSING
    return labels
