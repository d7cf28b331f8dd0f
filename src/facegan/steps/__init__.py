"""One function per workflow rule: what each ``workflow/scripts/<rule>.py`` adapter calls.

Grouped as the rules are (``workflow/rules/<stage>.smk``): :mod:`.data` (download, index, shard,
data_stats), :mod:`.train` (train; sweep_train runs it too), :mod:`.export` (sample, grid, progress_gif,
plot_losses, plot_swd, plot_attributes, interpolate, compare, job_costs, export_model), :mod:`.evaluate`
(real_reference, attribute_classifier, evaluate) and :mod:`.sweep` (sweep_summary; a sweep's faces and
evaluation run grid and evaluate). Every step is keyword-only and its parameter names are the rule's
input, output and params names, so a rule hands over exactly what
it declares (:func:`facegan.steps.runner.run_rule`). Steps take plain paths and values: they run the
same with or without Snakemake. One module per stage keeps each rule's computed code inputs
(:mod:`facegan.codedeps`) to its own stage: editing an export step never retrains.
"""
