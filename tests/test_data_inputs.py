"""Data a user hands in that facegan must read, or refuse in one line (issue 22: 4, 6, 10, 13)."""

import io
import json
import os
import tarfile
import zipfile
from collections import namedtuple

import pytest
from conftest import face_jpeg_bytes

import facegan.sources as sources
from facegan.attributes import CELEBA_ATTRIBUTES, read_table, write_attribute_files
from facegan.errors import FaceganError
from facegan.index import build_index, read_partitions
from facegan.sources import SourceError, fetch, unpack_archive
from facegan.tables import TableError

CELEBA_NAMES = list(CELEBA_ATTRIBUTES)


def celeba_csv(sep=",", names=CELEBA_NAMES, values=40):
    rows = [sep.join(["image_id", *names])]
    rows += [sep.join([f"{i:06d}.jpg", *(["1", "-1"] * 20)[:values]]) for i in range(1, 4)]
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
@pytest.mark.parametrize("sep", [",", ";", "\t", "  "])
def test_attribute_tables_in_common_encodings_and_separators_are_read(tmp_path, encoding, sep):
    path = tmp_path / "list_attr_celeba.csv"
    path.write_bytes(celeba_csv(sep).encode(encoding))
    attrs, values = read_table(path)
    assert [a.name for a in attrs] == CELEBA_NAMES and values["000002.jpg"][:2] == [1, 0]


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (celeba_csv().replace("Young", "Jeune\xe9").encode("latin-1"), "is not UTF-8 or UTF-16 text.*save it as UTF-8"),
    (celeba_csv(names=CELEBA_NAMES[:39]).encode(), "has 40 values for 39 names"),
    (b"image_id\n000001.jpg\n", "the header names no attributes"),
])
def test_unreadable_attribute_tables_are_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "list_attr_celeba.csv"
    path.write_bytes(content)
    with pytest.raises(TableError, match=message) as err:
        write_attribute_files(str(path), [str(tmp_path / "000001.jpg")], out_tsv=tmp_path / "a.tsv",
                              out_json=tmp_path / "a.json")
    assert isinstance(err.value, FaceganError) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_partition_list_in_utf16_is_read(tmp_path):
    path = tmp_path / "list_eval_partition.csv"
    path.write_bytes("image_id,partition\n000001.jpg,0\n000002.jpg,2\n".encode("utf-16"))
    assert read_partitions(path) == {"000001.jpg": "train", "000002.jpg": "test"}


def _tar_with_special_members(path):
    with tarfile.open(path, "w") as tf:
        for name, kind in (("img/fifo", tarfile.FIFOTYPE), ("img/tty", tarfile.CHRTYPE)):
            info = tarfile.TarInfo(name)
            info.type = kind
            tf.addfile(info)
        for i in (1, 2):
            data = face_jpeg_bytes(i)
            info = tarfile.TarInfo(f"img/{i:06d}.jpg")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_devices_and_fifos_in_a_tar_are_skipped_and_listed_in_stats(tmp_path):
    archive = _tar_with_special_members(tmp_path / "faces.tar")
    out = fetch("local", tmp_path / "resources" / "faces", path=str(archive))
    assert sorted(p.name for p in (out / "img").iterdir()) == ["000001.jpg", "000002.jpg"]
    entries, counts = build_index(out)
    assert len(entries) == 2 and counts["archive_members_skipped"] == ["img/fifo", "img/tty"]


def test_an_archive_that_inflates_far_beyond_its_size_is_refused_before_unpacking(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "RATIO_FROM", 1 << 20)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("img/000001.jpg", b"\0" * (8 << 20))
    with pytest.raises(SourceError, match=r"bomb.zip: its members declare 8 MiB, .* times the archive's size"):
        unpack_archive(bomb, tmp_path / "out")
    assert not list((tmp_path / "out").iterdir())


def test_an_archive_larger_than_the_free_space_is_refused_naming_its_declared_size(tmp_path, monkeypatch):
    archive = tmp_path / "faces.tar"
    _tar_with_special_members(archive)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(sources.shutil, "disk_usage", lambda p: usage(1 << 40, 1 << 40, 100 << 20))
    with pytest.raises(SourceError, match=r"faces.tar: its members declare 0 MiB but .* has 100 MiB free"):
        unpack_archive(archive, tmp_path / "out")
    assert not list((tmp_path / "out").iterdir())


def test_a_flat_and_a_nested_copy_of_the_same_images_are_kept_once(tmp_path):
    archive = tmp_path / "celeba.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(1, 6):
            zf.writestr(f"img_align_celeba/{i:06d}.jpg", face_jpeg_bytes(i))
            zf.writestr(f"img_align_celeba/img_align_celeba/{i:06d}.jpg", face_jpeg_bytes(i))
        zf.writestr("img_align_celeba/other/000001.jpg", face_jpeg_bytes(99))  # same name, another face: kept
    out = fetch("local", tmp_path / "resources" / "celeba", path=str(archive))
    entries, counts = build_index(out)
    assert len(entries) == 6 and len(counts["copies_skipped"]) == 5
    assert all(c.startswith("img_align_celeba/img_align_celeba/") for c in counts["copies_skipped"])
    assert json.loads(json.dumps(counts))["copies_skipped"] == counts["copies_skipped"]
    assert os.path.exists(out / "facegan_source.json")
