"""facegan: DCGANs on face datasets, as a package the Snakemake workflow drives."""

import os as _os

# TensorFlow turns its oneDNN kernels on by default only on some Intel CPUs; measured on an AMD EPYC
# (AVX2) they make the DCGAN step 2.6x faster (BENCHMARKS.md). Must be set before TF is imported;
# an explicit TF_ENABLE_ONEDNN_OPTS=0 still wins.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # keep INFO chatter (CUDA probing) out of the logs

__version__ = "0.1.0"
