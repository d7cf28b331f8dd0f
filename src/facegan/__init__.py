"""facegan: DCGANs on face datasets, as a package the Snakemake workflow drives.

Importing facegan changes nothing outside it: the entry points that start TensorFlow (the workflow
steps, the ``facegan`` command, the benchmarks) call :func:`facegan.runtime.configure_tensorflow`.
"""

__version__ = "0.1.0"
