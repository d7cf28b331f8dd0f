import io
import tarfile
import zipfile

import pytest

from facegan import sources
from facegan.index import build_index
from facegan.sources import KaggleCredentialsError, SourceError, fetch, kaggle_credentials_present, unpack_downloads


def test_local_zip_in_kaggle_layout_is_unpacked_and_indexed(tmp_path, celeba_zip):
    out = fetch("local", tmp_path / "resources" / "celeba", path=str(celeba_zip))
    assert (out / "img_align_celeba" / "img_align_celeba" / "000001.jpg").is_file()
    assert (out / sources.MARKER).is_file()
    entries, counts = build_index(out, split="train", shards=2)
    assert counts["found"] == 12 and len(entries) == 8
    assert [e.path.rsplit("/", 1)[1] for e in entries] == [f"{i:06d}.jpg" for i in range(1, 9)]


def test_local_flat_folder_is_linked_not_copied(tmp_path, face_jpeg):
    folder = tmp_path / "Celebrity_Faces_Dataset"
    folder.mkdir()
    for i in (3, 1, 2):
        (folder / f"{i:06d}.jpg").write_bytes(face_jpeg(i))
    out = fetch("local", tmp_path / "resources" / "faces", path=str(folder))
    assert (out / "images").is_symlink()
    entries, counts = build_index(out, shards=1)
    assert [e.path.rsplit("/", 1)[1] for e in entries] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert counts["partition_file"] is None


def test_local_tar_gz(tmp_path, face_jpeg):
    archive = tmp_path / "faces.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for i in (1, 2):
            data = face_jpeg(i)
            info = tarfile.TarInfo(f"img_align_celeba/{i:06d}.jpg")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    out = fetch("local", tmp_path / "res", path=str(archive))
    assert len(build_index(out)[0]) == 2


def test_archive_escaping_its_folder_is_refused_and_leaves_nothing(tmp_path, face_jpeg):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.jpg", face_jpeg(1))
    with pytest.raises(SourceError, match="outside"):
        fetch("local", tmp_path / "res" / "evil", path=str(evil))
    assert not (tmp_path / "res" / "outside.jpg").exists()
    assert not list((tmp_path / "res").iterdir())


def test_damaged_archive_gives_actionable_error(tmp_path, celeba_zip):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(celeba_zip.read_bytes()[:500])
    with pytest.raises(SourceError, match="damaged or incomplete"):
        fetch("local", tmp_path / "res" / "x", path=str(broken))
    assert not (tmp_path / "res" / "x").exists() and not (tmp_path / "res" / "x.partial").exists()


def test_missing_local_path_names_the_key(tmp_path):
    with pytest.raises(SourceError, match="dataset.path"):
        fetch("local", tmp_path / "res", path=str(tmp_path / "nope.zip"))


def _no_kaggle_env(monkeypatch, home):
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))


def test_credential_lookup_follows_the_kaggle_package(tmp_path, monkeypatch):
    _no_kaggle_env(monkeypatch, tmp_path)
    assert not kaggle_credentials_present(home=tmp_path)
    assert kaggle_credentials_present({"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"}, home=tmp_path)
    assert kaggle_credentials_present({"KAGGLE_API_TOKEN": "t"}, home=tmp_path)
    assert not kaggle_credentials_present({"KAGGLE_USERNAME": "u"}, home=tmp_path)
    (tmp_path / ".config" / "kaggle").mkdir(parents=True)
    (tmp_path / ".config" / "kaggle" / "kaggle.json").write_text("{}")
    assert kaggle_credentials_present({}, home=tmp_path)
    assert not kaggle_credentials_present({"KAGGLE_CONFIG_DIR": str(tmp_path / "empty")}, home=tmp_path)


def test_missing_kaggle_credentials_give_one_clear_message_and_no_output(tmp_path, monkeypatch):
    _no_kaggle_env(monkeypatch, tmp_path)
    out = tmp_path / "resources" / "celeba"
    with pytest.raises(KaggleCredentialsError) as err:
        fetch("kaggle", out, kaggle_slug="jessicali9530/celeba-dataset")
    message = str(err.value)
    for option in ("kaggle.json", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "dataset.source: local"):
        assert option in message
    assert not list((tmp_path / "resources").iterdir())


def test_kaggle_download_runs_the_real_client_until_the_network_and_cleans_up(tmp_path, monkeypatch):
    """With (unverified) legacy credentials the real kaggle client is called; here the network is
    unreachable, so it must fail with an actionable message and leave no partial download."""
    _no_kaggle_env(monkeypatch, tmp_path)
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "0123456789abcdef0123456789abcdef")
    out = tmp_path / "resources" / "celeba"
    with pytest.raises(SourceError, match="jessicali9530/celeba-dataset"):
        fetch("kaggle", out, kaggle_slug="jessicali9530/celeba-dataset")
    assert not list((tmp_path / "resources").iterdir())


def test_kaggle_downloaded_archive_is_unpacked_in_celeba_layout(tmp_path, make_celeba_zip):
    download_dir = tmp_path / "dl"
    download_dir.mkdir()
    make_celeba_zip(download_dir / "celeba-dataset.zip", n=6)
    out = tmp_path / "celeba"
    assert unpack_downloads(download_dir, out) == (["celeba-dataset.zip"], [])
    entries, counts = build_index(out, split="all")
    assert counts["found"] == 6 and counts["partition_file"].endswith("list_eval_partition.csv")


def test_kaggle_download_without_archive_is_an_error(tmp_path):
    (tmp_path / "dl").mkdir()
    with pytest.raises(SourceError, match="no archive"):
        unpack_downloads(tmp_path / "dl", tmp_path / "out")


@pytest.mark.parametrize("name", ["..", ".", ""])
def test_fetch_refuses_a_target_that_is_not_one_folder_name(tmp_path, name):
    from facegan.sources import SourceError, fetch

    (tmp_path / "resources").mkdir()
    (tmp_path / "SENTINEL").write_text("x")
    with pytest.raises(SourceError, match="one plain folder name"):
        fetch("synthetic", f"{tmp_path}/resources/{name}", synthetic_count=2)
    assert (tmp_path / "SENTINEL").exists() and not list((tmp_path / "resources").iterdir())


def test_fetch_never_deletes_a_folder_it_did_not_make(tmp_path):
    from facegan.sources import SourceError, fetch

    mine = tmp_path / "resources" / "faces"
    mine.mkdir(parents=True)
    (mine / "my-photo.jpg").write_bytes(b"precious")
    with pytest.raises(SourceError, match="was not made by facegan"):
        fetch("synthetic", mine, synthetic_count=2)
    assert (mine / "my-photo.jpg").read_bytes() == b"precious"
    assert not (tmp_path / "resources" / "faces.partial").exists()
