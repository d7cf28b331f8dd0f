from facegan.steps.export import progress_gif
from facegan.steps.runner import run_rule

run_rule(progress_gif, snakemake)
