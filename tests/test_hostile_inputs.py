"""The defects found by trying to break the pipeline (issue 12), each reproduced as its case was reported."""

import io
import json
import os
import signal
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegan.index import Entry, build_index, read_index, write_index
from facegan.preprocess import PreprocessOptions, SkipImage, jpeg_orientation, load_face, write_shard

OPTS = PreprocessOptions(resolution=32, crop=0, min_side=16)


# 1. dataset.name ".." once deleted the whole work directory ----------------------------------------


def test_dotdot_dataset_name_is_refused_by_the_config_and_deletes_nothing(tmp_path, snakemake, make_config):
    work = tmp_path / "WD"
    (work / "results" / "train_state").mkdir(parents=True)
    (work / "results" / "train_state" / "SENTINEL").write_text("weeks of training")
    proc = snakemake(work, make_config(dataset={"name": ".."}), "--cores", "2", "data", check=False)
    assert proc.returncode != 0
    assert "dataset.name: '..' does not match" in proc.stdout + proc.stderr
    assert (work / "results" / "train_state" / "SENTINEL").read_text() == "weeks of training"


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


# 4. decompression bombs were decoded when they were valid JPEGs --------------------------------------


def _jpeg_with_header_size(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    buf = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_huge_jpeg_is_refused_from_its_header_before_decoding(tmp_path, monkeypatch):
    import facegan.preprocess as pp

    path = tmp_path / "bomb.jpg"
    path.write_bytes(_jpeg_with_header_size(20000, 20000))

    def must_not_decode(*a, **k):
        raise AssertionError("decoded a 400-megapixel image")

    monkeypatch.setattr(pp.simplejpeg, "decode_jpeg", must_not_decode)
    monkeypatch.setattr(pp.Image.Image, "load", must_not_decode)
    with pytest.raises(SkipImage, match="too large: 20000x20000"):
        load_face(path, PreprocessOptions(64, 140, 32))


def test_huge_png_is_refused_from_its_header(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", 10000, 10000)  # 100 megapixels
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    (tmp_path / "bomb.png").write_bytes(bytes(data))
    with pytest.raises(SkipImage, match="too large"):
        load_face(tmp_path / "bomb.png", OPTS)


# 5. GPU lock files on machines shared by several users -----------------------------------------------


def test_lock_folder_and_files_let_every_user_lock_whatever_the_umask(tmp_path):
    from facegan import gpulock

    old = os.umask(0o077)
    try:
        lease = gpulock.acquire(1, ["0"], tmp_path / "locks", timeout=5)
    finally:
        os.umask(old)
    lease.release()
    assert (tmp_path / "locks").stat().st_mode & 0o7777 == 0o1777
    assert (tmp_path / "locks" / "gpu0.lock").stat().st_mode & 0o777 == 0o666


def test_a_planted_symlink_is_refused_and_its_target_untouched(tmp_path):
    from facegan import gpulock

    locks = tmp_path / "locks"
    locks.mkdir()
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    (locks / "gpu0.lock").symlink_to(target)
    with pytest.raises(gpulock.GpuLockError, match="symbolic link"):
        gpulock.acquire(1, ["0"], locks, timeout=5)
    assert target.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as a second user")
def test_a_second_user_can_lock_a_gpu_in_the_folder_the_first_user_made(tmp_path):
    import multiprocessing as mp
    import pwd
    import shutil
    import tempfile

    from facegan import gpulock

    shared = Path(tempfile.mkdtemp(prefix="facegan-locktest-", dir="/tmp"))  # pytest's tmp_path is private to root
    os.chmod(shared, 0o755)
    locks = shared / "locks"
    gpulock.acquire(1, ["0"], locks, timeout=5).release()  # root made the folder and gpu0.lock
    nobody = pwd.getpwnam("nobody")

    def as_nobody(queue):
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
        try:
            lease = gpulock.acquire(1, ["0", "1"], locks, timeout=5)
            queue.put(sorted(lease.gpus))
        except Exception as exc:  # noqa: BLE001
            queue.put(repr(exc))

    q = mp.get_context("fork").Queue()
    p = mp.get_context("fork").Process(target=as_nobody, args=(q,))
    p.start()
    got = q.get(timeout=30)
    p.join(10)
    shutil.rmtree(shared)
    assert got == ["0"], got


# 6-8. file names, symlink loops, FIFOs ------------------------------------------------------------------


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
    report = write_shard(back, 0, tmp_path / "s.tfrecord", OPTS)
    assert report.images == 2 and not report.skipped
    from facegan.datastats import collect

    collect(counts, [report.to_json()], {}, tmp_path / "manifest.tsv", tmp_path / "stats.json")
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


def test_a_fifo_named_jpg_is_skipped_not_read_forever(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("blocked on the FIFO")))
    signal.alarm(10)
    try:
        report = write_shard([Entry(str(fifo), "train", 0)], 0, tmp_path / "s.tfrecord", OPTS)
    finally:
        signal.alarm(0)
    assert report.images == 0 and "not a regular file" in report.skipped[0]["reason"]


# 9-10. pixel formats and orientation ------------------------------------------------------------------


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    with Image.open(tmp_path / "ramp16.png") as img:
        assert img.mode.startswith("I")
    out = load_face(tmp_path / "ramp16.png", PreprocessOptions(32, 0, 16)).astype(int)
    assert out[..., 0].min() <= 5 and out[..., 0].max() >= 250 and abs(out.mean() - 127.5) < 10
    assert np.all(np.diff(out[16, :, 0]) >= 0)  # still a ramp, left to right


def _upright_test_image() -> Image.Image:
    """Red top half, blue bottom half (178x218, like CelebA)."""
    arr = np.zeros((218, 178, 3), np.uint8)
    arr[:109] = (220, 20, 20)
    arr[109:] = (20, 20, 220)
    return Image.fromarray(arr)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])  # libjpeg-turbo's path and PIL's
def test_exif_orientation_is_applied(tmp_path, fmt):
    upright = _upright_test_image()
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # how a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / f"sideways.{fmt.lower()}"
    stored.save(path, format=fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    if fmt == "JPEG":
        assert jpeg_orientation(path.read_bytes()) == 6
    out = load_face(path, PreprocessOptions(32, 0, 16)).astype(int)
    assert out[2, 16, 0] > 150 and out[2, 16, 2] < 100  # red on top
    assert out[29, 16, 2] > 150 and out[29, 16, 0] < 100  # blue at the bottom


def test_orientation_parser_ignores_jpegs_without_exif():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, format="JPEG")
    assert jpeg_orientation(buf.getvalue()) == 1 and jpeg_orientation(b"\xff\xd8\xff") == 1


# 11. the command line -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    import keras

    from facegan.models import build_models

    keras.utils.set_random_seed(0)
    g, d = build_models("dcgan", 32, 8, 4)
    folder = tmp_path_factory.mktemp("models")
    g.save(folder / "g.keras")
    d.save(folder / "d.keras")
    (folder / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 200)
    (folder / "corrupt.keras").write_bytes(b"PK\x03\x04 not really a zip")
    return folder


@pytest.mark.parametrize("args, expected", [
    (["generate", "-n", "0"], "-n: must be at least 1, got 0"),
    (["generate", "-n", "-1"], "-n: must be at least 1, got -1"),
    (["grid", "--rows", "0"], "--rows: must be at least 1, got 0"),
    (["interpolate", "--steps", "0"], "--steps: must be at least 2, got 0"),
])
def test_bad_command_line_numbers_are_refused_before_anything_is_written(args, expected, saved_models, tmp_path,
                                                                         capsys):
    from facegan.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--model", str(saved_models / "g.keras"), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2 and expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("model, expected", [
    ("corrupt.h5", "is not a readable Keras model"),
    ("corrupt.keras", "is not a readable Keras model"),
    ("d.keras", "is not a generator"),
    ("missing.keras", "no generator at"),
])
def test_bad_model_files_give_one_line_not_a_traceback(model, expected, saved_models, tmp_path, capsys):
    from facegan.cli import main

    assert main(["grid", "--model", str(saved_models / model), "--out", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# 12. full disks, small data sets, orphans -----------------------------------------------------------------


def test_a_full_disk_ends_a_step_with_one_line_in_its_log(tmp_path, python):
    code = ("from facegan.steps.runner import step\n"
            "@step\ndef write():\n    with open('/dev/full', 'w') as f:\n        f.write('x' * 65536)\n"
            f"write(log_file={str(tmp_path / 'step.log')!r})\n")
    proc = python(["-c", code], check=False)
    log = (tmp_path / "step.log").read_text()
    assert proc.returncode == 1 and "no space left on the device" in log and "Traceback" not in log
    assert "Traceback" not in proc.stderr


def test_a_bug_still_shows_its_traceback_in_the_log(tmp_path, python):
    code = ("from facegan.steps.runner import step\n"
            "@step\ndef broken():\n    return {}['missing']\n"
            f"broken(log_file={str(tmp_path / 'step.log')!r})\n")
    proc = python(["-c", code], check=False)
    assert proc.returncode == 1 and "Traceback" in (tmp_path / "step.log").read_text() and "KeyError" in proc.stderr


def test_a_data_set_smaller_than_evaluate_images_is_evaluated_on_what_it_holds(tiny_shards, tmp_path, caplog):
    import keras

    from facegan.evaluation import evaluate_generator
    from facegan.models import build_models
    from facegan.real_reference import compute_real_reference

    keras.utils.set_random_seed(0)
    g, _ = build_models("dcgan", 32, 16, 8)
    g.save(tmp_path / "g.keras")
    (tmp_path / "opts.json").write_text(json.dumps(
        {"train_options": {"model": {"architecture": "dcgan", "resolution": 32, "latent_dim": 16, "width": 8}}}))
    with caplog.at_level("WARNING"):
        compute_real_reference(tiny_shards["files"], tiny_shards["stats"], 32, 2048, 0, tmp_path / "ref.npz")
    assert "evaluate.images is 2048 but the data set holds 96 images: the metrics compare 48 real" in caplog.text
    result = evaluate_generator(str(tmp_path / "g.keras"), training_options_path=tmp_path / "opts.json",
                                reference_path=tmp_path / "ref.npz", n=2048, seed=0, out_json=tmp_path / "metrics.json")
    assert result["images"] == 48 and np.isfinite(result["swd"]["SWDx1e3_avg"]) and result["swd_vs_floor"] > 1


def test_an_orphaned_shard_part_file_is_replaced_when_the_shard_is_written_again(tmp_path, face_jpeg):
    (tmp_path / "a.jpg").write_bytes(face_jpeg(1))
    (tmp_path / "s.tfrecord.part").write_bytes(b"half a shard from a killed job")
    write_shard([Entry(str(tmp_path / "a.jpg"), "train", 0)], 0, tmp_path / "s.tfrecord", OPTS)
    assert not (tmp_path / "s.tfrecord.part").exists() and (tmp_path / "s.tfrecord").stat().st_size > 0


@pytest.mark.parametrize("command", [["grid"], ["interpolate", "--steps", "3", "--rows", "1"]])
def test_an_existing_folder_as_out_is_named_and_nothing_is_left_behind(command, saved_models, tmp_path, capsys):
    from facegan.cli import main

    out = tmp_path / "a.b" / "faces"
    out.mkdir(parents=True)
    assert main([command[0], "--model", str(saved_models / "g.keras"), "--out", str(out), *command[1:]]) == 1
    err = capsys.readouterr().err
    assert f"{out} is a directory" in err and ".part" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["faces"] and not list(out.iterdir())


def test_many_samples_are_written_a_batch_at_a_time_with_the_same_faces(saved_models, tmp_path, monkeypatch):
    import facegan.pictures as pictures
    from facegan.generation import generate, latent_dim, load_generator, noise

    g = load_generator(saved_models / "g.keras")
    batches = []
    real_generate = pictures.generate
    monkeypatch.setattr(pictures, "generate", lambda gen, z: batches.append(len(z)) or real_generate(gen, z))
    monkeypatch.setattr(pictures, "SAMPLE_BATCH", 4)
    paths = pictures.write_samples(g, tmp_path / "s", 10, seed=3)
    assert batches == [4, 4, 2] and [p.name for p in paths][-1] == "sample_00009.png"
    expected = generate(g, noise(10, latent_dim(g), 3))
    assert np.array_equal(np.asarray(Image.open(paths[7])), expected[7])
