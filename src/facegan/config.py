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
        return yaml.safe_load(f)


def config_errors(config: dict, schema: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
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


def check_config(config: dict, schema: str | Path | dict | None = None) -> None:
    schema = schema if isinstance(schema, dict) else load_schema(schema)
    errors = config_errors(config, schema)
    if errors:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(errors))


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
