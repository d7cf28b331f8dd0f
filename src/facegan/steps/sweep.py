"""The sweep's own step: compare the runs (each run trains and evaluates through the usual steps)."""

from __future__ import annotations

from facegan.steps.runner import step


@step
def sweep_summary(*, metrics: list[str], histories: list[str], benchmarks: list[str], faces: list[str],
                  summary: str, sheet: str, chart: str, runs: list[str], overrides: dict) -> None:
    """results/sweep/summary.csv, the faces sheet and the chart (inputs in the order of ``runs``)."""
    from facegan.sweep import summarize

    summarize(list(runs), overrides=dict(overrides), metrics=list(metrics), histories=list(histories),
              benchmarks=list(benchmarks), faces=list(faces), summary=summary,
              sheet=sheet, chart=chart)
