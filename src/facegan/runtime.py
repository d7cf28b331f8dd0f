"""Process-wide settings, applied by entry points only (workflow steps, the command line, benchmarks).

Nothing in facegan changes global state at import. The few settings that must be global are set
here, explicitly, by the code that owns the process; :func:`dtype_policy` sets Keras's global
precision policy for a block and restores the caller's afterwards.
"""

from __future__ import annotations

import contextlib
import os

# Environment read by TensorFlow when it is first imported. oneDNN's kernels: TensorFlow 2.21 turns
# them on by default on x86 Linux ("oneDNN custom operations are on"); pinned here so every entry point
# runs the kernels the benchmarks measured. A value the user set wins.
TENSORFLOW_ENV = {
    "TF_ENABLE_ONEDNN_OPTS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "1",  # keep INFO chatter (CUDA probing) out of the logs
}


def configure_tensorflow(environ: os._Environ | dict | None = None) -> None:
    """Set TensorFlow's start-up environment (before ``import tensorflow``; user values win)."""
    environ = os.environ if environ is None else environ
    for key, value in TENSORFLOW_ENV.items():
        environ.setdefault(key, value)


@contextlib.contextmanager
def dtype_policy(name: str):
    """Keras's global dtype policy set to ``name`` inside the block, the caller's restored after it."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
