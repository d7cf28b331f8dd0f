"""Config checking with messages that name the key: ``preprocess.resolution: 48 is not one of [32, 64, 128]``.

The workflow calls :func:`check_config` before ``snakemake.utils.validate`` (which fills in the
schema's defaults but reports only the first error, as a schema dump). Every error is listed, each
with its dotted key and the key's description from the schema.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from facegan.errors import FaceganError

DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(FaceganError):
    pass


def load_schema(path: str | Path = DEFAULT_SCHEMA) -> dict:
    with open(path) as f:
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


def check_config(config: dict, schema_path: str | Path = DEFAULT_SCHEMA) -> None:
    errors = config_errors(config, load_schema(schema_path))
    if errors:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(errors))


def _yaml_str(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _rows(schema: dict, prefix: str = ""):
    for key, sub in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        if sub.get("type") == "object" and "properties" in sub:
            yield from _rows(sub, name + ".")
        else:
            kind = sub.get("enum") and " \\| ".join(_yaml_str(v) for v in sub["enum"]) or (
                " or ".join(sub["type"]) if isinstance(sub.get("type"), list) else sub.get("type", ""))
            default = sub.get("default")
            yield name, kind, "null" if default is None else repr(default) if isinstance(default, str) else str(default).lower() if isinstance(default, bool) else str(default), " ".join(sub.get("description", "").split())


def schema_markdown(schema: dict) -> str:
    """config/README.md: one row per key, generated from the schema (``python -m facegan.config``)."""
    lines = [
        "# Configuration keys",
        "",
        "Generated from `workflow/schemas/config.schema.yaml` by `python -m facegan.config > config/README.md`",
        "(a test fails when this file is stale). The schema is the authority; every key has a default,",
        "so a config file only needs the keys it changes. Unknown keys are errors.",
        "",
        "- `config/config.yaml`: the embedded demo (synthetic faces, minutes on 2 CPU cores).",
        "- `config/celeba.yaml`: CelebA from Kaggle at 64x64 with the canonical DCGAN.",
        "",
        "| key | type / values | default | what it does |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| `{n}` | {k} | `{d}` | {desc} |" for n, k, d, desc in _rows(schema)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(schema_markdown(load_schema()), end="")
