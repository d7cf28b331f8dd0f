from facegan.steps.export import plot_losses
from facegan.steps.runner import run_rule

run_rule(plot_losses, snakemake)
