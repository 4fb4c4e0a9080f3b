"""core.data.dataset: scanning real folders, problems, warnings, layouts and the split."""

import json
import shutil
import os
import threading

import numpy as np
import pytest
from PIL import Image

from core.data.dataset import Split, require_usable, scan_dataset, split_dataset
from core.data.dataset_report import DatasetReport, ImageRecord
from core.errors import DataError
from core.events import CancelToken, Cancelled, Progress


def _img(path, seed=0, size=(32, 24), fmt=None):
    """A distinct small image (noise, so no two seeds give the same bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, format=fmt)
    return path


def _make(root, spec, start=0):
    """spec: {class: n_images}; returns the next free seed."""
    seed = start
    for name, n in spec.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            _img(root / name / f"{name}_{i:03d}.png", seed=seed)
            seed += 1
    return seed


def _kinds(report):
    return sorted((os.path.relpath(p.path, report.root), p.kind) for p in report.problems)


def test_missing_and_file_root_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        scan_dataset(tmp_path / "nope")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        scan_dataset(f)


def test_basic_classes_counts_and_labels(tmp_path):
    _make(tmp_path, {"zebra": 12, "Ant": 11, "bee": 10})
    report = scan_dataset(tmp_path)
    assert report.layout == "classes"
    assert report.classes == sorted(["zebra", "Ant", "bee"]) == ["Ant", "bee", "zebra"]
    assert report.counts == {"Ant": 11, "bee": 10, "zebra": 12}
    assert report.usable and report.unusable_reason == ""
    assert report.problems == [] and report.warnings == []
    for rec in report.records:
        assert report.classes[rec.label] == rec.class_name
        assert (rec.width, rec.height) == (32, 24)
        assert rec.subset == ""
        assert os.path.isabs(rec.path) and os.path.exists(rec.path)
    require_usable(report)
    json.dumps(report.to_dict())


def test_problem_files_hidden_nested_and_non_images(tmp_path):
    seed = _make(tmp_path, {"cat": 10, "dog": 10})
    (tmp_path / "cat" / "zero.jpg").write_bytes(b"")
    (tmp_path / "cat" / "fake.jpg").write_text("not an image")
    good = (tmp_path / "dog" / "dog_000.png").read_bytes()
    (tmp_path / "dog" / "cut.png").write_bytes(good[: len(good) // 2])  # cut-off download
    (tmp_path / "dog" / "notes.txt").write_text("labels by Bob")
    (tmp_path / "dog" / ".hidden.png").write_bytes(good[:10])  # hidden: ignored entirely
    _img(tmp_path / ".git" / "x.png", seed=seed)  # hidden folder: not a class
    _img(tmp_path / "dog" / ".thumbs" / "t.png", seed=seed + 1)  # hidden nested folder
    _img(tmp_path / "cat" / "more" / "deeper" / "café photo 1.png", seed=seed + 2)
    (tmp_path / "cat" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")  # what Windows leaves
    (tmp_path / "dog" / "desktop.ini").write_text("[.ShellClassInfo]")  # (listed as problems)
    report = scan_dataset(tmp_path)
    assert report.classes == ["cat", "dog"]
    assert report.counts == {"cat": 11, "dog": 10}  # the nested image counts for its top class
    assert any(r.path.endswith(os.path.join("more", "deeper", "café photo 1.png"))
               and r.class_name == "cat" for r in report.records)
    kinds = dict(_kinds(report))
    assert kinds[os.path.join("cat", "zero.jpg")] == "empty"
    assert kinds[os.path.join("cat", "fake.jpg")] == "not_image"
    assert kinds[os.path.join("dog", "cut.png")] == "corrupt"
    assert kinds[os.path.join("dog", "notes.txt")] == "non_image_file"
    assert not any(".hidden" in p or ".git" in p or ".thumbs" in p or "Thumbs.db" in p
                   or "desktop.ini" in p for p in kinds)
    assert report.usable
    text = report.to_text()
    assert "zero.jpg" in text and "empty" in text and "notes.txt" in text


def test_oversized_header_is_a_problem(tmp_path):
    import struct
    import zlib

    _make(tmp_path, {"a": 10, "b": 10})
    data = bytearray((tmp_path / "a" / "a_000.png").read_bytes())
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    (tmp_path / "a" / "bomb.png").write_bytes(bytes(data))
    report = scan_dataset(tmp_path)
    assert (os.path.join("a", "bomb.png"), "oversized") in _kinds(report)
    assert report.counts["a"] == 10


def test_duplicates_within_and_across_classes(tmp_path):
    _make(tmp_path, {"cat": 10, "dog": 10})
    cat0 = (tmp_path / "cat" / "cat_000.png").read_bytes()
    (tmp_path / "cat" / "zz_copy.png").write_bytes(cat0)          # same class: later copy out
    (tmp_path / "cat" / "sub").mkdir()
    (tmp_path / "cat" / "sub" / "copy2.png").write_bytes(cat0)
    dog1 = (tmp_path / "dog" / "dog_001.png").read_bytes()
    (tmp_path / "cat" / "mislabeled.png").write_bytes(dog1)       # across classes: both out
    # Same size, different bytes: must not be called a duplicate.
    other = bytearray(cat0)
    other[-20] ^= 0xFF
    (tmp_path / "cat" / "same_size_other.png").write_bytes(bytes(other))
    report = scan_dataset(tmp_path)
    kinds = _kinds(report)
    assert (os.path.join("cat", "zz_copy.png"), "duplicate") in kinds
    assert (os.path.join("cat", "sub", "copy2.png"), "duplicate") in kinds
    assert (os.path.join("cat", "cat_000.png"), "duplicate") not in kinds
    assert (os.path.join("cat", "mislabeled.png"), "cross_class_duplicate") in kinds
    assert (os.path.join("dog", "dog_001.png"), "cross_class_duplicate") in kinds
    assert not any("same_size_other" in p for p, _ in kinds)
    paths = {os.path.relpath(r.path, report.root) for r in report.records}
    assert os.path.join("cat", "cat_000.png") in paths
    assert os.path.join("dog", "dog_001.png") not in paths
    assert os.path.join("cat", "mislabeled.png") not in paths
    assert report.counts == {"cat": 11, "dog": 9}


def test_large_same_size_files_compare_whole_content(tmp_path):
    # Files bigger than the 64 KiB head that differ only at the end are not duplicates.
    _make(tmp_path, {"a": 10, "b": 10})
    arr = np.random.default_rng(5).integers(0, 256, size=(200, 200, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a" / "big1.bmp")
    data = bytearray((tmp_path / "a" / "big1.bmp").read_bytes())
    assert len(data) > 64 * 1024
    data[-1] ^= 0xFF
    (tmp_path / "a" / "big2.bmp").write_bytes(bytes(data))
    (tmp_path / "a" / "big3.bmp").write_bytes((tmp_path / "a" / "big1.bmp").read_bytes())
    kinds = _kinds(scan_dataset(tmp_path))
    assert (os.path.join("a", "big3.bmp"), "duplicate") in kinds
    assert not any("big2" in p or "big1" in p for p, _ in kinds)


def test_warnings_small_imbalanced_empty_single(tmp_path):
    _make(tmp_path, {"many": 30, "few": 3})
    (tmp_path / "empty_class").mkdir()
    report = scan_dataset(tmp_path)
    assert report.classes == ["few", "many"]  # the empty folder is left out, with a warning
    text = " | ".join(report.warnings)
    assert "empty_class" in text
    assert "'few' has only 3" in text
    assert "imbalanced" in text
    assert report.usable

    single = tmp_path / "single"
    _make(single, {"only": 12})
    (single / "nothing").mkdir()
    report = scan_dataset(single)
    assert not report.usable
    assert "at least 2 classes" in report.unusable_reason
    assert any("only one class" in w for w in report.warnings)
    with pytest.raises(DataError, match="at least 2 classes"):
        require_usable(report)
    assert "\n" not in report.unusable_reason


def test_empty_root_is_not_usable(tmp_path):
    report = scan_dataset(tmp_path)
    assert report.records == [] and not report.usable
    assert "no usable images" in report.unusable_reason


def test_loose_images_in_root_warned(tmp_path):
    _make(tmp_path, {"a": 10, "b": 10})
    _img(tmp_path / "stray.png", seed=999)
    report = scan_dataset(tmp_path)
    assert any("belong to no class" in w for w in report.warnings)
    assert report.counts == {"a": 10, "b": 10}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_does_not_hang_and_linked_class_works(tmp_path):
    data = tmp_path / "data"
    _make(data, {"a": 10})
    elsewhere = tmp_path / "elsewhere"
    _make(elsewhere, {"b": 10}, start=100)
    try:
        os.symlink(data / "a", data / "a" / "loop")            # a/loop -> a
        os.symlink(data, data / "a" / "up")                    # a/up -> data (contains a)
        os.symlink(elsewhere / "b", data / "b")                # a linked class folder
        os.symlink(tmp_path / "missing.png", data / "a" / "broken.png")
    except OSError:
        pytest.skip("symlinks not permitted here")
    done = {}
    worker = threading.Thread(target=lambda: done.setdefault("r", scan_dataset(data)))
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "scan hung on a symlink loop"
    report = done["r"]
    assert report.classes == ["a", "b"]
    assert report.counts["b"] == 10
    assert (os.path.join("a", "broken.png"), "unreadable") in _kinds(report)
    # a/up/a/... re-reads the same files under another path: found as duplicates, not twice
    assert report.counts["a"] == 10


def test_file_vanishing_mid_scan_is_a_problem(tmp_path, monkeypatch):
    import core.data.dataset as dataset_mod

    _make(tmp_path, {"a": 10, "b": 10})
    victim = str(tmp_path / "b" / "b_005.png")
    real_probe = dataset_mod.probe_file

    def probe_then_delete(path):
        if os.fspath(path) == str(tmp_path / "a" / "a_000.png"):
            os.remove(victim)  # deleted after listing, before its header is read
        return real_probe(path)

    monkeypatch.setattr(dataset_mod, "probe_file", probe_then_delete)
    report = scan_dataset(tmp_path)
    assert (os.path.join("b", "b_005.png"), "unreadable") in _kinds(report)
    assert report.counts == {"a": 10, "b": 9}


def test_progress_and_cancel(tmp_path, monkeypatch):
    import core.data.dataset as dataset_mod

    monkeypatch.setattr(dataset_mod, "PROGRESS_EVERY", 4)
    _make(tmp_path, {"a": 10, "b": 10})
    events = []
    scan_dataset(tmp_path, listener=events.append)
    header = [e for e in events if isinstance(e, Progress) and "header" in e.message]
    assert header[-1].done == header[-1].total == 20
    assert len(header) >= 5

    token = CancelToken()

    def cancel_midway(event):
        if isinstance(event, Progress) and event.done >= 8:
            token.cancel()

    with pytest.raises(Cancelled):
        scan_dataset(tmp_path, listener=cancel_midway, cancel=token)


# ----------------------------------------------------------------- split layout


def _make_split(root, classes=("cat", "dog"), train=10, val=3, test=0):
    seed = 0
    for subset, n in (("train", train), ("val", val), ("test", test)):
        if subset == "test" and not n:
            continue
        for name in classes:
            for i in range(n):
                _img(root / subset / name / f"{i}.jpg", seed=seed, fmt="JPEG")
                seed += 1


def test_split_layout(tmp_path):
    _make_split(tmp_path, test=2)
    report = scan_dataset(tmp_path)
    assert report.layout == "split"
    assert report.classes == ["cat", "dog"]
    assert report.counts == {"cat": 15, "dog": 15}
    assert report.subset_counts == {"train": {"cat": 10, "dog": 10}, "val": {"cat": 3, "dog": 3},
                                    "test": {"cat": 2, "dog": 2}}
    split = split_dataset(report, val_split=0.5, seed=1)
    assert len(split.train) == 20 and len(split.val) == 6 and len(split.test) == 4
    assert all(r.subset == "train" for r in split.train)
    assert all(r.subset == "val" for r in split.val)
    assert "train 10, val 3, test 2" in report.to_text()


def test_split_layout_class_mismatch_names_folders(tmp_path):
    _make_split(tmp_path)
    _img(tmp_path / "val" / "bird" / "x.jpg", seed=500, fmt="JPEG")
    with pytest.raises(DataError) as info:
        scan_dataset(tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "val") in msg and str(tmp_path / "train") in msg and "bird" in msg


def test_split_layout_leak_between_train_and_val_removed(tmp_path):
    _make_split(tmp_path)
    leaked = (tmp_path / "train" / "cat" / "0.jpg").read_bytes()
    (tmp_path / "val" / "cat" / "leak.jpg").write_bytes(leaked)
    report = scan_dataset(tmp_path)
    assert (os.path.join("val", "cat", "leak.jpg"), "duplicate") in _kinds(report)
    assert report.subset_counts["train"]["cat"] == 10


def test_folder_named_train_with_other_classes_is_class_layout(tmp_path):
    _make(tmp_path, {"train": 10, "boat": 10})
    report = scan_dataset(tmp_path)
    assert report.layout == "classes" and report.classes == ["boat", "train"]


# ----------------------------------------------------------------- splitting


def test_split_stratified_seeded_min_one_val(tmp_path):
    _make(tmp_path, {"a": 20, "b": 10, "c": 2, "d": 1})
    report = scan_dataset(tmp_path)
    split = split_dataset(report, val_split=0.2, seed=7)
    val_counts = {c: sum(r.class_name == c for r in split.val) for c in report.classes}
    assert val_counts == {"a": 4, "b": 2, "c": 1, "d": 0}
    assert {r.path for r in split.train}.isdisjoint({r.path for r in split.val})
    assert len(split.train) + len(split.val) == len(report.records)
    assert split.test == []

    again = split_dataset(scan_dataset(tmp_path), val_split=0.2, seed=7)
    assert [r.path for r in again.val] == [r.path for r in split.val]
    other = split_dataset(report, val_split=0.2, seed=8)
    assert [r.path for r in other.val] != [r.path for r in split.val]

    # Adding a class does not reshuffle the existing ones.
    _make(tmp_path, {"e": 10}, start=1000)
    grown = split_dataset(scan_dataset(tmp_path), val_split=0.2, seed=7)
    old = {os.path.relpath(r.path, tmp_path) for r in split.val}
    new = {os.path.relpath(r.path, tmp_path) for r in grown.val if r.class_name != "e"}
    assert old == new


def test_split_tiny_fraction_still_one_val_and_zero_means_none(tmp_path):
    _make(tmp_path, {"a": 3, "b": 2})
    report = scan_dataset(tmp_path)
    split = split_dataset(report, val_split=0.01, seed=0)
    assert sorted(r.class_name for r in split.val) == ["a", "b"]
    assert all(any(r.class_name == c for r in split.train) for c in ("a", "b"))
    assert split_dataset(report, val_split=0.0).val == []
    with pytest.raises(DataError):
        split_dataset(report, val_split=1.0)


def test_split_round_trip_relative_paths(tmp_path):
    root = tmp_path / "data"
    _make(root, {"a": 10, "b": 10})
    split = split_dataset(scan_dataset(root), val_split=0.3, seed=3)
    data = json.loads(json.dumps(split.to_dict()))
    for item in data["train"] + data["val"]:
        assert not os.path.isabs(item["path"])
    same = Split.from_dict(data)
    assert same == split

    moved = tmp_path / "moved"
    os.rename(root, moved)
    relocated = Split.from_dict(data, root=moved)
    assert [os.path.relpath(r.path, moved) for r in relocated.val] == \
        [os.path.relpath(r.path, root) for r in split.val]
    assert all(os.path.exists(r.path) for r in relocated.train + relocated.val)
    assert relocated.seed == 3 and relocated.val_fraction == 0.3

    with pytest.raises(DataError):
        Split.from_dict({"seed": 1, "val_fraction": 0.2, "train": [{"label": 0}]})


@pytest.mark.parametrize("evil", ["../../etc/passwd", "a/../../outside.png", "/etc/hostname"])
def test_a_saved_split_pointing_outside_the_data_folder_is_refused(tmp_path, evil):
    """Issue 14.15: split.json paths that leave the data root were read."""
    root = tmp_path / "data"
    _make(root, {"a": 4, "b": 4})
    data = split_dataset(scan_dataset(root), val_split=0.5, seed=1).to_dict()
    data["train"][0]["path"] = evil
    with pytest.raises(DataError, match=r"train\[0\] points outside the data folder"):
        Split.from_dict(data)
    with pytest.raises(DataError, match="start a new run"):
        Split.from_dict(data, root=root)


def test_report_to_dict_round_trips_through_json(tmp_path):
    _make(tmp_path, {"a": 10, "b": 10})
    (tmp_path / "a" / "bad.png").write_bytes(b"")
    report = scan_dataset(tmp_path)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"] == {"a": 10, "b": 10}
    assert data["usable"] is True
    assert data["problems"][0]["kind"] == "empty"
    assert len(data["records"]) == 20
    assert isinstance(report, DatasetReport) and isinstance(report.records[0], ImageRecord)


@pytest.mark.parametrize("extra, words", [
    (["unsorted"], "and also unsorted/"),
    (["valid"], "holds val/ and valid/"),
])
def test_a_split_folder_with_something_else_in_it_is_refused_not_read_as_classes(
        tmp_path, extra, words):
    """It was read as classes "train", "unsorted", "val": a model of the subsets."""
    from core.errors import DataError

    for sub in ("train", "val", *extra):
        for cls in ("cat", "dog"):
            (tmp_path / sub / cls).mkdir(parents=True)
            Image.new("RGB", (8, 8)).save(tmp_path / sub / cls / "x.png")
    with pytest.raises(DataError, match=words):
        scan_dataset(tmp_path)


def test_an_empty_name_is_no_folder_not_the_working_folder():
    from core.errors import DataError

    with pytest.raises(DataError, match="no data folder given"):
        scan_dataset("")


def test_a_non_image_name_with_a_line_break_stays_on_one_line(tmp_path):
    """"notes\\nReady to train.txt" printed a fake "Ready to train." line in inspect."""
    for cls, level in (("a", 30), ("b", 220)):
        (tmp_path / cls).mkdir()
        Image.new("RGB", (8, 8), (level, level, level)).save(tmp_path / cls / "x.png")
    (tmp_path / "a" / "notes\nReady to train.txt").write_text("x")
    text = scan_dataset(tmp_path).to_text()
    assert "a/notes\\nReady to train.txt" in text
    assert not any(line.startswith("Ready to train.txt") for line in text.splitlines())


@pytest.mark.parametrize("test_images", [2, 0])
def test_train_and_test_without_val_is_split_and_validates_on_part_of_train(tmp_path,
                                                                           test_images):
    """train/ + test/ (the usual download) was read as classes "test" and "train", a model
    that told the subsets apart; train/ alone said "only class 'train' has images"."""
    _make_split(tmp_path, val=0, test=test_images)
    shutil.rmtree(tmp_path / "val", ignore_errors=True)
    report = scan_dataset(tmp_path)
    assert report.layout == "split" and report.classes == ["cat", "dog"]
    assert report.val_from_train and report.unusable_reason == ""
    assert "validation images are taken from train/" in report.to_text()
    split = split_dataset(report, val_split=0.2, seed=3)
    assert len(split.val) == 4 and len(split.train) == 16 and len(split.test) == 2 * test_images
    assert {r.subset for r in split.train + split.val} == {"train"}
    assert {r.subset for r in split.test} <= {"test"}
    assert split_dataset(report, val_split=0.2, seed=3).val == split.val  # seeded


def test_a_val_folder_of_copies_says_why_it_has_no_usable_images(tmp_path):
    _make_split(tmp_path, val=0)
    for cls in ("cat", "dog"):
        (tmp_path / "val" / cls).mkdir(parents=True)
        shutil.copy(tmp_path / "train" / cls / "0.jpg", tmp_path / "val" / cls / "a.jpg")
    reason = scan_dataset(tmp_path).unusable_reason
    assert str(tmp_path / "val") in reason and "2 image(s) are all byte-for-byte copies" in reason


def test_a_class_folder_linked_from_a_drive_not_connected_is_named(tmp_path):
    """A broken link was dropped without a word: a class missing from training, unexplained."""
    import os

    from PIL import Image

    for k, cls in enumerate(("cat", "dog")):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.new("RGB", (8, 8), (60 * i, 90 * k, 30)).save(tmp_path / cls / f"{i}.png")
    os.symlink(tmp_path / "unplugged" / "bird", tmp_path / "bird")
    report = scan_dataset(tmp_path)
    assert report.classes == ["cat", "dog"]
    assert any(str(tmp_path / "bird") in w and "not there" in w for w in report.warnings)


def test_jfif_and_jpe_files_are_images_everywhere(tmp_path):
    """A browser on Windows saves JPEGs as .jfif: 'predict FILE.jfif' answered, yet the scan
    listed them as non-images and 'predict FOLDER' found no images."""
    from core.infer.predictor import expand_image_paths

    for k, cls in enumerate(("cat", "dog")):
        (tmp_path / cls).mkdir()
        for i, ext in enumerate((".jfif", ".jpe")):
            Image.new("RGB", (16, 16), (80 * k, 40 * i, 90)).save(tmp_path / cls / f"{i}{ext}",
                                                                  "JPEG")
    report = scan_dataset(tmp_path)
    assert report.counts == {"cat": 2, "dog": 2} and not report.problems
    assert len(expand_image_paths([str(tmp_path)])) == 4


def test_a_windows_drive_roots_system_folders_are_not_classes(tmp_path):
    """A USB stick's root chosen as the data folder listed $RECYCLE.BIN and System Volume
    Information as classes (a portability review)."""
    from core.data.folder_walk import subfolders

    for name in ("cats", "dogs", "$RECYCLE.BIN", "System Volume Information"):
        (tmp_path / name).mkdir()
    assert subfolders(str(tmp_path)) == ["cats", "dogs"]


def test_images_without_class_folders_and_unreadable_ones_are_said_as_they_are(tmp_path):
    """A folder of images with no class folders, and class folders of damaged files, were
    both told to "put each class's images in its own sub-folder" (a window-messages review)."""
    from PIL import Image

    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(5):
        Image.new("RGB", (8, 8)).save(flat / f"{i}.png")
    reason = scan_dataset(flat).unusable_reason
    assert "holds 5 image(s) but no class folders: make one sub-folder per class" in reason
    broken = tmp_path / "broken"
    for cls in ("a", "b"):
        (broken / cls).mkdir(parents=True)
        (broken / cls / "x.png").write_bytes(b"not a png")
    reason = scan_dataset(broken).unusable_reason
    assert "none of its images can be read" in reason and "sub-folder" not in reason


def test_a_data_folder_gone_since_the_scan_is_not_told_to_be_made_readable(tmp_path):
    """Training after the folder was deleted said "No such file or directory; make it
    readable" (a window-messages review)."""
    from core.data.folder_walk import subfolders

    with pytest.raises(DataError) as err:
        subfolders(str(tmp_path / "gone"))
    assert "is not there any more" in str(err.value) and "readable" not in str(err.value)


def test_loose_images_beside_class_folders_and_copies_are_not_misnamed(tmp_path):
    """Empty class folders beside a loose image were called "no class folders", and classes
    of identical copies "none of its images can be read" (a review of the fix above)."""
    from PIL import Image

    both = tmp_path / "both"
    for cls in ("good", "bad"):
        (both / cls).mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(both / "x.png")
    assert "no class folders" not in scan_dataset(both).unusable_reason
    copies = tmp_path / "copies"
    for cls in ("good", "bad"):
        (copies / cls).mkdir(parents=True)
        Image.new("RGB", (8, 8), "red").save(copies / cls / "0.png")
    assert "can be read" not in scan_dataset(copies).unusable_reason


def test_a_broken_or_looping_image_link_says_what_to_do(tmp_path):
    """"broken link (its target is missing)" and "cannot read (Too many levels of symbolic
    links)" ended without a step to take, unlike every other problem line (an audit review)."""
    import os

    for k, cls in enumerate(("cat", "dog")):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.new("RGB", (8, 8), (60 * i, 90 * k, 30)).save(tmp_path / cls / f"{i}.png")
    os.symlink("../store/x.png", tmp_path / "cat" / "gone.png")
    os.symlink("loop.png", tmp_path / "cat" / "loop.png")
    reasons = {os.path.basename(p.path): p.reason for p in scan_dataset(tmp_path).problems}
    assert reasons == {
        "gone.png": "broken link: it points at ../store/x.png, which is not there; put the "
                    "image back there or remove the link",
        "loop.png": "link that leads back to itself (loop.png, a loop); remove it or point "
                    "it at an image"}


def test_images_whose_size_sets_them_apart_are_warned_about(tmp_path):
    """An 8×8 icon and a 4000×50 strip among 300 px photos were used without a word, and the
    audit called the icon a wrong label (an audit review); a folder whose images are all
    small or all long is no warning."""
    rng = np.random.default_rng(0)

    def noise(w, h, mode="RGB"):
        shape = (h, w, 3) if mode == "RGB" else (h, w)
        return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)

    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(10):
            noise(300, 280).save(tmp_path / cls / f"{i}.png")
    noise(8, 8).save(tmp_path / "cat" / "icon.png")
    noise(4000, 50).save(tmp_path / "dog" / "strip.png")
    warnings = scan_dataset(tmp_path).warnings
    assert warnings == [
        "1 image(s) are under a quarter of the folder's typical size (300 px on the longer "
        "side): cat/icon.png (8×8); the model sees each blown up to its input size, mostly "
        "blur: check that they belong, or remove them",
        "1 image(s) are over 4 times longer or narrower than the folder's other images: "
        "dog/strip.png (4000×50); the model sees every image squashed to a square, so these "
        "lose their shape: crop them to the part that matters"]
    digits = tmp_path / "digits"
    for cls in ("one", "two"):
        (digits / cls).mkdir(parents=True)
        for i in range(10):
            noise(28, 28, "L").save(digits / cls / f"{i}.png")
    noise(280, 28, "L").save(digits / "one" / "strip.png")  # 10:1, like none other
    assert scan_dataset(digits).warnings == [
        "1 image(s) are over 4 times longer or narrower than the folder's other images: "
        "one/strip.png (280×28); the model sees every image squashed to a square, so these "
        "lose their shape: crop them to the part that matters"]
