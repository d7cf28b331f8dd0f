"""What the machine says about its GPUs, without TensorFlow: ``nvidia-smi`` and ``CUDA_VISIBLE_DEVICES``."""

from __future__ import annotations

import os
import shutil
import subprocess


def nvidia_smi(*args: str) -> str:
    """``nvidia-smi`` 's output ("" without the tool or a driver)."""
    if not shutil.which("nvidia-smi"):
        return ""
    try:
        return subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def nvidia_smi_gpus() -> list[str]:
    """The GPUs ``nvidia-smi -L`` lists, one line each."""
    return [line.strip() for line in nvidia_smi("-L").splitlines() if line.startswith("GPU ")]


def _is_device_id(entry: str) -> bool:
    return entry.isdigit() or entry.startswith(("GPU-", "MIG-"))


def visible_devices(environ=None) -> list[str] | None:
    """The device ids ``CUDA_VISIBLE_DEVICES`` lists (None when it is not set; [] when it names none).

    Read as CUDA reads it: the entries up to the first that is not an index or a GPU-/MIG- UUID. So
    ``-1``, ``""`` and ``NoDevFiles`` (what SGE sets on nodes without GPUs) assign no device.
    """
    environ = os.environ if environ is None else environ
    if "CUDA_VISIBLE_DEVICES" not in environ:
        return None
    ids = []
    for entry in (e.strip() for e in environ["CUDA_VISIBLE_DEVICES"].split(",")):
        if not _is_device_id(entry):
            break
        ids.append(entry)
    return ids


def expected_gpus(environ=None) -> str:
    """Why GPUs should be usable here, in words ("" when nothing says so): CUDA_VISIBLE_DEVICES lists
    devices (as SLURM and facegan's locks set it), or nvidia-smi lists GPUs."""
    visible = visible_devices(environ)
    if visible:
        return f"CUDA_VISIBLE_DEVICES={','.join(visible)} assigns GPU(s) to this job"
    if visible is not None:  # set to "" or -1: GPUs deliberately hidden
        return ""
    listed = nvidia_smi_gpus()
    return f"nvidia-smi lists {len(listed)} GPU(s) on this machine" if listed else ""
