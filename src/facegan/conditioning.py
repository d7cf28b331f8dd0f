"""What a conditioned generator is asked for: ``model.conditions``, the data's attributes by name.

A :class:`Conditioning` names the conditioned attributes, their classes and the data's own joint
distribution of them (each combination of values the kept images show, with its share). Training draws
the conditions of generated faces from that joint distribution, so the unconditional metrics stay
comparable; the saved generator carries it (:class:`facegan.layers.ConditionEncoding`), so a face can
be asked for one value while the others follow the data (``facegan generate --condition glasses=yes``).
A value is a class index, or -1 when the data do not know it (hair colour on a bald head): it encodes
as no class at all.

No TensorFlow here; the workflow's parse-time check of ``model.conditions`` is :mod:`facegan.condition_check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegan.errors import FaceganError

UNKNOWN = -1


class ConditionError(FaceganError):
    """A condition that the data or the model does not know."""


@dataclass(frozen=True)
class Conditioning:
    names: tuple[str, ...]
    classes: tuple[tuple[str, ...], ...]
    combos: tuple[tuple[int, ...], ...]  # the joint distribution's support: one value per attribute
    shares: tuple[float, ...]  # each combination's share of the kept images

    @property
    def width(self) -> int:
        """Length of the encoded condition: one slot per class of every attribute."""
        return sum(len(c) for c in self.classes)

    def to_json(self) -> dict:
        return {"names": list(self.names), "classes": [list(c) for c in self.classes],
                "combos": [list(c) for c in self.combos], "shares": list(self.shares)}

    @classmethod
    def from_json(cls, d: dict) -> Conditioning:
        return cls(tuple(d["names"]), tuple(tuple(c) for c in d["classes"]), tuple(tuple(int(v) for v in c)
                                                                                    for c in d["combos"]),
                   tuple(float(s) for s in d["shares"]))

    @classmethod
    def from_labels(cls, names, attributes: list, labels: np.ndarray) -> Conditioning:
        """The conditioning on ``names`` from the data's attributes (:class:`facegan.attributes.Attribute`)
        and their ``(images, attributes)`` class indices."""
        columns = attribute_columns(names, [a.name for a in attributes])
        picked = np.asarray(labels, np.int64)[:, columns]
        combos, counts = np.unique(picked, axis=0, return_counts=True)
        return cls(tuple(names), tuple(attributes[i].classes for i in columns),
                   tuple(tuple(int(v) for v in c) for c in combos), tuple(float(s) for s in counts / counts.sum()))

    def balanced_weights(self) -> list[np.ndarray]:
        """Per attribute, each value's weight 1 / (values * share of the images that know the attribute),
        so every value counts alike and the weights average 1 over the data; a value the data lack weighs 1."""
        combos, shares = np.asarray(self.combos, np.int64), np.asarray(self.shares)
        out = []
        for i, classes in enumerate(self.classes):
            known = combos[:, i] >= 0
            share = np.bincount(combos[known, i], weights=shares[known], minlength=len(classes))
            share = share / share.sum()
            present = share > 0
            weights = np.ones(len(classes))
            weights[present] = 1.0 / (present.sum() * share[present])
            out.append(weights.astype(np.float32))
        return out

    def draw(self, n: int, rng: np.random.Generator, fixed: dict[int, int] | None = None) -> np.ndarray:
        """``(n, attributes)`` int32 conditions from the data's joint distribution, attribute ``i`` set to
        ``fixed[i]``; the others follow the data given the fixed ones (or their own shares when the data
        hold no such face)."""
        combos, shares = np.asarray(self.combos, np.int32), np.asarray(self.shares)
        fixed = fixed or {}
        match = np.all([combos[:, i] == v for i, v in fixed.items()], axis=0) if fixed else np.ones(len(combos), bool)
        if match.any():
            picked = combos[rng.choice(len(combos), size=n, p=shares * match / (shares * match).sum())]
        else:  # a combination the data never show: each free attribute from its own shares
            picked = np.stack([combos[rng.choice(len(combos), size=n, p=shares), i]
                               for i in range(len(self.names))], axis=1)
        for i, v in fixed.items():
            picked[:, i] = v
        return picked.astype(np.int32)

    def parse(self, requests: list[str]) -> dict[int, int]:
        """``["glasses=yes", "hair_colour=red"]`` as ``{attribute index: class index}``; a clear error
        naming the valid names or values otherwise."""
        out = {}
        for text in requests:
            name, sep, value = (s.strip() for s in text.partition("="))
            if not sep:
                raise ConditionError(f"--condition {text!r}: write it as name=value, e.g. "
                                     f"{self.names[0]}={self.classes[0][-1]}")
            if name not in self.names:
                raise ConditionError(f"--condition {text!r}: this generator is conditioned on "
                                     f"{', '.join(self.names)}, not {name!r}")
            i = self.names.index(name)
            if value not in self.classes[i]:
                raise ConditionError(f"--condition {text!r}: {name} is one of {', '.join(self.classes[i])}")
            out[i] = self.classes[i].index(value)
        return out

    def describe(self, fixed: dict[int, int]) -> str:
        return ", ".join(f"{self.names[i]}={self.classes[i][v]}" for i, v in sorted(fixed.items()))

    def options(self) -> str:
        """Every name and its values, for a help line."""
        return "; ".join(f"{n}: {'/'.join(c)}" for n, c in zip(self.names, self.classes))


def attribute_columns(names, available: list[str]) -> list[int]:
    """The columns of ``names`` among the data's attribute names; one line listing them otherwise."""
    if not available:
        raise ConditionError(f"model.conditions is {list(names)} but the data set has no attribute table "
                             f"(list_attr_celeba.csv, list_attr_celeba.txt or list_attr_synthetic.csv): "
                             f"set model.conditions: []")
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ConditionError(f"model.conditions: {', '.join(map(repr, unknown))} "
                             f"{'is not an attribute' if len(unknown) == 1 else 'are not attributes'} of the "
                             f"data; it has {', '.join(available)}")
    if len(set(names)) != len(names):
        raise ConditionError(f"model.conditions names an attribute twice: {list(names)}")
    return [available.index(n) for n in names]


def load_conditioning(names, *, attributes: str | Path, attribute_spec: str | Path) -> tuple[Conditioning, np.ndarray]:
    """The conditioning on ``names`` and each kept image's conditions ``(images, len(names))`` int32, in
    manifest order, from the data stage's attribute files."""
    from facegan.attribute_files import load_attribute_files

    attrs, labels = load_attribute_files(attributes, attribute_spec)
    columns = attribute_columns(names, [a.name for a in attrs])
    return Conditioning.from_labels(names, attrs, labels), labels[:, columns].astype(np.int32)
