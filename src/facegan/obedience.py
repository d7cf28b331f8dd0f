"""Does a conditioned generator do what it is asked? The attribute classifier reads its faces back.

For every conditioned attribute that the classifier reads reliably, and every value of it, ``per_value``
faces are asked for that value (the other conditioned attributes follow the data given it) and the
share read back as that value is reported: "glasses=yes: 96% of 250 read as glasses=yes". For a binary
attribute also the share of the faces asked *without* it that show it. A face whose attribute the
classifier cannot tell (hair colour on a head it reads as bald) counts as not obeyed. Beside each share stands
the ceiling: the share of held-out real faces with that value that the classifier reads as it (a generator that
obeys perfectly reads no higher), as SWD stands beside the real-data floor.
"""

from __future__ import annotations

import numpy as np

SEED_OFFSET = 303  # the faces' noise: neither the reference's nor the metrics' fakes


def obedience(generator, classifier, report: dict, *, per_value: int, seed: int) -> dict:
    """``metrics.json``'s ``obedience``: per attribute and value, the faces asked for it and the share obeyed."""
    from facegan import attribute_classifier
    from facegan.attribute_files import Attribute
    from facegan.generation import conditioning_of, generate, inputs, latent_dim, noise

    spec = conditioning_of(generator)
    if spec is None:
        return {"skipped": "the generator is not conditioned (model.conditions is empty)"}
    attrs = [Attribute.from_json(a) for a in report["attributes"]]
    names = [a.name for a in attrs]
    result: dict = {"per_value": per_value, "attributes": {}, "not_read": {}, "lines": []}
    for a, name in enumerate(spec.names):
        if name not in report.get("reliable", []):
            accuracy = report.get("balanced_accuracy", {}).get(name)
            result["not_read"][name] = (f"the classifier reads {name} at a balanced accuracy of {accuracy:.2f}, "
                                        f"below {report['threshold']}" if accuracy is not None else
                                        "the classifier does not read it")
            continue
        column = names.index(name)
        ceiling = report.get("recall", {}).get(name, {})
        per_class = {}
        for v, value in enumerate(spec.classes[a]):
            s = seed + SEED_OFFSET + 1000 * a + v
            faces = generate(generator, inputs(generator, noise(per_value, latent_dim(generator), s), s, {a: v}))
            read = attribute_classifier.predict(classifier, faces, attrs)[:, column]
            per_class[value] = {"asked": per_value, "obeyed": float(np.mean(read == v)), "real": ceiling.get(value),
                                "read_as": {c: float(np.mean(read == k)) for k, c in enumerate(spec.classes[a])}}
        result["attributes"][name] = per_class
        result["lines"] += _lines(name, spec.classes[a], per_class)
    obeyed = [c["obeyed"] for per_class in result["attributes"].values() for c in per_class.values()]
    result["min_obeyed"] = min(obeyed) if obeyed else None
    of_real = [c["obeyed"] / c["real"] for per_class in result["attributes"].values() for c in per_class.values()
               if c.get("real")]
    result["min_of_real"] = min(of_real) if of_real else None  # the least obeyed value against its ceiling
    return result


def _lines(name: str, classes: tuple[str, ...], per_class: dict) -> list[str]:
    """The log's words for one attribute."""
    if classes == ("no", "yes"):
        yes, no = per_class["yes"], per_class["no"]
        return [f"{name}=yes: {yes['obeyed']:.0%} of {yes['asked']} read as {name}{_real(yes)}; asked without: "
                f"{no['read_as']['yes']:.0%} of {no['asked']} read as {name}"]
    return [f"{name}={value}: {c['obeyed']:.0%} of {c['asked']} read as {value}{_real(c)}"
            for value, c in per_class.items()]


def _real(c: dict) -> str:
    return "" if c.get("real") is None else f" (real faces: {c['real']:.0%})"
