"""Defects found by driving the CLI with bad input, each with the behaviour now expected.

Outputs never replace what the user made (a report written over the run's model.keras,
a CSV over labels.json), and a path that cannot be written is refused before the work;
``label`` takes image files only; a damaged journal still undoes; a model that is not
a classifier, a corrupt config.json and a folder of unreadable images each get a
clear message and exit status 2 instead of a traceback or a confident wrong answer.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.audit.fixes import JOURNAL_NAME
from core.cli import main
from core.data.sample_data import generate_sample_dataset
from core.infer.metrics import NO_MISTAKES


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


def _image(trained_run) -> Path:
    return sorted((trained_run.parent / "data" / "bright").glob("*.png"))[0]


def _cut_jpeg(path: Path, keep: float = 0.6) -> Path:
    """A JPEG whose header is intact but whose image data stops part-way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return path


def test_output_paths_are_checked_before_the_work(run_copy, tmp_path):
    from core.cli.output_path import check_output_file
    from core.errors import UserError

    ok = check_output_file(tmp_path / "new" / "deeper" / "r.html", "the report", (".html",))
    assert ok.parent.is_dir()  # its folder is made
    (tmp_path / "afile.txt").write_text("x")
    for bad, words in ((tmp_path, "is a folder"),
                       (tmp_path / "r.pdf", "ending in .html"),
                       (tmp_path / "afile.txt" / "r.html", "is a file, not a folder")):
        with pytest.raises(UserError, match=words):
            check_output_file(bad, "the report", (".html",))
    for own in ("labels.json", "History.CSV"):  # Windows and macOS ignore case
        with pytest.raises(UserError, match="run folder's own files"):
            check_output_file(run_copy / own, "the output", (".json", ".csv"))
    if Path("/proc/self").is_dir():  # a folder that takes no new file
        with pytest.raises(UserError, match="cannot write the report in /proc"):
            check_output_file("/proc/fts-report.html", "the report", (".html",))


def test_report_and_predict_never_replace_the_runs_files(run_copy, trained_run, tmp_path,
                                                         capsys):
    model_before = (run_copy / "model.keras").read_bytes()
    labels_before = (run_copy / "labels.json").read_bytes()
    assert main(["report", str(run_copy), "--out", str(run_copy / "model.keras")]) == 2
    assert "ending in .html" in capsys.readouterr().err
    assert main(["predict", str(run_copy), str(_image(trained_run)), "--csv",
                 str(run_copy / "labels.json")]) == 2
    assert main(["report", str(run_copy), "--out", str(tmp_path / "r.pdf")]) == 2
    assert "print it to PDF" in capsys.readouterr().err
    assert (run_copy / "model.keras").read_bytes() == model_before
    assert (run_copy / "labels.json").read_bytes() == labels_before


def test_report_mistakes_zero_hides_them_without_claiming_none(run_copy, tmp_path, capsys):
    assert main(["report", str(run_copy), "--out", str(tmp_path / "r.html"),
                 "--mistakes", "-1"]) == 2
    assert main(["report", str(run_copy), "--out", str(tmp_path / "r.html"),
                 "--mistakes", "0"]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Not shown: the report was asked for none" in html
    assert NO_MISTAKES not in html


def test_a_report_on_a_corrupt_config_does_not_show_defaults_as_the_runs(run_copy, tmp_path):
    from core.report.gather import gather
    from core.report.html import render_report

    (run_copy / "config.json").write_text('{"version": 2, "data": ', encoding="utf-8")
    data = gather(run_copy)
    assert data.settings == [] and "MobileNetV2" not in data.title  # the run is V3Small
    assert any("settings" in n for n in data.notes)
    assert "Not known: the run's config.json could not be read" in render_report(data)
    (run_copy / "config.json").write_text("{}", encoding="utf-8")  # every default, no settings
    data = gather(run_copy)
    assert data.settings == [] and any("holds no model settings" in n for n in data.notes)


def test_label_takes_image_files_only(trained_run, tmp_path, capsys):
    data = tmp_path / "data"
    (data / "cat").mkdir(parents=True)
    text = tmp_path / "in" / "notes.jpg"
    text.parent.mkdir()
    text.write_text("not an image at all")
    folder = tmp_path / "in" / "a-folder"
    folder.mkdir()
    good = tmp_path / "in" / "good.png"
    shutil.copy(_image(trained_run), good)
    sheet = tmp_path / "review.csv"
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["path", "label"], [str(text), "cat"], [str(folder), "cat"],
                                  [str(good), "cat"]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 1  # some refused
    out = capsys.readouterr().out
    assert "not an image this app can read" in out and "a folder, not an image file" in out
    assert out.count("can read") == 1  # said once ("...: not an image this app can read")
    assert sorted(p.name for p in (data / "cat").iterdir()) == ["good.png"]


def test_a_damaged_journal_still_labels_and_undoes(trained_run, tmp_path, capsys):
    data = tmp_path / "data"
    (data / "cat").mkdir(parents=True)
    journal = data / JOURNAL_NAME
    journal.write_bytes(b"\x00\xff\xfe garbage\n")  # was: UnicodeDecodeError, exit 1
    good = tmp_path / "good.png"
    shutil.copy(_image(trained_run), good)
    sheet = tmp_path / "review.csv"
    sheet.write_text(f"path,label\n{good},cat\n", encoding="utf-8")
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    assert (data / "cat" / "good.png").is_file()
    assert journal.read_bytes().startswith(b"\x00\xff\xfe garbage\n")  # kept as it was
    capsys.readouterr()
    assert main(["label", "--undo", "--into", str(data)]) == 0
    out = capsys.readouterr().out
    assert not (data / "cat" / "good.png").exists() and good.is_file()
    assert "1 line(s) of the journal" in out
    assert main(["audit", str(data), "--undo"]) == 0
    assert "1 line(s) of the journal" in capsys.readouterr().err  # nothing left to undo
    assert main(["label", "--undo", "--into", str(tmp_path / "no-such-folder")]) == 2
    assert main(["audit", str(tmp_path / "no-such-folder"), "--undo"]) == 2
    assert main(["label", "--undo", "--from", str(sheet), "--into", str(data)]) == 2


def test_a_model_that_is_not_a_classifier_is_named_as_such(tmp_path):
    import keras

    from core.errors import ModelFileError
    from core.export.source import open_source
    from core.infer.loaders import load_predictor

    inp = keras.Input((32, 32, 3))
    features = keras.layers.Conv2D(8, 3, strides=8)(inp)  # a backbone without its head
    path = tmp_path / "features.keras"
    keras.Model(inp, features).save(path)
    for opener in (load_predictor, open_source):
        with pytest.raises(ModelFileError, match="not one probability per class"):
            opener(path)
    assert main(["predict", str(path), str(tmp_path)]) == 2


def test_folders_of_unreadable_images_are_errors_not_answers(run_copy, tmp_path, capsys):
    held = tmp_path / "held"
    _cut_jpeg(held / "bright" / "cut.jpg")  # the scan finds it cut off
    assert main(["evaluate", str(run_copy), str(held)]) == 2
    err = capsys.readouterr().err
    assert "none of its images could be read" in err and "the JPEG is cut off" in err
    assert main(["predict", str(run_copy), str(held / "bright" / "cut.jpg")]) == 2
    out = capsys.readouterr()
    # Named once, in its row (it had a warning line with the same sentence too, a review).
    assert (out.out + out.err).count("cut.jpg") == 1 and "skipped: " in out.err
    assert main(["suggest", str(run_copy), str(held)]) == 2
    assert main(["suggest", str(run_copy), str(held / "bright" / "cut.jpg")]) == 2  # a file


@pytest.mark.skipif(os.name != "posix", reason="file names that are not UTF-8 are POSIX's")
def test_suggest_csv_names_a_file_whose_name_is_not_utf8_and_label_reads_it(
        run_copy, trained_run, tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    odd = os.path.join(os.fsencode(new), b"bad\xffname.png")
    shutil.copy(_image(trained_run), os.fsdecode(odd))
    sheet = tmp_path / "s.csv"
    assert main(["suggest", str(run_copy), str(new), "--csv", str(sheet)]) == 0  # was a crash
    assert b"bad\xffname.png" in sheet.read_bytes()
    data = tmp_path / "data"
    (data / "bright").mkdir(parents=True)
    with open(sheet, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        paths = [row["path"] for row in csv.DictReader(fh)]
    assert paths == [os.fsdecode(odd)]
    with open(sheet, "w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        csv.writer(fh).writerows([["path", "label"], [paths[0], "bright"]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    assert os.listdir(os.fsencode(data / "bright")) == [b"bad\xffname.png"]
    json_out = tmp_path / "s.json"
    assert main(["suggest", str(run_copy), str(new), "--json", str(json_out)]) == 0
    import json

    assert json.loads(json_out.read_text(encoding="utf-8"))["suggestions"][0]["path"] \
        == os.fsdecode(odd)


def test_a_predict_csv_feeds_label_from_where_predict_ran(trained_run, tmp_path, monkeypatch,
                                                          capsys):
    work = tmp_path / "work"
    (work / "new").mkdir(parents=True)
    shutil.copy(_image(trained_run), work / "new" / "x.png")
    monkeypatch.chdir(work)
    assert main(["predict", str(trained_run), "new", "--csv", "out/p.csv"]) == 0
    data = tmp_path / "data"
    (data / "bright").mkdir(parents=True)
    rows = list(csv.DictReader(open(work / "out" / "p.csv", encoding="utf-8")))
    assert rows[0]["path"] == os.path.join("new", "x.png")  # relative to where predict ran
    sheet = work / "out" / "review.csv"
    sheet.write_text(f"path,label\n{rows[0]['path']},bright\n", encoding="utf-8")
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    assert (data / "bright" / "x.png").is_file()


def test_predict_options_and_a_closed_pipe(run_copy, trained_run, tmp_path):
    """--top-k 0 and --threshold nan were taken silently; `predict ... --csv F | head -1`
    died of BrokenPipeError before writing the CSV."""
    import subprocess
    import sys

    image = str(_image(trained_run))
    assert main(["predict", str(run_copy), image, "--top-k", "0"]) == 2
    assert main(["predict", str(run_copy), image, "--threshold", "nan"]) == 2
    many = tmp_path / "many"
    many.mkdir()
    for i in range(40):
        shutil.copy(image, many / f"img{i:02d}.png")
    out = tmp_path / "p.csv"
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(f"{sys.executable} main.py predict {run_copy} {many} --csv {out} "
                          "| head -1", shell=True, cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert "BrokenPipeError" not in proc.stderr, proc.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 41  # header + every image


def test_messages_name_what_is_missing_and_what_an_undo_did(run_copy, trained_run, tmp_path,
                                                            capsys):
    from core.errors import ModelFileError
    from core.export.source import open_source
    from core.infer.loaders import load_predictor

    (run_copy / "config.json").unlink()  # was: "not a model this app can open"
    for opener in (load_predictor, open_source):
        with pytest.raises(ModelFileError, match="a run folder without its config.json"):
            opener(run_copy)
    labels = tmp_path / "dup" / "labels.txt"
    labels.parent.mkdir()
    shutil.copy(run_copy / "model.keras", labels.parent / "model.keras")
    labels.write_text("bright\nbright\n", encoding="utf-8")  # two outputs, one name
    with pytest.raises(ModelFileError, match="appear more than once"):
        load_predictor(labels.parent / "model.keras")
    # Undoing a copy removes the copy; it used to print "moved cat/x.png -> /the/original".
    data = tmp_path / "data"
    (data / "cat").mkdir(parents=True)
    original = tmp_path / "x.png"
    shutil.copy(_image(trained_run), original)
    sheet = tmp_path / "r.csv"
    sheet.write_text(f"path,label\n{original},cat\n", encoding="utf-8")
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    capsys.readouterr()
    assert main(["label", "--undo", "--into", str(data)]) == 0
    out = capsys.readouterr().out
    assert "cat/x.png: copy removed" in out and "file(s) moved" not in out and original.is_file()


@pytest.mark.skipif(os.name != "posix", reason="a line break in a file name is POSIX's")
def test_inspect_lists_a_file_with_a_line_break_in_its_name_on_one_line(trained_run, tmp_path,
                                                                         capsys):
    data = tmp_path / "data"
    for cls in ("bright", "dark"):
        shutil.copytree(trained_run.parent / "data" / cls, data / cls)
    (data / "dark" / "bad\nname.jpg").write_text("not an image")
    main(["inspect", str(data)])
    lines = capsys.readouterr().out.splitlines()
    assert any("bad\\nname.jpg: " in line for line in lines)
    assert not any(line.startswith("name.jpg") for line in lines)


def test_paths_the_system_refuses_and_folders_that_cannot_be_made_are_named(tmp_path, capsys):
    """A name over 255 bytes gave "error: OSError: [Errno 36] ... (run with -v)", exit 1;
    train --out /proc/x a bare FileNotFoundError after the scan."""
    from weights_fixture import make_bright_dark

    long_name = str(tmp_path / ("L" * 300 + ".keras"))
    assert main(["inspect-model", long_name]) == 2
    err = capsys.readouterr().err
    assert "cannot use" in err and "File name too long" in err and "-v" not in err
    data = make_bright_dark(tmp_path / "data", per_class=4)
    assert main(["train", str(data), "--backbone", "MobileNetV3Small", "--weights", "none",
                 "--image-size", "32", "--epochs", "1", "--out", "/proc/fts-x"]) == 2
    assert "cannot write /proc/fts-x" in capsys.readouterr().err


def test_rebuild_of_a_missing_folder_and_its_warnings_are_said(tmp_path, capsys):
    assert main(["runs", "--rebuild", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_rebuild_of_a_file_says_it_is_a_file(tmp_path, capsys):
    """``runs --rebuild fake.keras`` said "no such folder" for a file that is there."""
    model = tmp_path / "fake.keras"
    model.write_bytes(b"x")
    assert main(["runs", "--rebuild", str(model)]) == 2
    err = capsys.readouterr().err
    assert f"{model}: a file, not a folder" in err and "no such folder" not in err


def test_a_damaged_split_is_named(run_copy, capsys):
    run = run_copy
    (run / "split.json").write_text('{"root": 5, "train": "x"}')
    assert main(["calibrate", str(run)]) == 2
    err = capsys.readouterr().err
    assert str(run / "split.json") in err and "put it back" in err
    (run / "split.json").write_text('{"train": [], "val": []}')  # a KeyError said "('seed')"
    assert main(["calibrate", str(run)]) == 2
    assert "saved split: damaged ('seed' is missing)" in capsys.readouterr().err


def test_audit_undo_with_json_and_inspect_with_stdout_closed(tmp_path, capsys, monkeypatch):
    """`audit --undo --json` printed text and undid anyway; `inspect ... >&-` crashed on
    flushing a closed stdout."""
    import sys

    from weights_fixture import make_bright_dark

    data = make_bright_dark(tmp_path / "data", per_class=3)
    assert main(["audit", str(data), "--undo", "--json"]) == 2
    assert "leave out --json" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdout", None)
    assert main(["inspect", str(data)]) == 0


def test_an_export_folder_with_a_damaged_metadata_file_is_called_that(tmp_path, capsys):
    """It was called a run folder missing config.json and labels.json."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"PK")
    (folder / "metadata.json").write_text('{"classes": 5')
    image = tmp_path / "img.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    assert main(["predict", str(folder), str(image)]) == 2
    err = capsys.readouterr().err
    assert "metadata.json: damaged" in err and "config.json" not in err


def test_mixed_up_paths_get_a_hint_and_a_path_is_said_once(tmp_path, capsys, monkeypatch):
    """A folder missing only by a trailing space showed the space invisibly; an image folder
    given to --resume said only "not a run folder"; `--out afile.txt` named the file twice."""
    data = tmp_path / "data"
    generate_sample_dataset(data, classes=["a", "b"], per_class=4, size=16)
    assert main(["inspect", str(data) + " "]) == 2
    assert f"(note the space at its end or start; did you mean '{data}'?)" in \
        capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # a space before a relative name was glued onto the folder
    assert main(["inspect", " data"]) == 2
    assert f"did you mean '{data}'?" in capsys.readouterr().err
    split = tmp_path / "split"  # a data set split into train/ and val/ is images too
    (split / "train" / "a").mkdir(parents=True)
    shutil.copy(next((data / "a").iterdir()), split / "train" / "a" / "x.png")
    assert main(["predict", str(split), str(data / "a")]) == 2
    assert "it looks like a folder of images, not a model" in capsys.readouterr().err
    runs = tmp_path / "runs"  # a folder of runs has no images in it: no "images" hint
    (runs / "2026-run").mkdir(parents=True)
    (runs / "2026-run" / "config.json").write_text("{}")
    assert main(["predict", str(runs), str(data / "a")]) == 2
    assert "folder of images" not in capsys.readouterr().err
    assert main(["train", "--resume", str(data)]) == 2
    assert "it looks like an image folder; give the folder 'train' wrote" in \
        capsys.readouterr().err
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    assert main(["train", str(data), "--weights", "none", "--image-size", "32",
                 "--out", str(afile)]) == 2
    err = capsys.readouterr().err
    assert err.count(str(afile)) == 1 and "is a file, not a folder" in err
    assert main(["predict", str(data), str(data / "a")]) == 2  # the arguments swapped
    assert "it looks like a folder of images, not a model" in capsys.readouterr().err
    run = tmp_path / "run"  # a run that lost its config.json: not "not a run folder"
    run.mkdir()
    (run / "run.json").write_text('{"status": "completed"}')
    (run / "labels.json").write_text('["a", "b"]')
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 2
    assert "a run folder without its config.json; put it back from a copy of the run" in \
        capsys.readouterr().err


def test_tensorflow_that_cannot_be_imported_is_an_install_to_mend_not_a_bug(tmp_path):
    """Without TensorFlow every command said it hit a bug (a window-messages review found the
    window's pages saying "Something went wrong: ModuleNotFoundError")."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    code = ("import sys; sys.path.insert(0, %r); sys.modules['tensorflow'] = None\n"
            "from core.cli import main\n"
            "sys.exit(main(['train', %r, '--weights', 'none']))" % (str(root), str(tmp_path)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "TensorFlow could not be loaded" in out.stderr
    assert "pip install -r requirements.txt" in out.stderr and "bug" not in out.stderr


def test_a_module_tensorflow_needs_that_is_missing_is_said_as_tensorflow(tmp_path):
    """A TensorFlow broken by a missing dependency (ml_dtypes, protobuf) was still "a bug"
    (a review of the fix above): the import fails inside TensorFlow's own code."""
    from core.tfenv import missing_tensorflow

    fake = tmp_path / "site" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("import ml_dtypes_that_is_not_there\n")
    import sys

    sys.path.insert(0, str(tmp_path / "site"))
    saved = sys.modules.pop("tensorflow", None)
    try:
        with pytest.raises(ImportError) as err:
            import tensorflow  # noqa: F401
    finally:
        sys.path.remove(str(tmp_path / "site"))
        sys.modules.pop("tensorflow", None)
        if saved is not None:
            sys.modules["tensorflow"] = saved
    assert err.value.name == "ml_dtypes_that_is_not_there"
    assert missing_tensorflow(err.value).startswith("TensorFlow could not be loaded")
    assert missing_tensorflow(ImportError("x", name="yaml")) == ""


def test_a_cut_off_tiff_is_named_without_pillows_exif_warning(tmp_path):
    """Pillow's "UserWarning: Corrupt EXIF data" (a site-packages path, no file name) led
    inspect's output for a cut-off TIFF that is reported anyway (a review)."""
    import io
    import subprocess
    import sys

    rng = np.random.default_rng(3)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), np.uint8)).save(
                tmp_path / cls / f"n{i}.png")
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (128, 128, 3), np.uint8)).save(
        buf, "TIFF", compression="tiff_lzw")
    (tmp_path / "a" / "cut.tif").write_bytes(buf.getvalue()[:len(buf.getvalue()) // 2])
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "main.py"), "inspect", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "cut.tif" in out.stdout + out.stderr
    assert "Warning" not in out.stderr and "site-packages" not in out.stdout + out.stderr


def test_predicting_with_a_run_that_is_still_training_says_so(run_copy, tmp_path, capsys):
    """A resumed run's earlier model.keras answered as if it were the run's model (note 24's
    leftover): the answers now come with a warning while its trainer holds the run."""
    from core.infer.loaders import load_predictor
    from core.runs.folder import RunFolder
    from core.runs.lock import acquire, release

    run = RunFolder(run_copy)
    image = tmp_path / "one.png"
    Image.new("RGB", (32, 32), (250, 250, 250)).save(image)
    run.update_run_info(status="running")
    acquire(run)  # a live trainer holds it
    try:
        assert "is still training" in load_predictor(run_copy).caution
        assert main(["predict", str(run_copy), str(image)]) == 0
        assert "warning: " in capsys.readouterr().err
    finally:
        release(run)
    assert load_predictor(run_copy).caution == ""  # its trainer gone: nothing to say
