"""One training job as the train rule runs it, from a JSON spec written by conftest.run_training.

Optional test callbacks: ``sleep_per_step`` slows every step down (so a test can kill the job at a
chosen moment), ``poison_after_epoch`` sets a discriminator weight to NaN after that epoch (0-based).
"""

import json
import sys

from facegan.runtime import configure_tensorflow

configure_tensorflow()
spec = json.load(open(sys.argv[1]))
callbacks = []
if spec["sleep_per_step"] or spec["poison_after_epoch"] is not None:
    import time

    import keras
    import numpy as np

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(spec["sleep_per_step"])

    class Poison(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == spec["poison_after_epoch"]:
                v = self.model.discriminator.trainable_variables[0]
                v.assign(np.full(v.shape, np.nan, "float32"))

    callbacks = [Slow()] if spec["sleep_per_step"] else [Poison()]

from facegan.steps.train import train  # noqa: E402

train(**spec["step"], extra_callbacks=callbacks, log_file=spec["log_file"])
