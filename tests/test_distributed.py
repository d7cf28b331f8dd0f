"""MirroredStrategy over 2 logical CPU devices gives the 1-replica result for the same global batch.

This holds only if per-replica losses are scaled by the global batch, the noise is sliced from one
global draw, and BatchNorm is synchronised across replicas (all three are checked here at once).
"""

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent


VARIANTS = ("plain", "conditioned", "augment+ema")


@pytest.fixture(scope="module")
def steps(tmp_path_factory, python):
    """replicas -> variant -> the saved step: each replica count in one process, every variant in it."""
    out = {}
    for replicas in (1, 2):
        folder = tmp_path_factory.mktemp(f"r{replicas}")
        python([HERE / "one_step.py", replicas, folder, *VARIANTS], timeout=600)
        out[replicas] = {v: np.load(folder / f"{v}.npz") for v in VARIANTS}
    return out


@pytest.mark.parametrize("variant", ["plain", "conditioned"])
def test_two_replicas_match_one_replica_after_a_step(steps, variant):
    one, two = steps[1][variant], steps[2][variant]
    assert int(one["replicas"]) == 1 and int(two["replicas"]) == 2
    n = len([k for k in one.files if k.startswith("w")])
    for i in range(n):
        assert np.array_equal(one[f"init{i}"], two[f"init{i}"]), "initial weights differ"
    moved = [np.abs(one[f"w{i}"] - one[f"init{i}"]).max() for i in range(n)]
    assert max(moved) > 1e-4, "the step changed nothing"
    for i in range(n):
        np.testing.assert_allclose(two[f"w{i}"], one[f"w{i}"], rtol=1e-4, atol=2e-6, err_msg=f"weight {i}")
    np.testing.assert_allclose(float(two["d_loss"]), float(one["d_loss"]), rtol=1e-5)


def test_augmentation_and_ema_give_the_same_step_on_one_and_two_replicas(steps):
    one, two = steps[1]["augment+ema"], steps[2]["augment+ema"]
    names = [k for k in one.files if k.startswith("w") or k.startswith("ema")]
    assert any(k.startswith("ema") for k in names)
    for k in names:
        np.testing.assert_allclose(two[k], one[k], rtol=1e-4, atol=2e-6, err_msg=k)
