"""Workflow hygiene, as CI checks it: snakemake --lint, snakefmt, the rule graph (ruff runs in the test command)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _tool(name):
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def test_snakemake_lint_reports_nothing(python, repo):
    proc = python(["-m", "snakemake", "--lint"], cwd=repo, timeout=300)
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_snakefmt_check_passes(repo):
    proc = subprocess.run([_tool("snakefmt"), "--check", "Snakefile", "workflow/rules"], capture_output=True,
                          text=True, cwd=repo, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _rule_names(svg: str) -> set[str]:
    return set(re.findall(r">(\w+)</text>", svg))


def test_rulegraph_renders_and_matches_the_committed_picture(python, repo):
    if not shutil.which("dot"):
        if os.environ.get("FACEGAN_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail("graphviz (dot) is missing")
        pytest.skip("graphviz not installed (apt-get install graphviz)")
    graph = python(["-m", "snakemake", "--rulegraph"], cwd=repo, timeout=300)
    assert "digraph" in graph.stdout
    svg = subprocess.run(["dot", "-Tsvg"], input=graph.stdout, capture_output=True, text=True, timeout=60)
    assert svg.returncode == 0 and "<svg" in svg.stdout
    rules = _rule_names(svg.stdout)
    assert {"download", "shard", "train", "grid", "evaluate", "all"} <= rules
    committed = _rule_names((repo / "images" / "rulegraph.svg").read_text())
    assert committed == rules, ("images/rulegraph.svg is stale: snakemake --rulegraph | dot -Tsvg > "
                                "images/rulegraph.svg")


def test_dag_dry_run_prints_jobs_with_reasons(tmp_path, snakemake, make_config):
    out = snakemake(tmp_path, make_config(), "-n").stdout
    assert "reason: Missing output files" in out and "rule train:" in out and "Job stats:" in out

