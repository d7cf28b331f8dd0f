"""Workflow hygiene, as CI checks it: snakemake --lint, snakefmt, the rule graph renders."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def _run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300, **kw)


def test_snakemake_lint_reports_nothing():
    proc = _run(sys.executable, "-m", "snakemake", "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_snakefmt_check_passes():
    snakefmt = shutil.which("snakefmt") or str(REPO / ".venv" / "bin" / "snakefmt")
    proc = _run(snakefmt, "--check", "Snakefile", "workflow/rules")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rulegraph_renders_with_graphviz():
    if not shutil.which("dot"):
        if os.environ.get("FACEGAN_REQUIRE_SYSTEM_TOOLS"):
            pytest.fail("graphviz (dot) is missing")
        pytest.skip("graphviz not installed (apt-get install graphviz)")
    graph = _run(sys.executable, "-m", "snakemake", "--rulegraph")
    assert graph.returncode == 0 and "digraph" in graph.stdout
    svg = subprocess.run(["dot", "-Tsvg"], input=graph.stdout, capture_output=True, text=True, timeout=60)
    assert svg.returncode == 0 and "<svg" in svg.stdout
    for rule in ("download", "shard", "train", "grid", "evaluate"):
        assert f">{rule}<" in svg.stdout
    assert (REPO / "images" / "rulegraph.svg").is_file()


def test_dag_dry_run_prints_jobs_with_reasons(tmp_path):
    from conftest import run_snakemake, tiny_config

    out = run_snakemake(tmp_path, tiny_config(), "-n").stdout
    assert "reason: Missing output files" in out and "rule train:" in out and "Job stats:" in out
