import pytest
import yaml

from conftest import REPO
from facegan.config import ConfigError, check_config, config_errors, load_schema, schema_markdown


def test_shipped_configs_are_valid():
    for name in ("config.yaml", "celeba.yaml"):
        check_config(yaml.safe_load((REPO / "config" / name).read_text()))


def test_errors_name_every_bad_key():
    errors = config_errors({"train": {"epochs": 0, "batch_size": "big"}, "bogus": 1}, load_schema())
    text = "\n".join(errors)
    assert "train.epochs: 0 is less than the minimum of 1" in text
    assert "train.batch_size: 'big' is not of type 'integer'" in text
    assert "unknown key bogus" in text


def test_check_config_raises_with_all_messages():
    with pytest.raises(ConfigError, match="dataset.source"):
        check_config({"dataset": {"source": "http"}})


def test_config_readme_is_generated_from_the_current_schema():
    assert (REPO / "config" / "README.md").read_text() == schema_markdown(load_schema()), (
        "config/README.md is stale: run python -m facegan.config > config/README.md")
