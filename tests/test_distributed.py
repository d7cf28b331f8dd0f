"""MirroredStrategy over 2 logical CPU devices gives the 1-replica result for the same global batch.

This holds only if per-replica losses are scaled by the global batch, the noise is sliced from one
global draw, and BatchNorm is synchronised across replicas (all three are checked here at once).
"""

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent


def _step(python, tmp_path, replicas, *extra):
    out = tmp_path / f"r{replicas}.npz"
    python([HERE / "one_step.py", replicas, out, "dcgan", *extra], timeout=300)
    return np.load(out)


@pytest.mark.parametrize("extra", [(), ("conditioned",)], ids=["unconditioned", "conditioned"])
def test_two_replicas_match_one_replica_after_a_step(tmp_path, python, extra):
    one, two = _step(python, tmp_path, 1, *extra), _step(python, tmp_path, 2, *extra)
    assert int(one["replicas"]) == 1 and int(two["replicas"]) == 2
    n = len([k for k in one.files if k.startswith("w")])
    for i in range(n):
        assert np.array_equal(one[f"init{i}"], two[f"init{i}"]), "initial weights differ"
    moved = [np.abs(one[f"w{i}"] - one[f"init{i}"]).max() for i in range(n)]
    assert max(moved) > 1e-4, "the step changed nothing"
    for i in range(n):
        np.testing.assert_allclose(two[f"w{i}"], one[f"w{i}"], rtol=1e-4, atol=2e-6, err_msg=f"weight {i}")
    np.testing.assert_allclose(float(two["d_loss"]), float(one["d_loss"]), rtol=1e-5)
