from facegan.steps.export import conditions_sheet
from facegan.steps.runner import run_rule

run_rule(conditions_sheet, snakemake)
