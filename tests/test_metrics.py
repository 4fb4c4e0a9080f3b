import numpy as np

from core.infer.metrics import Metrics, compute_metrics


def test_metrics_by_hand():
    classes = ["a", "b", "c"]
    y = [0, 0, 1, 1, 2, 2]
    probs = np.array([[.9, .1, 0], [.2, .7, .1], [0, 1, 0], [0, .8, .2], [.1, .1, .8], [.6, .1, .3]])
    m = compute_metrics(y, probs, classes, paths=[f"p{i}" for i in range(6)])
    assert m.accuracy == 4 / 6
    assert m.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    a, b, c = m.per_class
    assert (a.precision, a.recall) == (0.5, 0.5)
    assert b.precision == 2 / 3 and b.recall == 1.0
    assert c.precision == 1.0 and c.recall == 0.5
    # most confident mistake first
    assert [x.path for x in m.mistakes] == ["p1", "p5"]
    assert Metrics.from_dict(m.to_dict()) == m
    assert "confusion matrix" in m.to_text()


def test_the_confusion_matrix_header_keeps_class_names_apart():
    """'mono_0' and 'mono_100' were both cut to six letters in the header."""
    classes = ["mono_0", "mono_100", "a_very_long_class_name"]
    m = compute_metrics([0, 1, 2], np.eye(3), classes)
    text = m.to_text().split("confusion matrix (rows: true, columns: predicted)\n")[1]
    header, *rows = text.split("\n\n")[0].splitlines()
    assert header.split() == ["mono_0", "mono_100", "a_ver…s_name"]  # both ends tell apart
    assert all(len(r) == len(rows[0]) for r in rows) and len(header) == len(rows[0])


def _long_names(n):
    return [f"production_line_{i:02d}_defect_category_long_name" for i in range(n)]


def _each_taken_for_the_next(classes):
    n = len(classes)
    y = np.repeat(np.arange(n), 3)
    pred = np.where(np.arange(len(y)) % 3 == 0, (y + 1) % n, y)  # one of three: the next
    return compute_metrics(y, np.eye(n)[pred] * 0.9 + 0.1 / n, classes)


def test_cut_class_names_stay_apart_in_the_terminal_table_and_most_confused():
    """(a review) 15 names differing only in the middle were all cut to
    'production_lin…egory_long_name': every row alike, "most confused" read as a class
    taken for itself."""
    classes = _long_names(15)
    lines = _each_taken_for_the_next(classes).to_text().splitlines()
    rows = [ln.split()[0] for ln in lines[3:18]]
    assert len(set(rows)) == 15 and all(f"_{i:02d}_" in r for i, r in enumerate(rows))
    pairs = [ln.split() for ln in lines if " -> " in ln]
    assert len(pairs) == 15 and all(p[1] != p[3] for p in pairs)
    assert all(len(r) <= 30 for r in rows)


def test_cut_class_names_stay_apart_in_the_matrix_heads():
    classes = _long_names(4)
    lines = _each_taken_for_the_next(classes).to_text().splitlines()
    at = lines.index("confusion matrix (rows: true, columns: predicted)")
    heads = lines[at + 1].split()
    assert len(heads) == 4 and len(set(heads)) == 4
    assert all(f"{i:02d}" in h for i, h in enumerate(heads))


def test_no_mistakes_is_said_in_one_sentence_in_the_terminal_and_the_report():
    """The terminal said "none: every image was right" (and nothing at all below 13
    classes), the report "None: every validation image was classified correctly", the
    window a third sentence."""
    from core.infer.metrics import NO_MISTAKES
    from types import SimpleNamespace

    from core.report.html import _scores_section

    for n in (3, 20):  # the matrix, and the most confused pairs above 12 classes
        right = compute_metrics(list(range(n)), np.eye(n), [f"c{i}" for i in range(n)])
        assert right.to_text().endswith(NO_MISTAKES)
        wrong = compute_metrics([0] + list(range(1, n)), np.eye(n)[[1] + list(range(1, n))],
                                [f"c{i}" for i in range(n)])
        assert NO_MISTAKES not in wrong.to_text()
    html = _scores_section(SimpleNamespace(metrics=right.to_dict()), 12)
    assert NO_MISTAKES in html


# -- core.infer.evaluation: one function for training, the Evaluate page and the CLI ----------

import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from core.infer.evaluation import (ImagePrediction, evaluate_folder,  # noqa: E402
                                   evaluate_labelled_folder, evaluate_records,
                                   evaluate_run_validation)
from core.infer.predictor import Predictor  # noqa: E402


class BrightnessPredictor(Predictor):
    """A real Predictor (real decoding of real files) whose "model" is mean brightness."""

    kind = "brightness"

    def __init__(self, classes=("bright", "dark")):
        super().__init__(classes, 16, "brightness")

    def predict_arrays(self, images):
        bright = np.asarray(images, np.float64).mean(axis=(1, 2, 3)) / 255.0
        probs = np.stack([bright, 1 - bright], axis=1)
        return probs if self.classes[0] == "bright" else probs[:, ::-1]


def write_images(root: Path, spec: dict) -> Path:
    """``spec``: {class: [grey level, ...]}; one 20 px PNG per level."""
    from PIL import Image

    for name, levels in spec.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, level in enumerate(levels):
            Image.fromarray(np.full((20, 20, 3), level, np.uint8)).save(root / name / f"{i}.png")
    return root


def test_evaluate_records_gives_metrics_and_every_images_answer(tmp_path):
    from core.data.dataset import scan_dataset

    root = write_images(tmp_path, {"bright": [230, 200, 90], "dark": [20, 60, 180]})
    (root / "dark" / "broken.png").write_bytes(b"not an image")
    records = scan_dataset(str(root)).records
    assert len(records) == 6  # the scan already leaves the broken file out
    broken = type(records[0])(str(root / "dark" / "broken.png"), 1, "dark", 0, 0)
    result = evaluate_records(BrightnessPredictor(), records + [broken], batch_size=4)
    m = result.metrics
    assert m.n_images == 6 and m.confusion == [[2, 1], [1, 2]]
    assert [s["path"] for s in m.skipped] == [broken.path]
    by_path = {p.path: p for p in result.predictions}
    assert set(by_path) == {r.path for r in records}
    wrong = by_path[str(root / "bright" / "2.png")]
    assert wrong == ImagePrediction(wrong.path, 0, 1, pytest.approx(1 - 90 / 255))
    # the per-image list and the matrix are the same predictions
    for t in range(2):
        for p in range(2):
            assert m.confusion[t][p] == sum(1 for x in result.predictions
                                            if (x.true_index, x.predicted_index) == (t, p))


def test_folder_classes_are_matched_to_the_model_by_name(tmp_path):
    root = write_images(tmp_path, {"dark": [10, 30], "bright": [240], "cats": [128]})
    (root / "bright" / "broken.png").write_bytes(b"not an image")
    events = []
    # The model lists "dark" first; the folder sorts "bright" first: names decide.
    result = evaluate_labelled_folder(BrightnessPredictor(("dark", "bright")), str(root),
                                      listener=events.append)
    m = result.metrics
    assert m.classes == ["dark", "bright"] and m.confusion == [[2, 0], [0, 1]]
    assert {(Path(p.path).parent.name, p.true_index) for p in result.predictions} == {
        ("dark", 0), ("bright", 1)}
    assert any("broken.png" in s["path"] for s in m.skipped)
    assert any("cats" in getattr(e, "message", "") for e in events)  # not scored, said so
    assert evaluate_folder(BrightnessPredictor(("dark", "bright")), str(root)).confusion == \
        m.confusion


def test_a_copy_in_a_folder_that_is_no_class_leaves_the_real_image_scored(tmp_path):
    """rejects/0.png, a copy of dark/0.png: both were left out as "filed under two classes",
    so the real image went unscored and "rejects" was never named (a serve review)."""
    import shutil

    root = write_images(tmp_path, {"dark": [10, 30], "bright": [240]})
    (root / "rejects").mkdir()
    shutil.copyfile(root / "dark" / "0.png", root / "rejects" / "0.png")
    events = []
    result = evaluate_labelled_folder(BrightnessPredictor(("dark", "bright")), str(root),
                                      listener=events.append)
    assert result.metrics.n_images == 3 and result.unmatched == ["rejects"]
    assert not result.left_out
    assert any("not scored: rejects" in getattr(e, "message", "") for e in events)


def test_a_class_folder_in_another_unicode_form_is_scored(tmp_path):
    """A folder copied from a Mac names "brïght" as i + combining diaeresis (NFD): it looked
    exactly like the class and was left out as "not among the model's classes"."""
    import unicodedata

    nfd = unicodedata.normalize("NFD", "brïght")
    assert nfd != "brïght"
    root = write_images(tmp_path, {"dark": [10, 30], nfd: [240, 220]})
    events = []
    m = evaluate_labelled_folder(BrightnessPredictor(("dark", "brïght")), str(root),
                                 listener=events.append).metrics
    assert m.n_images == 4 and m.confusion == [[2, 0], [0, 2]]
    assert not any("not scored" in getattr(e, "message", "") for e in events)


def test_two_classes_spelled_in_two_unicode_forms_are_scored_apart(tmp_path):
    """A model with classes "Café" (NFC) and "Café" (NFD), which Linux keeps apart: evaluate
    mapped both folders to one class (accuracy 0.458 where metrics.json said 0.500), and the
    scan said nothing of the look-alike names (a report review)."""
    import unicodedata

    from core.data.dataset import scan_dataset

    nfc, nfd = "brïght", unicodedata.normalize("NFD", "brïght")
    root = write_images(tmp_path, {nfd: [10, 30], nfc: [240, 220]})
    m = evaluate_labelled_folder(BrightnessPredictor((nfd, nfc)), str(root)).metrics
    assert m.n_images == 4 and m.confusion == [[2, 0], [0, 2]]
    said = scan_dataset(str(root)).warnings
    assert any("differ only in letter case or in how an accent is stored" in w for w in said)


def test_class_folders_a_labels_file_cannot_hold_are_left_out_and_named(tmp_path):
    """A class folder named with a newline made labels.txt 13 lines for 12 classes, and every
    export then refused to open (a report review)."""
    from core.data.dataset import scan_dataset

    root = write_images(tmp_path, {"dark": [10, 30], "bright": [240], "new\nline": [90],
                                   "esc\x1b[31m": [90], "para\u2029": [90], " ": [90]})
    report = scan_dataset(str(root))
    assert report.classes == ["bright", "dark", "esc\x1b[31m"]  # an ESC fits on a line
    left = [w for w in report.warnings if "a labels file cannot hold" in w]
    assert len(left) == 3 and any(repr(str(root / "new\nline")) in w for w in left)
    assert not any("\n" in w or "\u2029" in w for w in left)  # each on one line


def test_run_validation_reproduces_the_metrics_training_wrote(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    saved = json.loads((run / "metrics.json").read_text())
    result = evaluate_run_validation(str(run))
    m = result.metrics
    assert (m.n_images, m.confusion, m.classes) == (saved["n_images"], saved["confusion"],
                                                    saved["classes"])
    assert m.accuracy == pytest.approx(saved["accuracy"])
    assert len(result.predictions) == m.n_images
    assert [x.path for x in m.mistakes] == [x["path"] for x in saved["mistakes"]]


def test_a_split_folder_is_scored_on_its_test_images_not_all_subsets(trained_run, tmp_path):
    """evaluate RUN DATA on train/val/test mixed the training images into every figure."""
    from core.events import Log
    from core.infer.evaluation import evaluate_labelled_folder
    from core.infer.loaders import load_predictor
    from PIL import Image

    data, rng = tmp_path / "data", np.random.default_rng(5)
    for subset, n in (("train", 6), ("val", 3), ("test", 2)):
        for cls, level in (("bright", 190), ("dark", 60)):
            (data / subset / cls).mkdir(parents=True)
            for i in range(n):
                arr = np.clip(level + rng.normal(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(arr).save(data / subset / cls / f"{i}.png")
    predictor = load_predictor(trained_run)
    events = []
    result = evaluate_labelled_folder(predictor, str(data), listener=events.append)
    assert result.metrics.n_images == 4
    assert any(isinstance(e, Log) and "scoring its test/ images only" in e.message
               for e in events)
    import shutil

    shutil.rmtree(data / "test")
    assert evaluate_labelled_folder(predictor, str(data)).metrics.n_images == 6
    # Every val/ image damaged: it said "holds train/ only" and scored the 12 training
    # images (accuracy 1.0, exit 0) instead of naming the damage (a bug hunt).
    for f in (data / "val").rglob("*.png"):
        f.write_bytes(b"")
    from core.errors import DataError

    with pytest.raises(DataError, match="none of its images could be read.*val"):
        evaluate_labelled_folder(predictor, str(data))
    (data / "val").rename(data / "Validation")  # any name the scan reads as val/
    with pytest.raises(DataError, match="none of its images could be read.*Validation"):
        evaluate_labelled_folder(predictor, str(data))
    from core.data.dataset import scan_dataset  # the scan itself says where each one was

    damaged = scan_dataset(data).error_problems
    assert damaged and {p.subset for p in damaged} == {"val"}


def test_results_without_an_ece_say_not_recorded_not_perfect():
    """A metrics.json of an early version has no "ece": it read as 0.000, "perfect"."""
    from gui.pages.evaluate.reliability import ece_text

    m = compute_metrics([0, 1], np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
    old = {k: v for k, v in m.to_dict().items() if k not in ("ece", "reliability")}
    read = Metrics.from_dict(old)
    assert read.ece is None and "ECE not recorded" in read.to_text()
    assert "not recorded" in ece_text(read, None) and "0 is perfect" not in ece_text(read, None)
    assert Metrics.from_dict(m.to_dict()).ece == pytest.approx(m.ece)


def test_a_calibration_that_changed_nothing_is_not_called_calibrated():
    """Every validation image right leaves nothing to fit (temperature 1.00): the page said
    "Every probability the app shows is the calibrated one" beside a perfect model that
    answered at 77 % (a novice review)."""
    from gui.pages.evaluate.reliability import ece_text

    m = compute_metrics([0, 1], np.array([[0.77, 0.23], [0.23, 0.77]]), ["a", "b"])
    same = {"n_images": 24, "temperature": 1.0, "ece_before": 0.23, "ece_after": 0.23}
    text = ece_text(m, same)
    assert "changed nothing: the model got all 24 of its validation images right" in text
    assert "calibrated one" not in text
    fitted = ece_text(m, {**same, "temperature": 1.46, "ece_after": 0.05})
    assert "temperature 1.46" in fitted and "calibrated one" in fitted


def test_a_folder_of_copies_only_is_called_that(tmp_path):
    """Every image a copy filed under two classes: the message said there were no images."""
    import shutil

    from PIL import Image

    from core.errors import DataError

    for name in ("bright", "dark"):
        (tmp_path / name).mkdir()
    Image.new("RGB", (8, 8), (200, 200, 200)).save(tmp_path / "bright" / "a.png")
    shutil.copy(tmp_path / "bright" / "a.png", tmp_path / "dark" / "a.png")

    class Classes:  # the predictor is never asked: nothing can be scored
        classes = ["bright", "dark"]

    from core.infer.evaluation import evaluate_labelled_folder

    with pytest.raises(DataError, match="every image is a copy of another"):
        evaluate_labelled_folder(Classes(), str(tmp_path))


def test_scores_without_a_value_are_shown_as_a_dash_not_zero():
    """A class with no image in the folder printed precision, recall and F1 0.000, beside a
    macro F1 of 1.000 that leaves it out."""
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])
    m = compute_metrics([0, 1], probs, ["a", "b", "c"])
    assert m.macro_f1 == 1.0
    assert m.score_texts(0) == ("1.000", "1.000", "1.000")
    assert m.score_texts(2) == ("–", "–", "–")
    text = m.to_text()
    assert "c" in text and "0.000" not in text and "macro F1 averages the classes with" in text
    # images of a class, none taken for it: recall and F1 are 0, precision has no value
    m = compute_metrics([0, 1], np.array([[0.9, 0.1], [0.9, 0.1]]), ["a", "b"])
    assert m.score_texts(1) == ("–", "0.000", "0.000")
    # and the terminal says what its "–" means (a review: the line came only with an empty class)
    assert "(–: no value; precision of a class no image was taken for)" in m.to_text()
    assert "no value" not in compute_metrics([0, 1], np.eye(2), ["a", "b"]).to_text()


def test_the_terminal_text_stays_narrow_with_many_classes_and_long_names():
    """60 classes with an 88-character name printed 958-character lines (a scale review):
    names are cut and, above 12 classes, the most confused pairs replace the matrix."""
    from core.infer.metrics import TEXT_NAME_CHARS, compute_metrics

    classes = ["an_eighty_eight_character_class_name_" * 2 + "x" * 14] + \
        [f"class_{i:02d}" for i in range(1, 60)]
    rng = np.random.default_rng(0)
    y = np.arange(600) % 60
    probs = rng.random((600, 60))
    probs[np.arange(600), y] += 0.9  # mostly right
    m = compute_metrics(y, probs, classes)
    text = m.to_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "most confused" in text and "confusion matrix (rows" not in text
    n, true, predicted = m.confused_pairs()[0]
    assert f"{n:5d}  {true[:TEXT_NAME_CHARS]}" in text or f"{n:5d}  {true}" in text
    few = compute_metrics([0, 1, 2], np.eye(3), ["a", "b", "c"]).to_text()
    assert "confusion matrix (rows" in few and "most confused" not in few


def test_a_folder_named_like_no_class_names_its_folders_and_what_to_do(tmp_path):
    """It said only "no images in folders named like the model's classes (bright, dark)"
    (a window-messages review)."""
    from core.errors import DataError

    root = write_images(tmp_path, {"cat": [10, 30], "dog": [240, 220]})
    with pytest.raises(DataError) as err:
        evaluate_labelled_folder(BrightnessPredictor(("dark", "bright")), str(root))
    text = str(err.value)
    assert "its folders are cat, dog" in text and "named as the model's classes" in text


def test_the_images_a_run_trained_on_are_not_scored_and_it_is_said(trained_run, tmp_path):
    """evaluate RUN on the run's own data folder printed 0.90 on 84 images, 67 of them
    training images, without a word (a serve review)."""
    from core.events import Log
    from core.infer.evaluation import evaluate_labelled_folder, training_images
    from core.infer.loaders import load_predictor
    from core.infer.trained_on import TrainedOn
    from core.runs.folder import RunFolder

    run = RunFolder(trained_run)
    data = run.load_config().data.data_dir
    split = run.split(data)
    trained = training_images(str(trained_run))
    assert len(trained.paths) == len(split.train) > 0 and not trained.problem
    assert training_images(str(tmp_path)) == TrainedOn()  # not a run: nothing known
    events = []
    result = evaluate_labelled_folder(load_predictor(trained_run), data, events.append,
                                      trained_on=trained)
    assert result.metrics.n_images == len(split.val) + len(split.test)
    assert sum(c["kind"] == "trained_on" for c in result.left_out) == len(split.train)
    assert any(isinstance(e, Log) and "ones the model trained on" in e.message
               for e in events)


def test_copies_of_the_training_images_and_exports_of_the_run_are_caught_too(trained_run,
                                                                             tmp_path, capsys):
    """A copy of the run's data folder (``cp -r``, an rsync in CI), an exported model, and a
    run whose config.json is damaged each scored the training images without a word (0.883
    where the validation images give 0.800: a scripting review and an every-backbone
    review); ``--json`` said nothing of what was left out."""
    import json
    import shutil

    from core.cli import main
    from core.infer.evaluation import training_images
    from core.infer.export_meta import METADATA_MARKER
    from core.runs.folder import RunFolder

    run = RunFolder(trained_run)
    split = run.split(run.load_config().data.data_dir)
    copy = tmp_path / "copy"
    shutil.copytree(run.load_config().data.data_dir, copy)
    assert main(["evaluate", str(trained_run), str(copy), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_images"] == len(split.val) + len(split.test)
    assert sum(c["kind"] == "trained_on" for c in out["left_out"]) == len(split.train)

    export = tmp_path / "export"
    export.mkdir()
    (export / "metadata.json").write_text(json.dumps(
        {METADATA_MARKER: True, "source": str(trained_run / "model.keras")}))
    assert training_images(str(export / "model.onnx")) == training_images(str(trained_run))
    (export / "savedmodel").mkdir()  # a SavedModel is a folder inside the export folder
    assert training_images(str(export / "savedmodel")) == training_images(str(trained_run))

    damaged = tmp_path / "run"
    shutil.copytree(trained_run, damaged)
    (damaged / "config.json").write_text("{")
    assert training_images(str(damaged)) == training_images(str(trained_run))


def test_evaluate_in_the_terminal_says_what_the_page_says_beside_the_figures(
        tmp_path, monkeypatch, capsys):
    """The Evaluate page warns when a model answers one class for every image, and when the
    figures rest on few images; ``evaluate`` printed "accuracy: 0.5000" and nothing else
    (a review).  Both notes follow the table; --json keeps to the figures."""
    from core.cli import main

    root = write_images(tmp_path / "data", {"bright": [200, 210, 220], "dark": [190, 230, 240]})
    monkeypatch.setattr("core.infer.loaders.load_predictor", lambda path: BrightnessPredictor())
    assert main(["evaluate", str(tmp_path / "model.keras"), str(root)]) == 0
    out = capsys.readouterr().out
    assert "accuracy: 0.5000 on 6 images" in out
    assert ("\nnote: The model answers ‘bright’ for every image: its 50% right is just that "
            "class's share of the images.") in out
    assert "\nnote: Only 6 images" in out and "More images in that folder" in out
    assert main(["evaluate", "--json", str(tmp_path / "model.keras"), str(root)]) == 0
    assert "note:" not in capsys.readouterr().out
