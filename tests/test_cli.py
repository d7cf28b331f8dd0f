"""The command line (facegan generate/grid/interpolate/export/doctor): bad numbers, bad model files, bad
conditions and existing output folders give one line and leave nothing behind."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    import keras

    from facegan.conditioning import Conditioning
    from facegan.models import build_models

    keras.utils.set_random_seed(0)
    g, d = build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4)
    folder = tmp_path_factory.mktemp("models")
    g.save(folder / "g.keras")
    d.save(folder / "d.keras")
    spec = Conditioning(("glasses", "hair_colour"), (("no", "yes"), ("black", "red")), ((0, 0), (1, 0), (0, 1)),
                        (0.6, 0.3, 0.1))
    build_models(architecture="dcgan", resolution=32, latent_dim=8, width=4, conditions=spec.names,
                 conditioning=spec.to_json())[0].save(folder / "conditioned.keras")
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
    paths = pictures.write_samples(g, tmp_path / "s", n=10, seed=3)
    assert batches == [4, 4, 2] and [p.name for p in paths][-1] == "sample_00009.png"
    expected = generate(g, noise(10, latent_dim(g), 3))
    assert np.array_equal(np.asarray(Image.open(paths[7])), expected[7])


def test_a_conditioned_generator_makes_the_faces_asked_for(saved_models, tmp_path, capsys, monkeypatch):
    from facegan import pictures
    from facegan.cli import main

    asked = []
    real_generate = pictures.generate
    monkeypatch.setattr(pictures, "generate", lambda g, z: asked.append(z[1]) or real_generate(g, z))
    model = str(saved_models / "conditioned.keras")
    assert main(["generate", "--model", model, "--condition", "glasses=yes", "--condition", "hair_colour=red",
                 "-n", "5", "--out", str(tmp_path / "faces")]) == 0
    assert "wrote 5 faces to" in capsys.readouterr().out and len(list((tmp_path / "faces").glob("*.png"))) == 5
    assert (np.concatenate(asked) == [1, 1]).all()
    asked.clear()
    assert main(["grid", "--model", model, "--condition", "glasses=yes", "--rows", "2", "--cols", "8",
                 "--out", str(tmp_path / "grid.png")]) == 0
    drawn = np.concatenate(asked)
    assert (drawn[:, 0] == 1).all() and set(drawn[:, 1]) == {0}  # the data hold no red hair with glasses
    assert main(["generate", "--model", model, "--list-conditions"]) == 0
    assert "conditioned on glasses: no/yes; hair_colour: black/red" in capsys.readouterr().out
    asked.clear()
    assert main(["interpolate", "--model", model, "--steps", "3", "--rows", "2", "--out", str(tmp_path / "m.png")]) == 0
    rows = np.concatenate(asked).reshape(2, 3, 2)
    assert (rows == rows[:, :1]).all()  # one draw of the conditions per row, held along it


@pytest.mark.parametrize("model, condition, expected", [
    ("conditioned", "glasses=maybe", "--condition 'glasses=maybe': glasses is one of no, yes"),
    ("conditioned", "hat=yes", "this generator is conditioned on glasses, hair_colour, not 'hat'"),
    ("conditioned", "glasses", "write it as name=value, e.g. glasses=yes"),
    ("g", "glasses=yes", "is not conditioned: it takes no --condition"),
])
def test_bad_conditions_give_one_line_and_write_nothing(model, condition, expected, saved_models, tmp_path, capsys):
    from facegan.cli import main

    out = tmp_path / "faces"
    assert main(["generate", "--model", str(saved_models / f"{model}.keras"), "--condition", condition,
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and not out.exists()
