from facegan.steps.export import export_model
from facegan.steps.runner import run_rule

run_rule(export_model, snakemake)
