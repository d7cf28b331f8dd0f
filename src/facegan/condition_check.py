"""``model.conditions`` checked when the workflow is parsed, before any job: the attribute names the data
set will have, as far as they can be told before it is processed (the demo's and Kaggle's CelebA are known;
a local folder is looked into), against the names asked for.
"""

from __future__ import annotations

from pathlib import Path

from facegan.conditioning import ConditionError, attribute_columns

CELEBA_KAGGLE_SLUG = "jessicali9530/celeba-dataset"


def _table_names(path: Path) -> list[str]:
    from facegan.attributes import synthetic_attributes
    from facegan.tables import read_rows

    if path.name == "list_attr_synthetic.csv":
        return [a.name for a in synthetic_attributes()]
    rows = read_rows(path)
    if path.suffix == ".csv":
        return [h.strip() for h in rows[0][1:]] if rows else []
    return [h.strip() for h in rows[1]] if len(rows) > 1 else []


def _find_table(folder: Path, depth: int = 3) -> Path | None:
    from facegan.attributes import find_table

    files = [p for d in range(depth + 1) for p in folder.glob("/".join(["*"] * d + ["list_attr_*"])) if p.is_file()]
    return find_table(files)


def data_attribute_names(dataset: dict, dataset_dir: str | Path) -> list[str] | None:
    """The attribute names the data set will have, as far as can be told before it is processed (None:
    not knowable yet: the train step checks again)."""
    from facegan.attributes import CELEBA_ATTRIBUTES, synthetic_attributes

    for folder in (Path(dataset_dir), Path(dataset.get("path") or "")):
        if dataset.get("source") != "synthetic" and str(folder) not in ("", ".") and folder.is_dir():
            table = _find_table(folder)
            return _table_names(table) if table else []
    if dataset.get("source") == "synthetic":
        return [a.name for a in synthetic_attributes()]
    if dataset.get("source") == "kaggle" and dataset.get("kaggle_slug") == CELEBA_KAGGLE_SLUG:
        return list(CELEBA_ATTRIBUTES)
    return None


def _runs(config: dict) -> list[tuple[str, dict, dict]]:
    """(where, model block, train block) of the config and of each sweep run (its overrides on top)."""
    model, train = config.get("model") or {}, config.get("train") or {}
    return [("", model, train)] + [(f"sweep run {run}: ", {**model, **((o or {}).get("model") or {})},
                                    {**train, **((o or {}).get("train") or {})})
                                   for run, o in (config.get("sweep") or {}).items()]


def check_conditions(config: dict, dataset_dir: str | Path) -> None:
    """``model.conditions`` against the data's attributes, ``train.attribute_weights`` against
    ``model.conditions`` and ``model.pack`` beside them, at parse time, for the config and each sweep run: one line
    on an unknown name or a packed conditioned discriminator (and on dcgan-only layers asked of the tutorial's
    architecture, which the same loop over the runs can tell)."""
    from facegan.options import attribute_weights

    runs = _runs(config)
    for where, model, train in runs:
        try:
            attribute_weights(train.get("attribute_weights"), tuple(model.get("conditions") or ()))
        except ValueError as exc:
            raise ConditionError(f"{where}{exc}") from None
        if (model.get("pack") or 1) > 1 and model.get("conditions"):
            raise ConditionError(f"{where}model.pack {model['pack']} does not work with model.conditions (a pack of "
                                 "several faces has no one condition): set model.pack: 1 or model.conditions: []")
        extra = [k for k in ("g_refine", "d_stem") if model.get(k)]
        if extra and model.get("architecture", "dcgan") != "dcgan":
            raise ConditionError(f"{where}model.{extra[0]} is a layer of model.architecture: dcgan, not "
                                 f"{model['architecture']}: set model.{extra[0]}: 0")
    if not any(model.get("conditions") for _, model, _ in runs):
        return
    available = data_attribute_names(config.get("dataset") or {}, dataset_dir)
    if available is None:
        return
    for where, model, _ in runs:
        if model.get("conditions"):
            try:
                attribute_columns(model["conditions"], available)
            except ConditionError as exc:
                raise ConditionError(f"{where}{exc}") from None
