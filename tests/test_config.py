import os

import jsonschema
import pytest
import yaml

from facegan.config import (
    ConfigError,
    check_config,
    config_errors,
    leaf_keys,
    load_schema,
    schema_markdown,
    schema_path,
    with_defaults,
)


def test_shipped_configs_are_valid(repo):
    for name in ("config.yaml", "celeba.yaml", "demo-unconditioned.yaml", "celeba-conditioned.yaml"):
        check_config(yaml.safe_load((repo / "config" / name).read_text()))


def test_errors_name_every_bad_key():
    errors = config_errors({"train": {"epochs": 0, "batch_size": "big"}, "bogus": 1}, load_schema())
    text = "\n".join(errors)
    assert "train.epochs: 0 is less than the minimum of 1" in text
    assert "train.batch_size: 'big' is not of type 'integer'" in text
    assert "unknown key bogus" in text


def test_check_config_raises_with_all_messages():
    with pytest.raises(ConfigError, match="dataset.source"):
        check_config({"dataset": {"source": "http"}})


def test_config_readme_is_generated_from_the_current_schema(repo):
    assert (repo / "config" / "README.md").read_text() == schema_markdown(load_schema()), (
        "config/README.md is stale: run python -m facegan.config > config/README.md")


# JSON Schema keywords the schema may use; anything else in a property is a typo or a YAML slip (a comma in a
# flow mapping once turned "endpoints included." into a key).
SCHEMA_KEYWORDS = {"$schema", "description", "type", "additionalProperties", "properties", "default", "enum",
                   "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern", "items", "minItems", "not",
                   "anyOf", "propertyNames"}


def test_schema_uses_only_json_schema_keywords_and_is_valid():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)

    def walk(node, where):
        assert set(node) <= SCHEMA_KEYWORDS, f"{where}: unexpected {sorted(set(node) - SCHEMA_KEYWORDS)}"
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{where}.{key}" if where else key)

    walk(schema, "")


def test_schema_readme_and_defaults_hold_the_same_keys(repo):
    """Every documented key is a config key with a description and a default, and nothing else is documented."""
    schema = load_schema()
    documented = {line.split("`")[1] for line in (repo / "config" / "README.md").read_text().splitlines()
                  if line.startswith("| `")}

    def leaves(cfg, prefix=""):
        for key, value in cfg.items():
            if isinstance(value, dict) and value:
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    keys = {name for name, _ in leaf_keys(schema)}
    assert documented == keys == set(leaves(with_defaults({}, schema)))
    assert all(sub.get("description") and "default" in sub for _, sub in leaf_keys(schema))


def test_schema_ships_inside_the_package():
    path = schema_path()
    assert path.is_file() and path.parent.name == "schemas" and path.parent.parent.name == "facegan"


def test_with_defaults_fills_nested_blocks_and_keeps_given_values():
    cfg = with_defaults({"train": {"epochs": 3}})
    assert cfg["train"]["epochs"] == 3 and cfg["train"]["batch_size"] == 128 and cfg["train"]["gpus"] == 1
    assert cfg["export"]["grid"] == {"rows": 8, "cols": 8}
    check_config(cfg)


@pytest.mark.slow
def test_a_normal_install_finds_its_schema(tmp_path, python, repo):
    """Not only the editable install: a wheel carries the schema, and the workflow's config check works from it."""
    python(["-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "wheel", repo], timeout=600)
    wheel = next((tmp_path / "wheel").glob("facegan-*.whl"))
    python(["-m", "pip", "install", "--no-deps", "-q", "--target", tmp_path / "site", wheel], timeout=600)
    code = ("import facegan, facegan.config as c; from pathlib import Path\n"
            "assert Path(facegan.__file__).is_relative_to(Path(r'%s')), facegan.__file__\n"
            "c.check_config(c.with_defaults({})); print(c.schema_path())\n" % (tmp_path / "site"))
    out = python(["-c", code], env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}).stdout
    assert out.strip().startswith(str(tmp_path / "site"))


def test_the_canonical_dcgan_is_one_config_away(repo):
    """config/canonical-dcgan.yaml on top of celeba.yaml gives the PyTorch tutorial's step exactly."""
    from facegan.options import TrainOptions

    celeba = yaml.safe_load((repo / "config" / "celeba.yaml").read_text())
    overlay = yaml.safe_load((repo / "config" / "canonical-dcgan.yaml").read_text())
    cfg = with_defaults({**celeba, "train": {**celeba["train"], **overlay["train"]}})
    check_config(cfg)
    opts = TrainOptions.from_config(cfg["model"], cfg["train"], resolution=cfg["preprocess"]["resolution"],
                                    seed=cfg["seed"])
    assert (opts.model.architecture, opts.model.width, opts.model.latent_dim) == ("dcgan", 64, 100)
    assert (opts.optimizer.learning_rate, opts.optimizer.d_learning_rate, opts.optimizer.beta_1) == (2e-4, 2e-4, 0.5)
    assert (opts.gan.loss, opts.gan.ema_kimg, opts.gan.augment, opts.gan.label_smoothing) == ("bce", 0, "", 0.0)
    assert opts.data.mirror is False
    # and without the overlay, the defaults are the improved step
    plain = TrainOptions.from_config(celeba["model"], celeba["train"], resolution=64, seed=0)
    assert plain.gan.ema_kimg == 40 and plain.gan.augment == "translation,cutout" and plain.data.mirror


def test_the_canonical_overlay_turns_off_every_model_option_of_the_demo(repo):
    """On the demo's config.yaml too, whatever its default adds: every model key at the canonical value, Adam 2e-4
    with betas 0.5 / 0.999 and a constant rate."""
    from facegan.options import TrainOptions

    demo = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    overlay = yaml.safe_load((repo / "config" / "canonical-dcgan.yaml").read_text())
    cfg = with_defaults({"model": {**demo["model"], **overlay["model"]},
                         "train": {**demo["train"], **overlay["train"]}})
    opts = TrainOptions.from_config(cfg["model"], cfg["train"], resolution=64, seed=0)
    assert (opts.optimizer.learning_rate, opts.optimizer.d_learning_rate) == (2e-4, 2e-4)
    assert (opts.optimizer.beta_1, opts.optimizer.beta_2, opts.optimizer.lr_decay_epochs) == (0.5, 0.999, 0)
    model = cfg["model"]
    assert set(model) - {"architecture", "latent_dim", "width"} <= set(overlay["model"])
    assert {k: model[k] for k in overlay["model"]} == {
        "d_width": None, "upsample": "transposed", "rgb_skips": False, "g_refine": 0, "d_stem": 0, "d_norm": "standard",
        "minibatch_std": 0, "pack": 1, "conditions": [], "classify_conditions": False, "conditional_batchnorm": False,
        "latent_batchnorm": False}


def test_the_gpu_extra_is_tensorflow_with_cuda_at_the_pinned_version(repo):
    import tomllib

    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    tf_pin = next(d for d in project["dependencies"] if d.startswith("tensorflow=="))
    assert project["optional-dependencies"]["gpu"] == [tf_pin.replace("tensorflow", "tensorflow[and-cuda]")]


@pytest.mark.parametrize("given", [float("nan"), float("inf"), "nan", "-inf"])
def test_non_finite_numbers_are_refused_naming_the_key(given):
    # NaN passed every minimum check: the fingerprint then differed from itself on every rerun (issue 22).
    from facegan.config import coerce_types
    config = with_defaults(coerce_types({"train": {"ema_kimg": given, "learning_rate": given}}))
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert "train.ema_kimg: " in str(err.value) and "not a finite number" in str(err.value)
    assert "train.learning_rate: " in str(err.value)


def test_non_finite_numbers_in_a_sweep_run_are_refused_once():
    config = with_defaults({"sweep": {"a": {"train": {"ema_kimg": float("nan")}}}})
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert str(err.value).count("sweep.a.train.ema_kimg: nan is not a finite number") == 1


def test_a_seed_tensorflow_cannot_take_is_refused_at_parse_time():
    check_config(with_defaults({"seed": 2**32 - 1}))
    with pytest.raises(ConfigError, match="seed: 4294967296 is greater than the maximum"):
        check_config(with_defaults({"seed": 2**32}))


@pytest.mark.parametrize("fps", [0.001, 0.0015, 1000])
def test_gif_frame_rates_pillow_cannot_write_are_refused(fps):
    with pytest.raises(ConfigError, match="export.gif.fps"):
        check_config(with_defaults({"export": {"gif": {"fps": fps}}}))


@pytest.mark.parametrize("name", ["summary.csv", "faces.png", "swd.png"])
def test_sweep_runs_named_like_the_sweeps_own_files_are_refused(name):
    with pytest.raises(ConfigError, match="not '.', '..', or summary.csv"):
        check_config(with_defaults({"sweep": {name: {"seed": 1}}}))
    check_config(with_defaults({"sweep": {name + "x": {"seed": 1}}}))


@pytest.mark.slow
def test_dotdot_dataset_name_is_refused_by_the_config_and_deletes_nothing(tmp_path, snakemake, make_config):
    work = tmp_path / "WD"
    (work / "results" / "train_state").mkdir(parents=True)
    (work / "results" / "train_state" / "SENTINEL").write_text("weeks of training")
    proc = snakemake(work, make_config(dataset={"name": ".."}), "--cores", "2", "data", check=False)
    assert proc.returncode != 0
    assert "dataset.name: '..' does not match" in proc.stdout + proc.stderr
    assert (work / "results" / "train_state" / "SENTINEL").read_text() == "weeks of training"


def test_the_learning_rate_decay_is_fingerprinted_only_when_on():
    from facegan.options import TrainOptions

    assert TrainOptions.from_config({}, {"lr_decay_epochs": 5}).fingerprint("x", "float32")["lr_decay_epochs"] == 5
    assert "lr_decay_epochs" not in TrainOptions.from_config({}, {}).fingerprint("x", "float32")
