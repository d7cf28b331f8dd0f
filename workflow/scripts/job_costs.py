from facegan.steps.export import job_costs
from facegan.steps.runner import run_rule

run_rule(job_costs, snakemake)
