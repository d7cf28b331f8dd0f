"""Which facegan source files a workflow step's results depend on, from the import graph.

Snakemake's code rerun trigger watches only a rule's ``script:`` file, not the modules it imports, so
each rule declares the facegan files its step can run as inputs. They are computed here, not listed
by hand (hand lists drift): the step function's own imports, the imports at the top of its module,
then every facegan module those import, transitively, counting imports anywhere in a module (inside
functions too, since facegan imports TensorFlow-heavy modules lazily). Package ``__init__`` files are
included, since importing a submodule runs them. The graph is read with ``ast`` from the source files,
without importing anything, so it costs milliseconds when Snakemake parses the workflow.

A rule's code input is one small file, its *code stamp* (:func:`code_stamp`): the list of those files
with their sha256, rewritten only when one of them changes. Snakemake then prints one readable path per
job instead of a dozen absolute ones, reruns a rule when its code's content changed (not when a file
was only touched), and a working directory copied elsewhere keeps the same inputs.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

from facegan.files import sha256_file, write_text

PACKAGE = "facegan"


@functools.cache
def package_dir() -> Path:
    return Path(importlib.util.find_spec(PACKAGE).origin).parent


def module_file(module: str) -> Path | None:
    """The source file of a facegan module (``facegan.steps.data``), or None if it is not one."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir().joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(nodes, current: str) -> set[str]:
    """facegan modules named by the import statements among ``nodes`` (walked recursively)."""
    found = set()
    is_package = module_file(current).name == "__init__.py"
    package = current if is_package else current.rsplit(".", 1)[0]
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                found.update(alias.name for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (sub.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in sub.names)  # "from facegan import x"
    return {m for m in found if module_file(m)}


@functools.cache
def _parse(module: str) -> ast.Module:
    return ast.parse(module_file(module).read_text(), filename=str(module_file(module)))


@functools.cache
def _module_imports(module: str) -> frozenset[str]:
    """The facegan modules ``module`` imports anywhere in its source (each module is walked once per parse of
    the workflow, not once per rule that reaches it)."""
    return frozenset(_imported_modules(_parse(module).body, module))


def clear_caches() -> None:
    """Forget the sources read so far (for a caller that edits them or moves the package)."""
    _parse.cache_clear()
    _module_imports.cache_clear()


def _with_parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def module_closure(roots: set[str]) -> set[str]:
    """``roots`` and every facegan module they import, transitively, with their packages."""
    seen: set[str] = set()
    todo = [m for root in roots for m in _with_parents(root) if module_file(m)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for imported in _module_imports(module):
            todo.extend(m for m in _with_parents(imported) if module_file(m) and m not in seen)
    return seen


def step_modules(step: str) -> set[str]:
    """The facegan modules the step function ``step`` ("facegan.steps.data:shard") can import."""
    module, func = step.split(":")
    tree = _parse(module)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == func]
    if not defs:
        raise ValueError(f"{module} has no function {func!r}")
    top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    # The step's own module counts as a file, but only this function's imports are followed (not
    # those of the other steps that share the module).
    return {module} | module_closure(_imported_modules(defs + top_level, module) | (_with_parents(module) - {module}))


def script_code_files(script: str | Path) -> list[str]:
    """The code files of what a workflow script imports from facegan: for each imported function
    its :func:`step_modules`, for anything else (a module, a class) its module's closure."""
    tree = ast.parse(Path(script).read_text(), filename=str(script))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
            functions = {n.name for n in _parse(node.module).body if isinstance(n, ast.FunctionDef)}
            for alias in node.names:
                if alias.name in functions:
                    modules |= step_modules(f"{node.module}:{alias.name}")
                else:
                    modules |= module_closure({node.module})
        elif isinstance(node, ast.Import):
            modules |= module_closure({a.name for a in node.names if a.name.split(".")[0] == PACKAGE})
    return sorted(str(module_file(m)) for m in modules)


STAMP_DIR = "results/code"
STAMP_HEADER = ("# The facegan source files that rule {rule} runs (from the import graph), with their sha256.\n"
                "# Rewritten when one of them changes, which reruns the rule; written when the workflow is parsed.\n")


def stamp_text(rule: str, files: list[str]) -> str:
    root = package_dir().parent
    lines = (f"{sha256_file(f)}  {Path(f).relative_to(root).as_posix()}\n" for f in files)
    return STAMP_HEADER.format(rule=rule) + "".join(lines)


def stamp_files(path: str | Path) -> list[Path]:
    """The source files a code stamp lists, as paths of the installed package."""
    root = package_dir().parent
    return [root / line.split("  ", 1)[1] for line in Path(path).read_text().splitlines()
            if line and not line.startswith("#")]


def code_stamp(rule: str, script: str | Path, folder: str | Path = STAMP_DIR) -> str:
    """The path of ``rule``'s code stamp (relative to the working directory), written first if it is
    missing or its content would change."""
    path = Path(folder) / f"{rule}.txt"
    text = stamp_text(rule, script_code_files(script))
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text)
    return path.as_posix()
