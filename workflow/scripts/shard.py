from facegan.steps.data import shard
from facegan.steps.runner import run_rule

run_rule(shard, snakemake, shard=int(snakemake.wildcards.shard))
