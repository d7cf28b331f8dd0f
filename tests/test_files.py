"""Output files: atomic, never through a planted link; the training state's fingerprint (issue 22: 2, 3)."""

import json
import os

import numpy as np
import pytest

from facegan.errors import FaceganError
from facegan.files import atomic_output, open_append, write_json
from facegan.tfrecord import TFRecordWriter
from facegan.train_state import TrainingState


@pytest.fixture
def outside(tmp_path):
    target = tmp_path / "outside" / "precious.txt"
    target.parent.mkdir()
    target.write_text("keep me")
    work = tmp_path / "work"
    work.mkdir()
    return work, target


def test_a_link_planted_at_the_npz_temporary_name_is_not_followed(outside):
    work, target = outside
    out = work / "real_reference.npz"
    (work / "real_reference.npz.part.npz").symlink_to(target)
    with atomic_output(out) as tmp:
        np.savez(tmp, a=np.arange(3))
    assert target.read_text() == "keep me"
    assert out.is_file() and not out.is_symlink() and np.load(out)["a"].tolist() == [0, 1, 2]


def test_a_link_planted_at_the_shard_temporary_name_is_not_followed(outside):
    work, target = outside
    out = work / "train-00001-of-00002.tfrecord"
    (work / "train-00001-of-00002.tfrecord.part").symlink_to(target)
    with TFRecordWriter(out) as w:
        w.write(b"record")
    assert target.read_text() == "keep me" and out.is_file() and not out.is_symlink()
    assert not (work / "train-00001-of-00002.tfrecord.part").exists()


def test_a_link_at_the_output_itself_is_replaced_not_written_through(outside):
    work, target = outside
    out = work / "metrics.json"
    out.symlink_to(target)
    write_json(out, {"x": 1})
    assert target.read_text() == "keep me" and not out.is_symlink() and json.loads(out.read_text()) == {"x": 1}


def test_appending_refuses_a_planted_link(outside):
    work, target = outside
    (work / "steps.csv").symlink_to(target)
    with pytest.raises(OSError):
        open_append(work / "steps.csv")
    assert target.read_text() == "keep me"


def test_a_failed_write_leaves_neither_output_nor_temporary_file(tmp_path):
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "a.png") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_outputs_get_the_umasks_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        write_json(tmp_path / "a.json", {})
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640


def test_a_directory_in_place_of_the_output_is_named(tmp_path):
    (tmp_path / "grid.png").mkdir()
    with pytest.raises(FaceganError, match="grid.png is a directory"):
        write_json(tmp_path / "grid.png", {})
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def _state_with_checkpoint(tmp_path, fingerprint):
    state = TrainingState(tmp_path / "train_state", fingerprint)
    state.prepare()
    (state.ckpt_dir / "ckpt-8.index").write_bytes(b"index")
    return state


def test_the_fingerprint_is_written_only_when_it_changes(tmp_path):
    state = _state_with_checkpoint(tmp_path, {"seed": 0})
    before = state.fingerprint_path.stat().st_mtime_ns, state.fingerprint_copy.stat().st_mtime_ns
    TrainingState(state.dir, {"seed": 0}).prepare()
    assert (state.fingerprint_path.stat().st_mtime_ns, state.fingerprint_copy.stat().st_mtime_ns) == before


@pytest.mark.parametrize("damage", [b"", b'{"seed": 0, "lat'])
def test_a_damaged_fingerprint_beside_checkpoints_is_rebuilt_from_its_copy(tmp_path, damage, caplog):
    state = _state_with_checkpoint(tmp_path, {"seed": 0})
    state.fingerprint_path.write_bytes(damage)
    TrainingState(state.dir, {"seed": 0}).prepare()
    assert (state.ckpt_dir / "ckpt-8.index").exists() and not list(tmp_path.glob("train_state.stale-*"))
    assert json.loads(state.fingerprint_path.read_text()) == {"seed": 0}
    assert "unreadable; using its copy" in caplog.text


def test_both_fingerprints_unreadable_beside_checkpoints_stop_the_run_and_keep_everything(tmp_path):
    state = _state_with_checkpoint(tmp_path, {"seed": 0})
    state.fingerprint_path.write_bytes(b"")
    state.fingerprint_copy.write_bytes(b"{")
    with pytest.raises(FaceganError, match="unreadable or missing beside the checkpoints.*Restore fingerprint.json"):
        TrainingState(state.dir, {"seed": 0}).prepare()
    assert (state.ckpt_dir / "ckpt-8.index").exists() and not list(tmp_path.glob("train_state.stale-*"))


def test_a_fingerprint_that_differs_still_moves_the_state_aside(tmp_path):
    state = _state_with_checkpoint(tmp_path, {"seed": 0})
    TrainingState(state.dir, {"seed": 1}).prepare()
    (aside,) = tmp_path.glob("train_state.stale-*")
    assert (aside / "checkpoints" / "ckpt-8.index").exists()
    assert json.loads(state.fingerprint_path.read_text()) == {"seed": 1}
