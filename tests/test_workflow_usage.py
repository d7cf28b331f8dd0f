"""How users drive the workflow: the catalog's layout, --config that works, use as a module of another workflow,
benchmarks per rule."""

import json
import re

import pytest
import yaml


def test_catalog_layout_license_and_usage_notes(repo):
    # the catalog's generator skips a repository with workflow/ but no workflow/Snakefile
    assert (repo / "workflow").is_dir() and (repo / "workflow" / "Snakefile").is_file()
    assert any((repo / "workflow" / "rules").glob("*.smk")) and (repo / "config" / "README.md").is_file()
    usage = yaml.safe_load((repo / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert usage["software-stack-deployment"]["conda"] is True and usage["report"] is True
    assert "pip install" in usage["mandatory-flags"]["desc"]
    assert (repo / "LICENSE").read_text().startswith("MIT License")
    # the README's two commands: the demo, and the tests exactly as CI runs them
    readme = (repo / "README.md").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install -q -e '.[workflow]' && .venv/bin/snakemake --cores all" \
        in readme
    ci_command = (repo / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci_command.startswith("python3 -m venv .venv") and ci_command in readme


def _plan(stdout):
    table = stdout.split("Job stats:")[1].split("total")[0] if "Job stats:" in stdout else ""
    return {k: int(v) for k, v in re.findall(r"(?m)^(\w+)\s+(\d+)$", table)}


@pytest.mark.slow
def test_readme_command_lines_with_nested_config_overrides(tmp_path, python, repo):
    import shutil

    shutil.copytree(repo / "config", tmp_path / "config")  # as run from a clone: config/ beside the workflow
    base = ["-m", "snakemake", "-s", repo / "Snakefile", "-d", tmp_path, "-n"]
    # As the README writes them (the demo config, then CelebA from a local archive).
    plan = _plan(python([*base, "--config", 'train={"epochs": 30}'], cwd=repo).stdout)
    assert plan["train"] == 1
    out = python([*base, "--configfile", repo / "config/celeba.yaml", "--config",
                  'dataset={"source": "local", "path": "/data/celeba-dataset.zip"}'], cwd=repo).stdout
    assert _plan(out)["shard"] == 16 and _plan(out)["download"] == 1
    bad = python([*base, "--config", 'train={"epochs": "thirty"}'], cwd=repo, check=False)
    assert bad.returncode != 0 and "train.epochs: 'thirty' is not of type 'integer'" in bad.stdout + bad.stderr


@pytest.mark.slow
def test_facegan_runs_as_a_module_of_another_workflow(tmp_path, python, repo):
    (tmp_path / "Snakefile").write_text(
        'configfile: "config.yaml"\n\n\n'
        f'module facegan:\n    snakefile:\n        "{repo / "workflow" / "Snakefile"}"\n'
        '    config:\n        config["facegan"]\n\n\n'
        "use rule * from facegan as facegan_*\n")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"facegan": {
        "dataset": {"name": "tiny", "source": "synthetic", "synthetic_count": 96},
        "preprocess": {"resolution": 32, "shards": 2}, "model": {"width": 8}}}))
    plan = _plan(python(["-m", "snakemake", "-n", "--cores", "1"], cwd=tmp_path).stdout)
    assert plan["facegan_train"] == 1 and plan["facegan_shard"] == 2 and plan["facegan_all"] == 1


def test_every_job_rule_writes_a_benchmark(repo):
    """Each rule that runs a job has a benchmark: file (aggregate targets run none)."""
    targets = {"all", "data", "export", "sweep"}
    for smk in (repo / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"(?m)^rule ", smk.read_text())[1:]:
            name = block.split(":")[0]
            if name not in targets:
                assert "benchmark:" in block and "results/benchmarks/" in block, f"{smk.name}: rule {name}"


def test_coercion_reads_nested_strings_as_the_schema_types():
    from facegan.config import check_config, coerce_types

    cfg = coerce_types({"train": {"epochs": "30", "mixed_precision": "false", "learning_rate": "null",
                                  "steps_per_execution": "auto", "ema_kimg": "10"},
                        "sweep": {"a": {"model": {"width": "16"}}}})
    assert cfg == {"train": {"epochs": 30, "mixed_precision": False, "learning_rate": None,
                             "steps_per_execution": "auto", "ema_kimg": 10.0},
                   "sweep": {"a": {"model": {"width": 16}}}}
    check_config(cfg)
    assert json.dumps(coerce_types({"dataset": {"name": "007"}})) == '{"dataset": {"name": "007"}}'
