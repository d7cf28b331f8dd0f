"""The configuration schema and config checking with messages that name the key.

The schema (``facegan/schemas/config.schema.yaml``, shipped inside the package) is the one source of
every key, its type and its default. The workflow calls :func:`check_config` before
``snakemake.utils.validate`` (which fills in the defaults but reports only the first error, as a
schema dump): every error is listed, each with its dotted key and the key's description, e.g.
``preprocess.resolution: 48 is not one of [32, 64, 128]``. Code that runs without Snakemake gets the
same defaults from :func:`with_defaults`.
"""

from __future__ import annotations

import copy
import importlib.resources
import math
import re
from pathlib import Path

import jsonschema
import yaml

from facegan.errors import FaceganError

SCHEMA_RESOURCE = "schemas/config.schema.yaml"


class ConfigError(FaceganError):
    pass


def schema_path() -> Path:
    """The schema file of the installed package (editable or not)."""
    return Path(str(importlib.resources.files("facegan").joinpath(SCHEMA_RESOURCE)))


def load_schema(path: str | Path | None = None) -> dict:
    with open(path or schema_path()) as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml's, where built


def non_finite_keys(node, prefix: str = "") -> list[str]:
    """Dotted keys holding NaN or an infinity: jsonschema's minimum and maximum let NaN through."""
    if isinstance(node, dict):
        return [k for key, value in node.items() for k in non_finite_keys(value, f"{prefix}{key}.")]
    if isinstance(node, list):
        return [k for i, value in enumerate(node) for k in non_finite_keys(value, f"{prefix}{i}.")]
    return [prefix[:-1]] if isinstance(node, float) and not math.isfinite(node) else []


def config_errors(config: dict, schema: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    messages = [f"{key}: {_dig(config, key)} is not a finite number; give a number (or null where the key allows it)"
                for key in non_finite_keys(config)]
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            allowed = ", ".join(sorted(err.schema.get("properties", {})))
            where = f"{key}." if key else ""
            messages.append(f"unknown key {', '.join(where + e for e in extra)} (allowed here: {allowed})")
            continue
        desc = err.schema.get("description", "") if isinstance(err.schema, dict) else ""
        messages.append(f"{key or '<top level>'}: {err.message}" + (f"  [{' '.join(desc.split())}]" if desc else ""))
    return messages


def _dig(config: dict, key: str):
    node = config
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


SWEEP_KEYS = ("seed", "model", "train")


def sweep_errors(config: dict, schema: dict) -> list[str]:
    """Each sweep run's overrides checked against the keys they override (``sweep.<run>.train.epochs: ...``)."""
    run_schema = {"type": "object", "additionalProperties": False,
                  "properties": {k: schema["properties"][k] for k in SWEEP_KEYS}}
    messages = []
    for run, overrides in (config.get("sweep") or {}).items():
        if isinstance(overrides, dict):
            messages += [f"sweep.{run}.{m}" if not m.startswith("unknown key") else
                         m.replace("unknown key ", f"unknown key sweep.{run}.") for m in
                         config_errors(overrides, run_schema)]
    return messages


def check_config(config: dict, schema: str | Path | dict | None = None) -> None:
    schema = schema if isinstance(schema, dict) else load_schema(schema)
    errors = list(dict.fromkeys(config_errors(config, schema) + sweep_errors(config, schema)))
    if errors:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(errors))


def sweep_run_config(config: dict, run: str) -> dict:
    """The full config of sweep run ``run``: ``config`` (defaults filled) with the run's overrides."""
    out = copy.deepcopy({k: v for k, v in config.items() if k != "sweep"})
    for key, value in config["sweep"][run].items():
        out[key] = {**out[key], **value} if isinstance(value, dict) else value
    return out


_TRUE, _FALSE, _NULL = ("true", "True", "yes"), ("false", "False", "no"), ("null", "None", "~", "")


def _coerce_scalar(value, sub: dict):
    """``value`` as the type ``sub`` (a property's schema) asks for, when it is a string that reads as one."""
    if not isinstance(value, str):
        return value
    kinds = sub.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    enum = sub.get("enum", [])
    if ("null" in kinds or None in enum) and value in _NULL:
        return None
    if ("boolean" in kinds or True in enum) and value in _TRUE + _FALSE:
        return value in _TRUE
    if "integer" in kinds and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    if "number" in kinds:
        try:
            return float(value)
        except ValueError:
            pass
    return value


def coerce_types(config: dict, schema: dict | None = None) -> dict:
    """Turn strings into the numbers, booleans and nulls the schema asks for, in place; returns ``config``.

    ``snakemake --config 'train={"epochs": 30}'`` reads nested values as strings ('30'); this makes them
    what a config file would give, so such overrides validate (and a wrong one still fails, naming its key).
    """
    schema = schema or load_schema()

    def walk(node: dict, sub: dict) -> None:
        for key, value in list(node.items()):
            prop = sub.get("properties", {}).get(key)
            if prop is None:
                continue
            if isinstance(value, dict) and prop.get("type") == "object":
                if key == "sweep":
                    for run in value.values():
                        if isinstance(run, dict):
                            walk(run, schema)
                else:
                    walk(value, prop)
            else:
                node[key] = _coerce_scalar(value, prop)

    walk(config, schema)
    return config


def with_defaults(config: dict | None = None, schema: dict | None = None) -> dict:
    """A copy of ``config`` with every missing key set to the schema's default (nested blocks too)."""

    def fill(node: dict, sub: dict) -> dict:
        for key, prop in sub.get("properties", {}).items():
            if key not in node and "default" in prop:
                node[key] = copy.deepcopy(prop["default"])
            if isinstance(node.get(key), dict) and prop.get("type") == "object":
                fill(node[key], prop)
        return node

    return fill(copy.deepcopy(config or {}), schema or load_schema())


def leaf_keys(schema: dict, prefix: str = ""):
    """``(dotted key, property schema)`` for every configurable value, in schema order."""
    for key, sub in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        if sub.get("type") == "object" and "properties" in sub:
            yield from leaf_keys(sub, name + ".")
        else:
            yield name, sub


def _yaml_str(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)


def _kind(sub: dict) -> str:
    if "enum" in sub:
        return " \\| ".join(_yaml_str(v).strip("'") for v in sub["enum"])
    kind = sub.get("type", "")
    return " or ".join(kind) if isinstance(kind, list) else kind


def schema_markdown(schema: dict) -> str:
    """config/README.md: one row per key, generated from the schema (``python -m facegan.config``)."""
    lines = [
        "# Configuration keys",
        "",
        "Generated from the schema (`src/facegan/schemas/config.schema.yaml`, linked as",
        "`workflow/schemas/config.schema.yaml`) by `python -m facegan.config > config/README.md` (a test",
        "fails when this file is stale). The schema is the authority; every key has a default, so a config",
        "file only needs the keys it changes. Unknown keys are errors.",
        "",
        "- `config/config.yaml`: the embedded demo (synthetic faces, minutes on 2 CPU cores).",
        "- `config/celeba.yaml`: CelebA from Kaggle at 64x64 with the canonical DCGAN.",
        "",
        "| key | type / values | default | what it does |",
        "| --- | --- | --- | --- |",
    ]
    for name, sub in leaf_keys(schema):
        lines.append(f"| `{name}` | {_kind(sub)} | `{_yaml_str(sub.get('default'))}` | "
                     f"{' '.join(sub.get('description', '').split())} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(schema_markdown(load_schema()), end="")
