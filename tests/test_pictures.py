import csv

import keras
import numpy as np
import pytest
from PIL import Image

from facegan import charts, pictures
from facegan.generation import ModelFileError, generate, latent_dim, load_generator, noise
from facegan.images import grid, to_uint8, to_unit, upscale
from facegan.models import build_models


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    keras.utils.set_random_seed(0)
    g, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    path = tmp_path_factory.mktemp("g") / "generator.keras"
    g.save(path)
    return load_generator(path)


def test_pixel_conversion_round_trips_and_rounds_correctly():
    levels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(to_uint8(to_unit(levels)), levels)
    assert to_uint8(np.array([-1.0, 1.0, 0.0, -2.0, 3.0, 0.996, 0.998])).tolist() == [0, 255, 128, 0, 255, 254, 255]
    assert to_uint8(np.array([-1 + 0.6 / 127.5])).tolist() == [1]  # rounded, not truncated to 0


def test_grid_layout_dimensions_and_borders():
    imgs = np.zeros((6, 10, 12, 3), np.uint8)
    sheet = grid(imgs, 2, 3, border=2)
    assert sheet.shape == (2 * 10 + 3 * 2, 3 * 12 + 4 * 2, 3)
    assert sheet[0].min() == 255 and sheet[:, 0].min() == 255 and sheet[2:12, 2:14].max() == 0
    with pytest.raises(ValueError):
        grid(imgs, 3, 3)
    assert upscale(sheet, 100).shape[0] >= 100 and upscale(sheet, 100).shape[0] % sheet.shape[0] == 0


def test_samples_are_pngs_and_seeded(generator, tmp_path):
    a = pictures.write_samples(generator, tmp_path / "a", n=5, seed=3)
    b = pictures.write_samples(generator, tmp_path / "b", n=5, seed=3)
    assert [p.name for p in a] == [f"sample_{i:05d}.png" for i in range(5)]
    assert all(p.read_bytes() == q.read_bytes() for p, q in zip(a, b))
    with Image.open(a[0]) as img:
        assert img.size == (32, 32) and img.mode == "RGB"


def test_grid_png_is_readable_size(generator, tmp_path):
    sheet = pictures.write_grid(generator, tmp_path / "grid.png", rows=4, cols=5, seed=0)
    with Image.open(tmp_path / "grid.png") as img:
        assert img.size == (sheet.shape[1], sheet.shape[0]) and min(img.size) >= pictures.MIN_SHEET_SIDE


def test_progress_animation_has_one_labelled_frame_per_epoch_and_a_video(tmp_path):
    import imageio.v2 as iio2

    for epoch in range(1, 6):
        Image.new("RGB", (70, 70), (epoch * 40, 0, 0)).save(tmp_path / f"epoch_{epoch:04d}.png")
    n = pictures.progress_animation(tmp_path, out_gif=tmp_path / "p.gif", out_mp4=tmp_path / "p.mp4",
                                    out_png=tmp_path / "p.png", fps=4)
    with Image.open(tmp_path / "p.gif") as gif:
        assert n == gif.n_frames == 5 and gif.info["loop"] == 0 and gif.info["duration"] == 250
    with iio2.get_reader(tmp_path / "p.mp4", format="FFMPEG") as video:
        meta = video.get_meta_data()
        frames = [f for f in video]
    assert meta["codec"] == "h264" and meta["fps"] == 4 and len(frames) == 5 + 2  # the last held 3 times
    assert frames[0].shape[0] % 16 == 0 and abs(int(frames[0][-40, 30, 0]) - 40) < 12
    last = np.asarray(Image.open(tmp_path / "p.png"))
    assert last.shape[0] > 70  # the label banner sits above the grid, not over it
    assert np.array_equal(last[-70:, :, 0], np.full((70, 70), 200))


def test_a_one_epoch_run_makes_a_one_frame_gif(tmp_path):
    Image.new("RGB", (70, 70), (90, 0, 0)).save(tmp_path / "epoch_0001.png")
    assert pictures.progress_animation(tmp_path, out_gif=tmp_path / "p.gif", out_mp4=tmp_path / "p.mp4",
                                       out_png=tmp_path / "p.png", fps=4) == 1
    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 1


def test_long_runs_make_a_gif_of_at_most_24_reduced_frames(tmp_path):
    from facegan.animations import MAX_FRAMES, MAX_SIDE, pick_frames

    assert pick_frames(100)[0] == 0 and pick_frames(100)[-1] == 99 and len(pick_frames(100)) == MAX_FRAMES
    for epoch in range(1, 31):
        Image.new("RGB", (520, 520), (epoch * 8, 0, 0)).save(tmp_path / f"epoch_{epoch:04d}.png")
    pictures.progress_animation(tmp_path, out_gif=tmp_path / "p.gif", out_mp4=tmp_path / "p.mp4",
                                out_png=tmp_path / "p.png", fps=4)
    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == MAX_FRAMES and max(gif.size) <= MAX_SIDE
    assert Image.open(tmp_path / "p.png").size[0] == 520  # the PNG keeps the full size


def _colour_pixels(png, colour, tolerance=30):
    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
    return int((np.abs(pixels - colour).sum(axis=1) < tolerance).sum())


BLUE, ORANGE, GREEN, RED = (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)  # matplotlib's C0-C3


def test_loss_plot_draws_both_losses_and_the_step_series(tmp_path):
    with open(tmp_path / "h.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "d_loss", "g_loss", "seconds", "images_per_s", "steps"])
        for e in range(1, 6):
            w.writerow([e, 1 / e, e, 1, 1, 1])
    charts.losses_chart(tmp_path / "h.csv", tmp_path / "l.png")
    assert _colour_pixels(tmp_path / "l.png", BLUE) > 50 and _colour_pixels(tmp_path / "l.png", ORANGE) > 50
    assert _colour_pixels(tmp_path / "l.png", GREEN) == 0  # no step log: no D(x) panel
    with open(tmp_path / "s.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "epoch", "step_d_loss", "step_g_loss", "d_x", "d_g_z"])
        for k in range(1, 101):
            w.writerow([k, k / 20, 1 + np.sin(k), 2 + np.cos(k), 0.7, 0.3])
    charts.losses_chart(tmp_path / "h.csv", tmp_path / "l2.png", tmp_path / "s.csv")
    for colour in (BLUE, ORANGE, GREEN, RED):
        assert _colour_pixels(tmp_path / "l2.png", colour) > 200, colour
    (tmp_path / "empty.csv").write_text("epoch,d_loss,g_loss,seconds,images_per_s,steps\n")
    with pytest.raises(ValueError, match="no epochs"):
        charts.losses_chart(tmp_path / "empty.csv", tmp_path / "e.png")


def test_slerp_keeps_endpoints_and_norm():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    path = pictures.slerp(a, b, np.linspace(0, 1, 7))
    assert np.allclose(path[0], a, atol=1e-6) and np.allclose(path[-1], b, atol=1e-6)
    norms = np.linalg.norm(path, axis=1)
    assert norms.min() > 0.9 * min(np.linalg.norm(a), np.linalg.norm(b))  # no dip through the origin


def test_interpolation_endpoints_are_the_generator_outputs_at_the_endpoints(generator, tmp_path):
    images = pictures.interpolation(generator, out_png=tmp_path / "i.png", out_gif=tmp_path / "i.gif", steps=5,
                                    rows=2, seed=4)
    ends = noise(4, latent_dim(generator), 4)
    expected = generate(generator, ends)
    rows = images.reshape(2, 5, 32, 32, 3)
    for r in range(2):
        assert np.array_equal(rows[r, 0], expected[2 * r]) and np.array_equal(rows[r, -1], expected[2 * r + 1])
    with Image.open(tmp_path / "i.gif") as gif:
        assert gif.n_frames == 5 + 3  # forward, then back without repeating the ends


def test_real_vs_fake_puts_real_faces_left_and_generated_right(generator, tiny_shards, tmp_path):
    from facegan.reader import read_images

    pictures.real_vs_fake(generator, shard_files=tiny_shards["files"], resolution=32, out=tmp_path / "rf.png", n=9,
                          seed=0)
    sheet = np.asarray(Image.open(tmp_path / "rf.png"))
    real = read_images(tiny_shards["files"], 32, 9, seed=0)
    fake = generate(generator, noise(9, latent_dim(generator), 0))
    side = pictures.MIN_SHEET_SIDE // 2
    left = pictures.label_banner(upscale(grid(real, 3, 3), side), "real")
    right = pictures.label_banner(upscale(grid(fake, 3, 3), side), "generated")
    assert sheet.shape == (left.shape[0], left.shape[1] + 16 + right.shape[1], 3)
    assert np.array_equal(sheet[:, :left.shape[1]], left)
    assert np.array_equal(sheet[:, -right.shape[1]:], right)
    assert not np.array_equal(left[-50:], right[-50:])


def test_h5_generator_loads_too(tmp_path):
    g, _ = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    g.save(tmp_path / "g.h5")
    assert load_generator(tmp_path / "g.h5").output_shape == (None, 32, 32, 3)
    with pytest.raises(ModelFileError, match="train one first"):
        load_generator(tmp_path / "missing.keras")


def test_command_line_generate_and_grid(generator, tmp_path):
    from facegan.cli import main

    generator.save(tmp_path / "g.keras")
    assert main(["generate", "--model", str(tmp_path / "g.keras"), "-n", "3", "--out", str(tmp_path / "f")]) == 0
    assert len(list((tmp_path / "f").glob("*.png"))) == 3
    assert main(["grid", "--model", str(tmp_path / "g.keras"), "--rows", "2", "--cols", "3",
                 "--out", str(tmp_path / "g.png")]) == 0
    assert main(["grid", "--model", str(tmp_path / "nope.h5"), "--out", str(tmp_path / "x.png")]) == 1


def test_command_line_needs_only_the_base_install(generator, tmp_path, python):
    """`pip install facegan` without the workflow extra: the command works without any of the extra's packages."""
    generator.save(tmp_path / "g.keras")
    extra = ["snakemake", "kaggle", "matplotlib", "simplejpeg", "google_crc32c", "tqdm", "yaml", "jsonschema",
             "tensorboard"]
    code = (f"import sys\nfor name in {extra!r}:\n    sys.modules[name] = None  # import fails as if not installed\n"
            "from facegan.cli import main\n"
            f"sys.exit(main(['generate', '--model', {str(tmp_path / 'g.keras')!r}, '-n', '2', "
            f"'--out', {str(tmp_path / 'f')!r}]) or main(['interpolate', '--model', {str(tmp_path / 'g.keras')!r}, "
            f"'--steps', '3', '--rows', '1', '--out', {str(tmp_path / 'i.png')!r}]))\n")
    python(["-c", code], timeout=300)
    assert len(list((tmp_path / "f").glob("*.png"))) == 2 and (tmp_path / "i.gif").is_file()
