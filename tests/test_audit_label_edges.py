"""Edges of the journal, labelling and the audit that a bug hunt found, each with real files.

A hand-edited journal line stopped every later undo; two writers at once lost a
batch; ``label --move`` of a link left a dangling link in the data set; a class of
near-copies was called misfiled in full; a changed file with preserved times
kept its old features; non-UTF-8 and multi-line names broke the output.
"""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.audit.fixes import JOURNAL_NAME, Fix, FixJournal
from core.cli import main
from core.features.hashing import RACY_NS, HashIndex, hash_file
from core.label.apply import apply_labels

ROOT = Path(__file__).resolve().parents[1]


def _png(path, level, size=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), level, np.uint8)).save(path)
    return path


def _data(root):
    for i, name in enumerate(("cat", "dog")):
        for j in range(3):
            _png(root / name / f"{name}{j}.png", 20 * i + 5 * j + 1)
    return {str(p): hash_file(str(p)) for p in root.rglob("*.png")}


def test_a_damaged_journal_record_is_named_and_the_rest_still_undoes(tmp_path, capsys):
    stamps = _data(tmp_path)
    journal = FixJournal(tmp_path)
    journal.apply([Fix(str(tmp_path / "cat/cat0.png"), "set_aside")], stamps)  # batch 1
    journal.apply([Fix(str(tmp_path / "cat/cat1.png"), "move", "dog"),
                   Fix(str(tmp_path / "cat/cat2.png"), "set_aside")], stamps)  # batch 2
    path = tmp_path / JOURNAL_NAME
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    del entry["moves"][0]["src"]  # hand-edited: the move of cat1 lost its source
    path.write_text(lines[0] + "\n" + json.dumps(entry) + "\n")

    assert main(["audit", str(tmp_path), "--undo"]) == 1  # something was refused
    out = capsys.readouterr().out
    assert "refused dog/cat1.png: its record in the journal is damaged" in out
    assert (tmp_path / "cat/cat2.png").is_file()  # the rest of the batch was undone
    assert (tmp_path / "dog/cat1.png").is_file()  # the damaged one left where it is
    # ... and the next undo goes on to the batch before (it used to crash for ever)
    assert main(["audit", str(tmp_path), "--undo"]) == 0
    assert (tmp_path / "cat/cat0.png").is_file()


@pytest.mark.parametrize("moves", [None, "x", [["not", "a", "dict"]], [{"op": "teleport"}]])
def test_records_of_any_wrong_shape_never_crash_undo(tmp_path, moves, capsys):
    _data(tmp_path)
    (tmp_path / JOURNAL_NAME).write_text(json.dumps(
        {"type": "batch", "id": "b1", "time": 0, "note": "", "moves": moves}) + "\n")
    assert main(["label", "--undo", "--into", str(tmp_path)]) in (0, 1)
    captured = capsys.readouterr()
    assert "Error" not in captured.err and "Traceback" not in captured.err


def test_two_writers_at_once_lose_no_batch(tmp_path):
    """Two processes each journal 150 batches into one folder at the same time."""
    script = ("import sys; from core.audit.fixes import FixJournal\n"
              "j = FixJournal(sys.argv[1])\n"
              "for i in range(150): j.record(f'{sys.argv[2]}{i}', [])\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), w], env=env)
             for w in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    ids = {e["id"] for e in FixJournal(tmp_path).entries()}
    assert len(ids) == 300 and FixJournal(tmp_path).damaged == 0


def test_links_are_labelled_by_their_image_never_as_dangling_links(tmp_path):
    data, new, other = tmp_path / "data", tmp_path / "new", tmp_path / "other"
    _data(data)
    target = _png(other / "x.png", 200)
    (new).mkdir()
    os.symlink("../other/x.png", new / "rel.png")
    os.symlink(data / "cat" / "cat0.png", new / "into-data.png")

    moved = apply_labels([(str(new / "rel.png"), "cat"), (str(new / "into-data.png"), "dog")],
                         data, move=True)
    reasons = dict(moved.refused)
    assert "--move would move the link, not the image" in reasons[str(new / "rel.png")]
    assert "already inside the data folder" in reasons[str(new / "into-data.png")]
    assert not moved.placed and (new / "rel.png").is_symlink()

    copied = apply_labels([(str(new / "rel.png"), "cat")], data)  # a copy takes the image
    placed = data / "cat" / "rel.png"
    assert copied.placed and not placed.is_symlink()
    assert placed.read_bytes() == target.read_bytes()


def test_a_class_of_near_copies_is_not_called_misfiled(tmp_path):
    from core.audit.labels import score_labels

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(25, 8))
    vectors[20:] = vectors[20] + rng.normal(0, 0.01, (5, 8))  # class c: one burst of 5 shots
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0] * 10 + [1] * 10 + [2] * 5)
    groups = np.arange(25)
    groups[20:] = 20  # the five shots are one near-copy group
    scores = score_labels(vectors, labels, groups, ["a", "b", "c"])
    assert not scores.scored[20:].any()
    assert any("c (5, 1 distinct)" in n for n in scores.notes)
    assert scores.scored[:20].all()


def test_a_file_rewritten_with_its_old_size_and_times_is_hashed_again(tmp_path):
    a, b = _png(tmp_path / "a.bmp", 10, 16), _png(tmp_path / "b.bmp", 250, 16)
    index = HashIndex(tmp_path / "index.json")
    os.utime(a, ns=(1_000_000_000, 1_000_000_000))  # long before it was hashed: trusted
    old = hash_file(str(a))
    index.remember(str(a), old, time.time_ns())
    assert index.lookup(str(a)) is None  # changed (utime) just before: not remembered
    index.remember(str(a), old, time.time_ns() + 3 * RACY_NS)  # as if hashed seconds later
    assert index.lookup(str(a)) == old
    st = os.stat(a)
    a.write_bytes(b.read_bytes())  # same size, new content ...
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... times put back, as `cp -p` does
    assert os.stat(a).st_size == st.st_size and os.stat(a).st_ino == st.st_ino
    assert index.lookup(str(a)) is None  # ctime moved: not trusted


def test_json_output_names_a_file_whose_name_is_not_utf8(tmp_path):
    _data(tmp_path)
    os.rename(tmp_path / "cat" / "cat1.png", os.fsencode(tmp_path / "cat") + b"/caf\xe9.png")
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "inspect", str(tmp_path),
                          "--json"], capture_output=True, env={**os.environ,
                                                               "PYTHONIOENCODING": "utf-8"})
    assert out.returncode == 0, out.stderr
    assert b'"cat/caf\\udce9.png"' in out.stdout  # the byte as a JSON escape
    report = json.loads(out.stdout.decode("utf-8"))  # valid UTF-8 JSON
    assert "cat/caf\udce9.png" in json.dumps(report, ensure_ascii=False)


def _sheet(path, rows, header=("path", "label")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def test_label_csv_and_names_that_used_to_crash(tmp_path, capsys):
    data = tmp_path / "data"
    _data(data)
    _png(tmp_path / "new" / "a.png", 99)
    extra = _sheet(tmp_path / "extra.csv", [["new/a.png", "cat", "surplus"]])
    assert main(["label", "--from", str(extra), "--into", str(data)]) == 0  # used to crash
    assert (data / "cat" / "a.png").is_file()
    assert main(["label", "--undo", "--into", str(data)]) == 0
    capsys.readouterr()

    long = _sheet(tmp_path / "long.csv", [["new/a.png", "x" * 300]])
    assert main(["label", "--from", str(long), "--into", str(data), "--new-classes"]) == 2
    assert "too long for a folder name" in capsys.readouterr().err

    quote = tmp_path / "quote.csv"
    quote.write_text('path,label\n"new/a.png,cat\nnew/b.png,dog\n')
    assert main(["label", "--from", str(quote), "--into", str(data)]) == 2
    assert "a quote (\") is not closed" in capsys.readouterr().err


def test_undo_words_say_what_happened_to_a_copy_and_names_stay_on_one_line(tmp_path, capsys):
    data, new = tmp_path / "data", tmp_path / "new"
    _data(data)
    src = _png(new / "two\nlines.png", 77)
    out = apply_labels([(str(src), "cat")], data)
    assert "two\\nlines.png" in out.describe() and "two\nlines" not in out.describe()
    src.unlink()  # the original is gone: undo moves the copy back instead of removing it
    assert main(["label", "--undo", "--into", str(data)]) == 0
    text = capsys.readouterr().out
    assert "copy removed" not in text and "was never touched" not in text
    assert src.is_file()


def test_suggest_and_predict_follow_linked_folders_and_name_broken_links(tmp_path):
    from core.infer.predictor import expand_image_paths

    top, elsewhere = tmp_path / "unlabelled", tmp_path / "elsewhere"
    _png(top / "a.png", 1)
    _png(elsewhere / "b.png", 2)
    os.symlink(elsewhere, top / "linked")
    os.symlink(top, top / "linked" / "loop")  # a loop back up: read once, no hang
    os.symlink(tmp_path / "missing.png", top / "broken.png")
    found = sorted(Path(p).name for p in expand_image_paths([str(top)]))
    assert found == ["a.png", "b.png", "broken.png"]


def test_an_audit_with_random_weights_or_only_cross_class_copies_says_so(tmp_path, capsys):
    """--weights none listed confident wrong labels with no note; a folder whose every image
    is filed under two classes read '0 classes ... it needs at least 2 classes'."""
    rng = np.random.default_rng(0)
    for i in range(4):
        pixels = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        for cls in ("a", "b"):
            (tmp_path / cls).mkdir(exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / cls / f"{cls}{i}.png")
    assert main(["audit", str(tmp_path), "--backbone", "MobileNetV3Small", "--weights", "none",
                 "--image-size", "32"]) == 0
    out = capsys.readouterr().out
    assert "8 images (8 of them copies that training leaves out), 2 classes" in out
    assert "weights are random (--weights none)" in out
    assert "every image is a copy the scan leaves out" in out


def test_an_audit_where_no_picture_decodes_says_nothing_to_audit(tmp_path, capsys):
    """Headers fine, pixel data cut: the audit said '0 images, 2 classes' and exit 0."""
    import io

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        for i in range(3):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
            data = bytearray(buf.getvalue())
            data[len(data) // 2:len(data) // 2 + 40] = bytes(40)
            (tmp_path / cls).mkdir(exist_ok=True)
            (tmp_path / cls / f"{i}.png").write_bytes(bytes(data))
    assert main(["audit", str(tmp_path), "--backbone", "MobileNetV3Small", "--weights", "none",
                 "--image-size", "32"]) == 2
    err = capsys.readouterr().err
    assert "nothing to audit, none of the 6 image(s) could be decoded" in err
