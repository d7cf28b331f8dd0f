"""Training jobs as the train rule runs them, from a JSON spec written by conftest.run_training.

``python train_job.py SPEC`` runs one job. ``python train_job.py --serve SOCKET`` is the test session's job
server: it imports TensorFlow and facegan's training code once (importing starts no TensorFlow runtime),
then forks one child per job, so a job costs its training, not 8 s of imports. Each child is a fresh
process as far as TensorFlow is concerned: devices, threads and precision are set up by the job itself.

Optional test callbacks: ``sleep_per_step`` slows every step down (so a test can kill the job at a
chosen moment), ``poison_after_epoch`` sets a discriminator weight to NaN after that epoch (0-based).
"""

import json
import os
import socket
import sys
import threading
import traceback

from facegan.runtime import configure_tensorflow


def test_callbacks(spec: dict) -> list:
    if not (spec["sleep_per_step"] or spec["poison_after_epoch"] is not None):
        return []
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

    return [Slow()] if spec["sleep_per_step"] else [Poison()]


def run_job(spec_path: str) -> None:
    from facegan.steps.train import train

    spec = json.load(open(spec_path))
    train(**spec["step"], extra_callbacks=test_callbacks(spec), log_file=spec["log_file"])


def _child(request: dict) -> None:
    """In the forked child: the job's own output files and environment, then the job; never returns."""
    code = 0
    try:
        for fd, name in ((1, request["stdout"]), (2, request["stderr"])):
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, fd)
            os.close(out)
        os.environ.update(request.get("env_update", {}))
        run_job(request["spec"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported like an uncaught exception in a process of its own
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _report(pid: int, conn: socket.socket) -> None:
    _, status = os.waitpid(pid, 0)
    try:
        conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    finally:
        conn.close()


def serve(path: str) -> None:
    configure_tensorflow()
    import keras  # noqa: F401 - preloaded for the children
    import tensorflow  # noqa: F401

    import facegan.steps.train  # noqa: F401
    import facegan.training  # noqa: F401

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        request = json.loads(conn.makefile().readline())
        pid = os.fork()
        if pid == 0:
            server.close()
            conn.close()
            _child(request)
        conn.sendall(f"{pid}\n".encode())
        threading.Thread(target=_report, args=(pid, conn), daemon=True).start()


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve(sys.argv[2])
    else:
        configure_tensorflow()
        run_job(sys.argv[1])
