"""The data stage's attribute files, read back: ``attributes.tsv`` (one row of class indices per kept image,
manifest order; -1 = unknown) and ``attributes.json`` (the attributes and their classes).

Apart from :mod:`facegan.attributes` (which reads the sources' tables and writes these files), so that the
train rule, which reads them for a conditioned generator, does not rerun when table parsing changes.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MISSING = -1


@dataclass(frozen=True)
class Attribute:
    name: str
    classes: tuple[str, ...]
    # unknown (not predicted, not counted) for images whose attribute ``key`` is one of these classes
    unknown_when: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def binary(self) -> bool:
        return self.classes == ("no", "yes")

    def to_json(self) -> dict:
        return {"name": self.name, "classes": list(self.classes), "unknown_when": self.unknown_when}

    @classmethod
    def from_json(cls, d: dict) -> Attribute:
        return cls(d["name"], tuple(d["classes"]), {k: tuple(v) for k, v in d.get("unknown_when", {}).items()})


def load_attribute_files(tsv: str | Path, spec_json: str | Path) -> tuple[list[Attribute], np.ndarray]:
    """The attributes and a (images, attributes) int array of class indices in manifest order."""
    spec = json.loads(Path(spec_json).read_text())
    attrs = [Attribute.from_json(a) for a in spec["attributes"]]
    with open(tsv, newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    labels = np.array([[int(v) for v in r[1:]] for r in rows], dtype=np.int64).reshape(len(rows), len(attrs))
    return attrs, labels
