"""What each rule's jobs cost: Snakemake's benchmark files summed per rule (time) and maxed (memory)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from facegan.charts import job_costs_chart
from facegan.files import atomic_output


def _number(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def rule_of(path: str | Path) -> str:
    """``results/benchmarks/train.tsv`` -> train; ``results/benchmarks/shard/00001.tsv`` -> shard."""
    p = Path(path)
    return p.parent.name if p.parent.name != "benchmarks" else p.stem


def summarize(benchmarks: list[str], out_tsv: str | Path, out_png: str | Path) -> list[dict]:
    per_rule: dict[str, dict] = defaultdict(lambda: {"jobs": 0, "seconds": 0.0, "max_rss_mb": 0.0, "cpu_seconds": 0.0})
    for path in benchmarks:
        with open(path, newline="") as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        r = per_rule[rule_of(path)]
        r["jobs"] += 1
        r["seconds"] += _number(row.get("s"))
        r["cpu_seconds"] += _number(row.get("cpu_time"))
        r["max_rss_mb"] = max(r["max_rss_mb"], _number(row.get("max_rss")))
    rows = [{"rule": rule, **v} for rule, v in sorted(per_rule.items(), key=lambda kv: -kv[1]["seconds"])]
    Path(out_tsv).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_tsv) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["rule", "jobs", "seconds", "cpu_seconds", "max_rss_mb"])
        for r in rows:
            w.writerow([r["rule"], r["jobs"], f"{r['seconds']:.1f}", f"{r['cpu_seconds']:.1f}",
                        f"{r['max_rss_mb']:.0f}"])
    job_costs_chart(rows, out_png)
    return rows
