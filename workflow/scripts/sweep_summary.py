from facegan.steps.runner import run_rule
from facegan.steps.sweep import sweep_summary

run_rule(sweep_summary, snakemake)
