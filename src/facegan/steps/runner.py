"""How a step runs: TensorFlow's environment, logging to the rule's log, user errors as one line.

:func:`step` wraps every step function: the ``log`` keyword sends facegan's log records to that file
and to stderr, and a :class:`~facegan.errors.FaceganError` (bad input or configuration) ends the
process with its message as one ERROR line and exit status 1 instead of a traceback.
:func:`run_rule` is all a workflow script does: call its step with the rule's named input, output
and params. In a workflow job the terminal shows only facegan's own records and errors; TensorFlow's
C++ start-up lines and everything else written to the process's stderr go to the rule's log.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import sys

from facegan.errors import FaceganError
from facegan.logs import native_stderr_to, setup_logging
from facegan.runtime import configure_tensorflow

log = logging.getLogger("facegan.steps")


def step(func):
    """Wrap a step function (see the module's docstring)."""

    @functools.wraps(func)
    def wrapper(*, log_file: str | None = None, native_to_log: bool = False, **kwargs):
        configure_tensorflow()
        terminal = native_stderr_to(log_file) if native_to_log and log_file else None
        setup_logging(log_file, terminal=terminal)
        if os.environ.get("SLURM_JOB_ID"):
            log.info("%s runs as SLURM job %s on %s", func.__name__, os.environ["SLURM_JOB_ID"],
                     os.environ.get("SLURMD_NODENAME", "?"))
        try:
            return func(**kwargs)
        except FaceganError as exc:
            log.error("%s", exc)
            sys.exit(1)
        except Exception as exc:
            message = user_error_message(exc)
            if message is None:  # a bug: the traceback goes to the rule's log too, not only to the terminal
                log.exception("%s failed unexpectedly (a bug; please report it with this log)", func.__name__)
                raise
            log.error("%s", message)
            sys.exit(1)
        finally:
            log.debug("facegan modules loaded: %s", " ".join(sorted(m for m in sys.modules
                                                                    if m == "facegan" or m.startswith("facegan."))))

    return wrapper


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# Other errors of the machine that the user can fix, with what to do
FIXABLE = {
    errno.EROFS: "The file system is mounted read-only: remount it writable, or run from a writable directory",
    errno.EMFILE: "This process has too many files open: raise the limit (ulimit -n 4096) and run again",
    errno.ENFILE: "The system has too many files open: close other programs or raise fs.file-max, and run again",
    errno.ENAMETOOLONG: "A path is too long for the file system: use a shorter working directory or dataset.name",
}


def user_error_message(exc: BaseException) -> str | None:
    """One line for errors the user's machine causes rather than facegan (a full disk or quota, denied
    permission); None for anything else. TensorFlow and h5py report a full disk in their own exception
    types, so their messages are read too."""
    text = str(exc)
    filename = getattr(exc, "filename", None)
    where = f" writing {filename}" if filename else ""
    if (isinstance(exc, OSError) and exc.errno in NO_SPACE) or "No space left on device" in text \
            or "Disk quota exceeded" in text:
        return (f"no space left on the device{where} ({type(exc).__name__}: {text.splitlines()[0][:200]}). Free "
                f"some space (df -h shows where) and run again: finished outputs and training checkpoints are kept")
    if isinstance(exc, PermissionError):
        return f"permission denied{where}: {exc.strerror}. Check who owns that path and its permissions"
    if isinstance(exc, OSError) and exc.errno in FIXABLE:
        return f"{exc.strerror}{where or (' at ' + str(filename) if filename else '')}. {FIXABLE[exc.errno]}"
    if "Read-only file system" in text:
        return (f"a read-only file system{where} ({type(exc).__name__}: {text.splitlines()[0][:200]}). "
                f"{FIXABLE[errno.EROFS]}")
    return None


def hide_gpus() -> None:
    """For steps that must never take a GPU from training (export, evaluation): call before TensorFlow starts."""
    os.environ["CUDA_VISIBLE_DEVICES"] = ""


def rule_arguments(smk) -> dict:
    """The rule's named input, output and params as keyword arguments (lists as plain lists).

    Unnamed inputs (the code files every rule declares) are not passed on. A name used twice (an
    input and a param, say) is a workflow bug and raises.
    """
    kwargs: dict = {}
    for group in (smk.input, smk.output, smk.params):
        for name, value in group.items():
            if name in kwargs:
                raise ValueError(f"rule {smk.rule}: {name!r} names two of its inputs/outputs/params")
            kwargs[name] = list(value) if isinstance(value, list) else value
    return kwargs


def run_rule(step_function, smk, **extra) -> None:
    """Call ``step_function`` with the rule's named files and params, its log, and ``extra``."""
    step_function(**rule_arguments(smk), **extra, log_file=smk.log[0] if smk.log else None, native_to_log=True)
