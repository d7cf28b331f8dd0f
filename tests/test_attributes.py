"""The data's attributes: tables in CelebA's two forms and the demo's, carried in manifest order, compared."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from facegan import attribute_stats as S
from facegan import attributes as A

CELEBA_NAMES = ["5_o_Clock_Shadow", "Eyeglasses", "Male", "Smiling"]


def _celeba_values(i):
    return [1 if (i + k) % 3 == 0 else -1 for k in range(len(CELEBA_NAMES))]


def _write_csv_form(path, n):
    rows = ["image_id," + ",".join(CELEBA_NAMES)]
    rows += [f"{i:06d}.jpg," + ",".join(str(v) for v in _celeba_values(i)) for i in range(1, n + 1)]
    path.write_text("\n".join(rows) + "\n")


def _write_txt_form(path, n):
    # The original release: a count line, the names, then name and values separated by (several) spaces.
    lines = [str(n), " ".join(CELEBA_NAMES)]
    lines += [f"{i:06d}.jpg " + " ".join(f"{v:2d}" for v in _celeba_values(i)) for i in range(1, n + 1)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("form", ["csv", "txt"])
def test_celeba_tables_in_both_forms_parse_the_same(tmp_path, form):
    path = tmp_path / f"list_attr_celeba.{form}"
    (_write_csv_form if form == "csv" else _write_txt_form)(path, 6)
    attrs, values = A.read_table(path)
    assert [a.name for a in attrs] == CELEBA_NAMES and all(a.classes == ("no", "yes") for a in attrs)
    assert values["000003.jpg"] == [1 if v > 0 else 0 for v in _celeba_values(3)]
    assert len(values) == 6


def test_kaggle_archive_with_attributes_goes_through_the_data_stage_in_manifest_order(tmp_path, make_celeba_zip,
                                                                                      face_jpeg):
    from facegan.index import build_index
    from facegan.sources import fetch

    archive = make_celeba_zip(tmp_path / "celeba-dataset.zip", n=8)
    with zipfile.ZipFile(archive, "a") as zf:  # replace the fixture's one-column table by a 4-attribute one
        buf = io.StringIO()
        buf.write("image_id," + ",".join(CELEBA_NAMES) + "\n")
        for i in range(1, 9):
            buf.write(f"{i:06d}.jpg," + ",".join(map(str, _celeba_values(i))) + "\n")
        zf.writestr("list_attr_celeba.csv", buf.getvalue())
    raw = fetch("local", tmp_path / "resources" / "celeba", path=str(archive))
    entries, counts = build_index(raw, shards=2)
    assert counts["attribute_table"].endswith("list_attr_celeba.csv") and counts["attribute_table_sha256"]
    manifest = [e.path for e in reversed(entries)]  # any order: the rows must follow the manifest
    spec = A.write_attribute_files(counts["attribute_table"], manifest, out_tsv=tmp_path / "a.tsv",
                                   out_json=tmp_path / "a.json")
    attrs, labels = A.load_attribute_files(tmp_path / "a.tsv", tmp_path / "a.json")
    assert spec["images_not_in_table"] == 0 and [a.name for a in attrs] == CELEBA_NAMES
    expected = [[1 if v > 0 else 0 for v in _celeba_values(int(p[-10:-4]))] for p in manifest]
    assert labels.tolist() == expected


def test_a_data_set_without_a_table_says_so(tmp_path):
    spec = A.write_attribute_files(None, ["a.jpg"], out_tsv=tmp_path / "a.tsv", out_json=tmp_path / "a.json")
    assert spec["attributes"] == [] and "no attribute table" in json.loads((tmp_path / "a.json").read_text())["note"]
    assert A.load_attribute_files(tmp_path / "a.tsv", tmp_path / "a.json")[0] == []


def test_synthetic_parameters_are_bucketed(tmp_path):
    from facegan.synthetic import write_synthetic_dataset

    out = write_synthetic_dataset(tmp_path, 40, seed=3)
    attrs, values = A.read_table(out / "list_attr_synthetic.csv")
    names = [a.name for a in attrs]
    assert names == ["skin", "hair_colour", "hair_style", "glasses", "smiling", "eye_colour", "background_hue"]
    rows = np.array(list(values.values()))
    for i, a in enumerate(attrs):
        assert rows[:, i].max() < len(a.classes) and rows[:, i].min() >= A.MISSING
    bald = rows[:, names.index("hair_style")] == A.HAIR_STYLES.index("bald")
    assert np.all(rows[bald, names.index("hair_colour")] == A.MISSING)
    assert [A.background_hue(*c) for c in ((255, 0, 0), (255, 255, 0), (0, 255, 0), (0, 255, 255), (0, 0, 255),
                                           (255, 0, 255))] == [0, 1, 2, 3, 4, 5]


def test_compare_real_with_itself_a_collapse_and_a_shift():
    attrs = [A.Attribute("glasses", ("no", "yes")), A.Attribute("hair", ("black", "blond", "red"))]
    rng = np.random.default_rng(0)
    real = np.stack([rng.random(1000) < 0.2, rng.integers(0, 3, 1000)], axis=1).astype(np.int64)
    same = S.compare(attrs, real, real.copy(), joint=["glasses", "hair"])
    assert same["joint_coverage"] == 1.0 and same["max_tvd"] == 0.0 and same["joint_combinations"] == 6
    collapsed = S.compare(attrs, real, np.tile(real[:1], (1000, 1)), joint=["glasses", "hair"])
    assert collapsed["joint_coverage"] == pytest.approx(1 / 6)
    assert collapsed["largest_differences"][0].startswith(("glasses", "hair"))
    shifted = np.stack([rng.random(1000) < 0.61, rng.integers(0, 3, 1000)], axis=1).astype(np.int64)
    words = S.compare(attrs, real, shifted, joint=["glasses"])["largest_differences"][0]
    assert words.startswith("glasses: generated 6") and "real 19%" in words


def test_unknown_values_are_left_out_of_frequencies_and_combinations():
    attrs = [A.Attribute("style", ("bald", "short")), A.Attribute("colour", ("black", "blond"), {"style": ("bald",)})]
    real = np.array([[0, 1], [0, 0], [1, 1], [1, 0]])
    result = S.compare(attrs, real, real, joint=["style", "colour"])
    assert result["per_attribute"]["colour"]["real"] == {"black": 0.5, "blond": 0.5}  # only the two not bald
    assert result["joint_combinations"] == 2


def test_the_joint_loss_is_the_sum_of_each_heads_cross_entropy_on_known_labels():
    import keras

    from facegan.attribute_classifier import joint_cross_entropy

    sizes = [2, 7, 3]
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, sum(sizes))).astype(np.float32)
    labels = np.array([[0, 6, 2], [1, -1, 0], [-1, 3, -1], [1, 0, 1], [0, 2, 2]], np.int32)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    start, expected = 0, np.zeros(5, np.float32)
    for i, k in enumerate(sizes):
        known = labels[:, i] >= 0
        expected[known] += np.asarray(cross_entropy(labels[known, i], logits[known, start:start + k]))
        start += k
    np.testing.assert_allclose(np.asarray(joint_cross_entropy(sizes)(labels, logits)), expected, rtol=1e-5)


def test_the_classifier_step_runs_at_the_niceness_it_is_given(tmp_path, python):
    # The rule asks for no core and niceness 19: the classifier takes only the CPU that training leaves.
    (tmp_path / "attributes.tsv").write_text("image\n")
    (tmp_path / "attributes.json").write_text(json.dumps({"attributes": [], "note": "no attribute table"}))
    code = ("import os\nfrom facegan.steps.evaluate import attribute_classifier\n"
            f"attribute_classifier(shards=[], attributes={str(tmp_path / 'attributes.tsv')!r}, "
            f"attribute_spec={str(tmp_path / 'attributes.json')!r}, classifier={str(tmp_path / 'clf')!r}, "
            "resolution=32, seed=0, threshold=0.9, images=0, niceness=5)\n"
            "print(os.getpriority(os.PRIO_PROCESS, 0))\n")
    niceness = int(python(["-c", code]).stdout.split()[-1])
    assert niceness == min(os.getpriority(os.PRIO_PROCESS, 0) + 5, 19)
    assert json.loads((tmp_path / "clf" / "report.json").read_text())["skipped"] == "no attribute table"


@pytest.mark.slow
def test_classifier_trains_measures_held_out_accuracy_and_skips_unreliable_attributes(tiny_shards, tmp_path):
    from facegan.attribute_classifier import compare_generated, load, train_classifier
    from facegan.reader import read_in_order

    images = read_in_order(tiny_shards["files"], 32)
    attrs = [A.Attribute("bright", ("no", "yes")), A.Attribute("noise", ("no", "yes"))]
    labels = np.stack([(images.mean(axis=(1, 2, 3)) > np.median(images.mean(axis=(1, 2, 3)))).astype(int),
                       np.random.default_rng(0).integers(0, 2, len(images))], axis=1)
    report = train_classifier(images, labels, attrs, seed=0, threshold=0.7, out_dir=tmp_path / "clf", epochs=30,
                              precision=False)
    assert report["held_out"] == len(images) // 5 + (len(images) % 5 > 0)
    assert report["balanced_accuracy"]["bright"] >= 0.7 and report["balanced_accuracy"]["noise"] < 0.7
    assert report["reliable"] == ["bright"] and report["real_vs_real"]["joint_coverage"] == 1.0
    model, report = load(tmp_path / "clf")
    result = compare_generated(model, report, real_images=images[:40],
                               fake_images=np.zeros_like(images[:40]))  # all-black "faces"
    assert list(result["per_attribute"]) == ["bright"] and result["per_attribute"]["bright"]["generated"]["yes"] == 0
