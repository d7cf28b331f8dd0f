import os
from pathlib import Path

import pytest

from facegan.index import DatasetIndexError, build_index, read_index, write_index
from facegan.preprocess import PreprocessOptions, write_shard


@pytest.fixture
def images(face_jpeg):
    def write(root, names):
        for name in names:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(face_jpeg(1))

    return write


def test_sorted_order_limit_and_contiguous_balanced_shards(tmp_path, images):
    images(tmp_path, [f"b/{i:03d}.jpg" for i in range(10)] + [f"a/{i:03d}.PNG" for i in range(5)] + ["notes.txt"])
    entries, counts = build_index(tmp_path, limit=12, shards=4)
    assert counts == {"found": 15, "partition_file": None, "in_split": 15, "selected": 12,
                      "repeated_folders_skipped": [], "attribute_table": None, "attribute_table_sha256": None,
                      "copies_skipped": [], "archive_members_skipped": []}
    assert [e.path.split(str(tmp_path) + "/")[1] for e in entries][:6] == [
        "a/000.PNG", "a/001.PNG", "a/002.PNG", "a/003.PNG", "a/004.PNG", "b/000.jpg"]
    assert [e.shard for e in entries] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_more_shards_than_images_leaves_empty_shards(tmp_path, images):
    images(tmp_path, ["1.jpg", "2.jpg"])
    entries, _ = build_index(tmp_path, shards=5)
    assert sorted({e.shard for e in entries}) == [0, 2]


def test_split_uses_celeba_partition_txt(tmp_path, images):
    images(tmp_path, [f"img/{i:06d}.jpg" for i in range(1, 7)])
    (tmp_path / "list_eval_partition.txt").write_text("".join(f"{i:06d}.jpg {(i - 1) // 2}\n" for i in range(1, 7)))
    entries, counts = build_index(tmp_path, split="val")
    assert [e.path[-10:] for e in entries] == ["000003.jpg", "000004.jpg"]
    assert {e.split for e in entries} == {"val"}


def test_split_without_partition_file_is_a_clear_error(tmp_path, images):
    images(tmp_path, ["1.jpg"])
    with pytest.raises(DatasetIndexError, match="dataset.split: all"):
        build_index(tmp_path, split="train")


def test_no_images_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetIndexError, match="no image files"):
        build_index(tmp_path)


def test_index_round_trip(tmp_path, images):
    images(tmp_path / "d", ["1.jpg", "2.jpg", "3.jpg"])
    entries, _ = build_index(tmp_path / "d", shards=2)
    write_index(entries, tmp_path / "index.tsv")
    assert read_index(tmp_path / "index.tsv") == entries
    assert read_index(tmp_path / "index.tsv", shard=1) == [e for e in entries if e.shard == 1]


OPTS_16 = PreprocessOptions(resolution=32, crop=0, min_side=16)


def test_a_file_name_that_is_not_utf8_is_indexed_and_kept(tmp_path, face_jpeg):
    root = tmp_path / "d"
    root.mkdir()
    (root / "ok.jpg").write_bytes(face_jpeg(1))
    with open(os.path.join(os.fsencode(root), b"caf\xe9.jpg"), "wb") as f:
        f.write(face_jpeg(2))
    entries, counts = build_index(root)
    assert counts["found"] == 2
    write_index(entries, tmp_path / "index.tsv")
    back = read_index(tmp_path / "index.tsv")
    assert back == entries
    report = write_shard(back, 0, tmp_path / "s.tfrecord", opts=OPTS_16)
    assert report.images == 2 and not report.skipped
    from facegan.datastats import collect

    collect(counts, [report.to_json()], {}, manifest_path=tmp_path / "manifest.tsv", stats_path=tmp_path / "stats.json")
    assert b"caf\xe9.jpg" in (tmp_path / "manifest.tsv").read_bytes()


def test_a_symlink_loop_does_not_multiply_the_data_set(tmp_path, face_jpeg):
    root = tmp_path / "d"
    (root / "sub").mkdir(parents=True)
    for i in range(10):
        (root / "sub" / f"{i:06d}.jpg").write_bytes(face_jpeg(i))
    (root / "sub" / "loop").symlink_to("..")
    (root / "again").symlink_to("sub")  # a second link to a folder already walked
    entries, counts = build_index(root)
    assert counts["found"] == 10 and len(entries) == 10
    assert sorted(counts["repeated_folders_skipped"]) == ["again", "sub/loop"]


def test_partition_file_inside_a_linked_folder_is_found(tmp_path, face_jpeg):
    real = tmp_path / "celeba"
    real.mkdir()
    for i in (1, 2):
        (real / f"{i:06d}.jpg").write_bytes(face_jpeg(i))
    (real / "list_eval_partition.csv").write_text("image_id,partition\n000001.jpg,0\n000002.jpg,2\n")
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "images").symlink_to(real)
    entries, _ = build_index(tmp_path / "resources", split="test")
    assert [Path(e.path).name for e in entries] == ["000002.jpg"]
