"""The code inputs each rule declares, computed from the import graph (facegan.codedeps), and the hand-over
from a rule to its step (facegan.steps.runner)."""

import inspect
import os
import shutil
from pathlib import Path

import pytest

from facegan.codedeps import code_stamp, module_closure, script_code_files, stamp_files, step_modules


def _names(files):
    return {Path(f).relative_to(Path(f).parents[1 if Path(f).parent.name == "steps" else 0]).as_posix()
            for f in files}


def test_a_step_depends_on_its_own_imports_not_on_its_neighbours():
    shard = step_modules("facegan.steps.data:shard")
    assert {"facegan.preprocess", "facegan.tfrecord", "facegan.index", "facegan.steps.data", "facegan.steps.runner",
            "facegan", "facegan.steps"} <= shard
    # download's and data_stats's modules share steps/data.py but are not shard's
    assert not {"facegan.sources", "facegan.synthetic", "facegan.datastats", "facegan.training"} & shard


def test_train_depends_on_the_module_that_draws_its_progress_grids():
    train = step_modules("facegan.steps.train:train")
    assert {"facegan.images", "facegan.callbacks", "facegan.models", "facegan.gan", "facegan.reader"} <= train
    assert not {"facegan.pictures", "facegan.preprocess", "facegan.sources"} & train


def test_closure_follows_imports_inside_functions():
    assert "facegan.reader" in module_closure({"facegan.pictures"})  # real_vs_fake imports it lazily


def test_every_workflow_script_names_an_existing_keyword_only_step(repo):
    import importlib

    for script in sorted((repo / "workflow" / "scripts").glob("*.py")):
        text = script.read_text()
        line = next(ln for ln in text.splitlines() if ln.startswith("from facegan.steps.") and "runner" not in ln)
        module, name = line.split()[1], line.split()[3]
        func = getattr(importlib.import_module(module), name)
        params = inspect.signature(inspect.unwrap(func)).parameters.values()
        assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params), script.name
        # A sweep rule runs the single run's step on a run's own folders.
        expected = {"sweep_train": "train", "sweep_evaluate": "evaluate", "sweep_faces": "grid"}.get(script.stem,
                                                                                                   script.stem)
        assert name == expected, f"{script.name} runs step {name}"
        files = script_code_files(script)
        assert any(f.endswith(module.replace(".", "/") + ".py") for f in files)


def test_a_code_stamp_is_rewritten_only_when_the_code_it_lists_changes(repo, tmp_path, monkeypatch):
    import facegan.codedeps as codedeps

    monkeypatch.chdir(tmp_path)
    script = repo / "workflow" / "scripts" / "grid.py"
    path = Path(code_stamp("grid", script))
    assert path.as_posix() == "results/code/grid.txt"  # relative: a copied working directory keeps its inputs
    assert {str(f) for f in stamp_files(path)} == set(script_code_files(script))
    os.utime(path, (1_000_000, 1_000_000))
    code_stamp("grid", script)
    assert path.stat().st_mtime == 1_000_000  # the same code: untouched, so nothing reruns

    # an edited module (a copy of the package, so the repository stays as it is) rewrites it
    copy = tmp_path / "src" / "facegan"
    shutil.copytree(codedeps.package_dir(), copy)
    monkeypatch.setattr(codedeps, "package_dir", lambda: copy)
    codedeps.clear_caches()
    try:
        code_stamp("grid", script)
        assert path.stat().st_mtime == 1_000_000  # new file times, same content
        (copy / "images.py").write_text((copy / "images.py").read_text() + "\n# edited\n")
        before = path.read_text()
        code_stamp("grid", script)
        assert path.stat().st_mtime > 1_000_000 and path.read_text() != before
        assert [ln.split()[1] for ln in before.splitlines() if not ln.startswith("#")] == [
            ln.split()[1] for ln in path.read_text().splitlines() if not ln.startswith("#")]
    finally:
        codedeps.clear_caches()


class _Named(list):
    """The part of snakemake's Namedlist that run_rule uses."""

    def __init__(self, unnamed=(), **named):
        super().__init__([*unnamed, *named.values()])
        self._named = named

    def items(self):
        return self._named.items()


def test_run_rule_hands_over_named_files_and_params_only(tmp_path):
    from facegan.steps.runner import run_rule, step

    seen = {}

    @step
    def fake(*, generator, shards, png, rows, seed):
        seen.update(generator=generator, shards=shards, png=png, rows=rows, seed=seed)

    class Smk:
        input = _Named(["/code/a.py", "/code/b.py"], generator="g.keras", shards=_Named(["s0", "s1"]))
        output = _Named(png="out.png")
        params = _Named(rows=3, seed=7)
        log = [str(tmp_path / "x.log")]
        rule = "fake"

    run_rule(fake, Smk)
    assert seen == {"generator": "g.keras", "shards": ["s0", "s1"], "png": "out.png", "rows": 3, "seed": 7}
    assert type(seen["shards"]) is list

    class Clash(Smk):
        params = _Named(png="again", seed=1)

    with pytest.raises(ValueError, match="'png' names two"):
        run_rule(fake, Clash)


# What each rule's code inputs must never hold: an edit there must not rerun the rule (issue 19).
MUST_NOT_RUN = {
    "train": {"evaluation", "attribute_classifier", "attribute_stats", "attributes", "inception_graph", "pictures",
              "sources", "preprocess", "index"},
    "sweep_train": {"evaluation", "attribute_classifier", "attribute_stats", "attributes", "inception_graph",
                    "pictures"},
    "shard": {"attribute_stats", "attribute_classifier", "training", "gan", "models", "metrics", "evaluation"},
    "index": {"attribute_stats", "preprocess", "training", "metrics"},
    "data_stats": {"attribute_stats", "training", "metrics", "evaluation"},
    "real_reference": {"attribute_classifier", "attribute_stats", "training", "gan", "callbacks"},
    "attribute_classifier": {"evaluation", "training", "gan", "inception_graph", "metrics"},
    "export_model": {"evaluation", "training", "attribute_classifier", "metrics"},
}


@pytest.mark.parametrize("rule", sorted(MUST_NOT_RUN))
def test_a_rules_code_inputs_hold_only_what_it_runs(rule, repo):
    files = script_code_files(repo / "workflow" / "scripts" / f"{rule}.py")
    held = {Path(f).stem for f in files if "/steps/" not in f}
    assert not held & MUST_NOT_RUN[rule], f"{rule} would rerun when {sorted(held & MUST_NOT_RUN[rule])} change"
