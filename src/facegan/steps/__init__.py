"""One function per workflow rule: what each ``workflow/scripts/<rule>.py`` adapter calls.

Grouped as the rules are (``workflow/rules/<stage>.smk``): :mod:`.data` (download, index, shard,
data_stats), :mod:`.train` (train), :mod:`.export` (sample, grid, progress_gif, plot_losses,
interpolate, compare) and :mod:`.evaluate` (real_reference, evaluate). Every step is keyword-only and
its parameter names are the rule's input, output and params names, so a rule hands over exactly what
it declares (:func:`facegan.steps.runner.run_rule`). Steps take plain paths and values: they run the
same with or without Snakemake. One module per stage keeps each rule's computed code inputs
(:mod:`facegan.codedeps`) to its own stage: editing an export step never retrains.
"""
