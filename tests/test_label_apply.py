"""label --from CSV --into DATA_DIR: copies without touching the source, suffixes on a clash,
--move, undo through the audit's journal, and errors that name the file."""

import csv
import hashlib

import numpy as np
import pytest
from PIL import Image

from core.audit.fixes import JOURNAL_NAME
from core.cli import main
from core.label.apply import apply_labels


def _png(path, level):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((8, 8, 3), level, np.uint8)
    Image.fromarray(arr).save(path)
    return path


def _tree(root):
    return {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def folders(tmp_path):
    data, new = tmp_path / "data", tmp_path / "new"
    _png(data / "cat" / "a.png", 10)
    _png(data / "dog" / "b.png", 20)
    _png(new / "a.png", 30)           # same name as data/cat/a.png: a clash
    _png(new / "sub" / "c.png", 40)
    _png(new / "d.png", 50)
    _png(new / "e.png", 60)
    return data, new


def _csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "probability"])
        w.writerows(rows)
    return path


def test_copy_leaves_the_source_alone_suffixes_a_clash_and_undo_restores(folders, tmp_path,
                                                                          capsys):
    data, new = folders
    before_new, before_data = _tree(new), _tree(data)
    sheet = _csv(tmp_path / "review.csv", [[str(new / "a.png"), "cat", "0.9"],
                                           ["new/sub/c.png", "dog", "0.8"],  # relative to CSV
                                           [str(new / "d.png"), "skip", ""],
                                           [str(new / "e.png"), "unknown", ""]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    out = capsys.readouterr().out
    assert "2 image(s) copied" in out and "label --undo --into" in out
    assert "1 skipped" in out and "1 marked unknown" in out
    assert _tree(new) == before_new  # copying never alters the source folder
    after = _tree(data)
    assert after["cat/a.png"] == before_data["cat/a.png"]  # never overwritten
    assert after["cat/a (2).png"] == before_new["a.png"]
    assert after["dog/c.png"] == before_new["sub/c.png"]
    assert (data / JOURNAL_NAME).is_file()

    assert main(["label", "--undo", "--into", str(data)]) == 0
    assert {k: v for k, v in _tree(data).items() if k != JOURNAL_NAME} == before_data
    assert _tree(new) == before_new


def test_move_moves_and_undo_puts_back(folders, tmp_path):
    data, new = folders
    before = _tree(new)
    sheet = _csv(tmp_path / "m.csv", [[str(new / "d.png"), "dog", ""]])
    assert main(["label", "--from", str(sheet), "--into", str(data), "--move"]) == 0
    assert not (new / "d.png").exists()
    assert _tree(data)["dog/d.png"] == before["d.png"]
    assert main(["label", "--undo", "--into", str(data)]) == 0
    assert _tree(new) == before and not (data / "dog" / "d.png").exists()


def test_a_label_not_a_class_is_refused_unless_new_classes(folders, tmp_path, capsys):
    data, new = folders
    sheet = _csv(tmp_path / "n.csv", [[str(new / "d.png"), "bird", ""]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 2
    err = capsys.readouterr().err
    assert "n.csv" in err and "'bird'" in err and "--new-classes" in err
    assert not (data / "bird").exists()
    assert main(["label", "--from", str(sheet), "--into", str(data), "--new-classes"]) == 0
    assert (data / "bird" / "d.png").is_file()


@pytest.mark.parametrize("content", ["file,name\nx.png,cat\n", "", "path,label\n,cat\n",
                                     b"\xff\xfe\x00garbage"])
def test_a_bad_csv_names_the_file(folders, tmp_path, capsys, content):
    data, _ = folders
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["label", "--from", str(bad), "--into", str(data)]) == 2
    assert "bad.csv" in capsys.readouterr().err
    assert main(["label", "--from", str(tmp_path / "missing.csv"), "--into", str(data)]) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_undo_of_a_copy_keeps_it_when_the_original_is_gone(folders):
    data, new = folders
    outcome = apply_labels([(str(new / "e.png"), "cat")], data)
    assert outcome.placed == [(str(new / "e.png"), "cat/e.png")]
    original = (new / "e.png").read_bytes()
    (new / "e.png").unlink()  # the user deleted the source after labelling
    main(["label", "--undo", "--into", str(data)])
    assert (new / "e.png").read_bytes() == original  # moved back, never lost
    assert not (data / "cat" / "e.png").exists()


def test_one_file_that_cannot_be_placed_is_refused_and_the_batch_goes_on(folders, tmp_path,
                                                                        capsys):
    """A file that cannot be placed stopped the batch halfway with exit 2 and no word of what
    had been copied already.  (A name too long once suffixed, 'x…x (2).png', was such a
    file; it is now shortened to fit, see test_file_safety.)"""
    data, new = folders
    (data / "cat" / "d.png").mkdir()  # a folder where the copy of d.png would go ...
    _png(data / "cat" / "d (2).png", 70)  # ... and its numbered name taken by an image
    (new / "gone.png").unlink(missing_ok=True)
    sheet = _csv(tmp_path / "r.csv", [[str(new / "d.png"), "cat", ""],
                                      [str(new / "gone.png"), "cat", ""],
                                      [str(new / "e.png"), "dog", ""]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 1
    out = capsys.readouterr().out
    assert "2 image(s) copied" in out and "gone.png" in out
    assert (data / "cat" / "d (3).png").is_file() and (data / "dog" / "e.png").is_file()
    assert not [p for p in (data / "cat").iterdir() if p.name.startswith(".")]  # no temp left


def test_a_file_where_a_new_class_folder_goes_is_named(folders, tmp_path):
    data, new = folders
    (data / "bird").write_text("not a folder")
    for move in (False, True):
        outcome = apply_labels([(str(new / "d.png"), "bird")], data, move=move,
                               new_classes=True)
        (_, why), = outcome.refused
        assert "is a file, not a folder" in why and (new / "d.png").is_file()


def test_undo_names_a_copy_moved_since(folders, capsys):
    data, new = folders
    apply_labels([(str(new / "e.png"), "cat")], data)
    (data / "cat" / "e.png").rename(data / "dog" / "e.png")  # the user re-filed it
    assert main(["label", "--undo", "--into", str(data)]) == 1
    out = capsys.readouterr().out
    assert "cat/e.png" in out and "moved or deleted since it was labelled" in out
    assert (data / "dog" / "e.png").is_file()  # left where the user put it


def test_undo_removes_the_new_class_folder_it_made_but_keeps_an_empty_one_of_the_user(folders):
    """An undone label batch used to leave its new, now empty, class folder behind."""
    from core.label.apply import undo_last

    data, new = folders
    (data / "mine").mkdir()  # an empty class folder the user made to fill later
    out = apply_labels([(str(new / "d.png"), "bird"), (str(new / "e.png"), "mine")], data,
                       new_classes=True)
    assert len(out.placed) == 2 and (data / "bird" / "d.png").is_file()
    undo_last(data)
    assert not (data / "bird").exists() and (data / "mine").is_dir()
    assert not list((data / "mine").iterdir())


@pytest.mark.parametrize("name", ["a*b", "x.", "_x", ".x", "a/b", "tab\there", "Cat",
                                  # a device on Windows; a first "train" made the data
                                  # folder a split one, and later classes went inside it
                                  "CON", "nul.txt", "Com1", "train", "Test", "valid"])
def test_one_rule_for_a_new_class_name_whichever_way_it_is_made(folders, name):
    """A reviewed CSV, the camera and the Sort step's "New class…" refuse the same names
    (before, each had its own list of forbidden characters)."""
    from core.errors import UserError
    from core.label.apply import class_name_problem
    from core.label.capture import check_class_name

    data, new = folders
    before = _tree(data)
    problem = class_name_problem(name, ["cat", "dog"])
    assert problem
    if name == "Cat":  # a label (or the camera) in another case means the class cat
        assert apply_labels([(str(new / "d.png"), name)], data, new_classes=True).placed == [
            (str(new / "d.png"), "cat/d.png")]
        return
    with pytest.raises(UserError, match="cannot be a class folder|device name"
                                        "|subset of a split"):
        apply_labels([(str(new / "d.png"), name)], data, new_classes=True)
    assert _tree(data) == before
    with pytest.raises(UserError):
        check_class_name(name)


def test_words_that_mean_left_out_are_not_class_names():
    from core.errors import UserError
    from core.label.apply import class_name_problem
    from core.label.capture import check_class_name

    for word in ("none", "Unknown", "skip"):
        assert "left out" in class_name_problem(word)
        with pytest.raises(UserError):
            check_class_name(word)
    assert class_name_problem("new part") == "" and class_name_problem("console") == ""


def test_a_class_folder_called_none_takes_its_images_and_one_batch_names_apart(folders):
    """Images labelled "none" beside a class folder none/ were counted as none of these and
    left out; IMG.PNG and img.png of one batch were one name on macOS and Windows (the
    second refused as "appeared meanwhile")."""
    data, new = folders
    _png(data / "none" / "x.png", 70)
    _png(new / "upper" / "IMG.PNG", 80)
    _png(new / "lower" / "img.png", 90)
    out = apply_labels([(str(new / "d.png"), "none"), (str(new / "e.png"), "unknown"),
                        (str(new / "upper" / "IMG.PNG"), "cat"),
                        (str(new / "lower" / "img.png"), "cat")], data)
    assert (data / "none" / "d.png").is_file() and out.none_of_these == 1
    placed = sorted(dst.split("/")[-1] for _src, dst in out.placed if dst.startswith("cat/"))
    assert placed == ["IMG.PNG", "img (2).png"] and not out.refused


@pytest.mark.parametrize("subsets", [("train", "valid"), ("train", "test"), ("train",),
                                     ("Train", "Validation")])
def test_labels_go_into_train_of_every_split_layout_the_scan_accepts(tmp_path, subsets):
    """A labelled image lands in train/<class>, so the folder still scans as the same split
    (it went into DATA/<class> beside train/ for valid/ or test/, breaking the scan, and made
    train/ alone a class)."""
    from core.data.dataset import scan_dataset
    from core.label.capture import CaptureWriter

    data = tmp_path / "data"
    for sub in subsets:
        for cls, level in (("cat", 10), ("dog", 20)):
            _png(data / sub / cls / f"{sub}-{cls}.png", level)
    before = scan_dataset(data)
    new = _png(tmp_path / "new" / "x.png", 30)
    apply_labels([(str(new), "cat")], data)
    assert (data / subsets[0] / "cat" / "x.png").is_file()
    assert CaptureWriter(data).classes() == ["cat", "dog"]
    after = scan_dataset(data)
    assert after.layout == before.layout == "split"
    assert after.classes == ["cat", "dog"]
    assert len(after.records) == len(before.records) + 1


def test_the_window_s_labels_are_classes_even_when_named_none_or_unknown(tmp_path):
    """A data set whose classes are called "none" and "unknown" could not be sorted into:
    the window's labels were read like a CSV's words and left out."""
    data = tmp_path / "data"
    for cls in ("none", "unknown", "cat"):
        _png(data / cls / "a.png", 10)
    new = [_png(tmp_path / "new" / f"{i}.png", 20 + i) for i in range(3)]
    out = apply_labels([(str(new[0]), "none"), (str(new[1]), "unknown"), (str(new[2]), "")],
                       data, words=False)
    assert (data / "none" / "0.png").is_file() and (data / "unknown" / "1.png").is_file()
    assert out.skipped == 1 and out.none_of_these == 0
    # a CSV's words too: "none" is the class a folder of that name holds ('suggest --csv'
    # writes a suggested class "none" so), and the word where no folder has the name
    again = _png(tmp_path / "new" / "again.png", 40)
    out = apply_labels([(str(again), "none")], data)
    assert out.none_of_these == 0 and len(out.placed) == 1
    (data / "none" / "0.png").unlink()
    (data / "none" / "again.png").unlink()
    (data / "none" / "a.png").unlink()
    (data / "none").rmdir()
    out = apply_labels([(str(new[0]), "none")], data)
    assert out.none_of_these == 1 and not out.placed


def test_a_class_called_none_or_skip_is_a_label_in_the_sort_review():
    from gui.pages.sort.review import NONE, SKIP, Review

    class S:  # a suggestion, as core.label.suggestions gives them
        def __init__(self, path):
            self.path, self.suggested, self.unknown = path, "none", False

    review = Review([S("a"), S("b"), S("c")], ["none", "skip", "cat"])
    for decision in ("none", "skip", NONE):
        review.decide(decision)
    assert review.rows_to_apply() == [("a", "none"), ("b", "skip")]
    assert SKIP not in ("skip", "none") and NONE not in ("skip", "none")


def test_undo_waits_for_no_batch_it_would_cut_in_half(folders):
    """Undo while another window or a `label` command was still copying a batch marked that
    batch undone half-placed, and the next Undo reversed an older batch."""
    import threading

    from core.errors import UserError
    from core.events import Progress
    from core.label.apply import undo_last

    data, new = folders
    before = _tree(data)
    first_copied, go_on = threading.Event(), threading.Event()

    def listener(event):
        if isinstance(event, Progress) and event.done == 1:
            first_copied.set()
            assert go_on.wait(60)

    result = {}
    rows = [(str(new / "d.png"), "dog"), (str(new / "e.png"), "cat")]
    worker = threading.Thread(target=lambda: result.update(
        out=apply_labels(rows, data, listener=listener)))
    worker.start()
    assert first_copied.wait(60)
    with pytest.raises(UserError, match="another change to this folder is under way"):
        undo_last(data)  # another thread: refused at once, nothing undone
    with pytest.raises(UserError, match="under way"):
        apply_labels([(str(new / "a.png"), "cat")], data)
    assert (data / "dog" / "d.png").exists()
    go_on.set()
    worker.join(60)
    assert len(result["out"].placed) == 2
    outcome = undo_last(data)  # now the whole batch goes back, and only it
    assert len(outcome.moved) == 2
    assert {k: v for k, v in _tree(data).items() if k != JOURNAL_NAME} == before


def test_undo_with_no_journal_leaves_the_folder_alone(folders):
    from core.label.apply import undo_last

    data, _ = folders
    assert undo_last(data).batch == "" and not (data / JOURNAL_NAME).exists()


def test_a_file_system_without_locks_does_not_refuse_every_change(folders, monkeypatch):
    """flock's ENOLCK (some NFS and FUSE mounts) was read as 'another change is under way'."""
    import errno
    import fcntl

    from core.label.apply import undo_last

    real = fcntl.flock

    def no_locks(fd, op):
        if op & fcntl.LOCK_NB:
            raise OSError(errno.ENOLCK, "No locks available")
        return real(fd, op)

    monkeypatch.setattr(fcntl, "flock", no_locks)
    data, new = folders
    assert len(apply_labels([(str(new / "d.png"), "dog")], data).placed) == 1
    assert len(undo_last(data).moved) == 1


def test_a_stopped_batch_returns_what_it_placed(folders):
    """Cancelled half-way, the batch raised: the window never heard of the files already
    placed (not marked added, no Undo offered) and a second Add copied them again."""
    from core.events import CancelToken, Progress
    from core.label.apply import undo_last

    data, new = folders
    before = _tree(data)
    token = CancelToken()

    def listener(event):
        if isinstance(event, Progress):
            token.cancel()  # Stop, as the first image is placed

    rows = [(str(new / "d.png"), "cat"), (str(new / "e.png"), "dog"),
            (str(new / "sub" / "c.png"), "dog")]
    out = apply_labels(rows, data, listener=listener, cancel=token)
    assert len(out.placed) == 1 and out.not_tried == 2
    assert "stopped: 2 image(s) not placed" in out.describe()
    undo_last(data)
    after = _tree(data)
    after.pop(JOURNAL_NAME)
    assert after == before


def test_labelled_files_get_names_the_scan_reads(folders, tmp_path):
    """".IMG_0001.png" (hidden from the scan) and "scan_0002" (no image ending) were
    reported "copied into the data set" and never counted or trained on (a bug hunt)."""
    from core.data.dataset import scan_dataset

    data, new = folders
    hidden = _png(new / ".IMG_0001.png", 70)
    bare = new / "scan_0002"
    _png(new / "tmp.png", 80).rename(bare)
    before = scan_dataset(data).counts["cat"]
    long = new / ("s" * 253)  # no room left for ".png": the copy failed (name too long)
    _png(new / "tmp.png", 90).rename(long)
    outcome = apply_labels([(str(hidden), "cat"), (str(bare), "cat"), (str(long), "cat")],
                           data)
    assert sorted(dst for _src, dst in outcome.placed) == ["cat/IMG_0001.png",
                                                           "cat/scan_0002.png",
                                                           "cat/" + "s" * 251 + ".png"]
    assert scan_dataset(data).counts["cat"] == before + 3


def test_undo_finishes_a_move_a_kill_left_with_two_names(folders):
    """Killed between a move's link and its unlink (labelling, or undoing, a moved batch),
    the image had both names: Undo refused it ("exists again") and closed the batch."""
    import os

    from core.label.apply import undo_last

    data, new = folders
    original = (new / "d.png").read_bytes()
    apply_labels([(str(new / "d.png"), "dog")], data, move=True)
    os.link(data / "dog" / "d.png", new / "d.png")  # the kill: the old name not yet gone
    outcome = undo_last(data)
    assert outcome.refused == [] and (new / "d.png").read_bytes() == original
    assert not (data / "dog" / "d.png").exists()


def test_undo_of_copies_a_cut_short_batch_never_made_is_not_a_refusal(folders, monkeypatch):
    """A batch killed (or a disk full) before some copies were made: Undo listed each as
    "not there: moved or deleted since" and exited 1, though nothing was wrong."""
    from core.label.apply import undo_last

    import json

    data, new = folders
    apply_labels([(str(new / "d.png"), "dog"), (str(new / "e.png"), "cat")], data)
    journal = data / JOURNAL_NAME
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["type"] == "placed" and json.loads(lines[-1])["missing"] == []
    journal.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")  # killed before it
    (data / "cat" / "e.png").unlink()  # ... and before this copy was made
    outcome = undo_last(data)
    assert outcome.refused == [] and not (data / "dog" / "d.png").exists()
    assert (new / "d.png").is_file() and (new / "e.png").is_file()
    # a whole batch that said which copies it could not make: those are no refusal either
    import core.label.apply as apply_module

    real = apply_module.copy_new

    def failing(src, dst):
        if str(src).endswith("e.png"):
            raise OSError(5, "Input/output error")
        return real(src, dst)

    monkeypatch.setattr(apply_module, "copy_new", failing)
    outcome = apply_labels([(str(new / "d.png"), "dog"), (str(new / "e.png"), "cat")], data)
    assert len(outcome.refused) == 1 and len(outcome.placed) == 1
    placed = json.loads(journal.read_text(encoding="utf-8").splitlines()[-1])
    assert placed["type"] == "placed" and placed["missing"] == ["cat/e.png"]
    assert undo_last(data).refused == [] and not (data / "dog" / "d.png").exists()


def test_a_journal_line_the_disk_could_not_take_is_cut_back(folders, monkeypatch):
    """A full disk cut the journal mid-record while the error said "the previous version is
    unchanged"; every Undo after it warned of a line it could not read."""
    import errno
    import os

    from core.audit.fixes import FixJournal
    from core.errors import UserError

    data, new = folders
    apply_labels([(str(new / "d.png"), "dog")], data)
    journal = FixJournal(data)
    before = journal.path.read_bytes()

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UserError, match="full"):
        journal.record("x" * 12, [{"op": "capture", "dst": "dog/z.png", "size": 1,
                                   "digest": "0"}])
    monkeypatch.undo()
    assert journal.path.read_bytes() == before
    count, damaged, _last = FixJournal(data).undo_state()
    assert (count, damaged) == (1, "")  # no damaged line to warn of


def test_a_half_copied_image_a_killed_batch_left_is_swept_by_the_next(folders):
    """Killed mid-copy, 'label' left '.e.png.d4wxfe9u.tmp' (part of the image) in the class
    folder for good (a crash-safety review); a fresh one (a copy under way) stays."""
    import os
    import time

    data, new = folders
    dead = data / "cat" / ".e.png.d4wxfe9u.tmp"
    dead.write_bytes(b"\x89PNG half")
    old = time.time() - 3600
    os.utime(dead, (old, old))
    live = data / "cat" / ".f.png.k2j4h5g6.tmp"
    live.write_bytes(b"\x89PNG being written")
    mine = data / "cat" / ".backup.20240101.tmp"  # not a name the app gives its temporaries
    mine.write_text("the user's")
    os.utime(mine, (old, old))
    apply_labels([(str(new / "e.png"), "cat")], data)
    assert not dead.exists() and live.exists() and mine.exists()


def test_undo_never_removes_an_image_a_link_at_its_old_place_points_to(folders):
    """A link left at the old place to the moved image read as "the same file": Undo removed
    the image and left the link pointing at nothing (a review of the fix above)."""
    import os

    from core.label.apply import undo_last

    data, new = folders
    apply_labels([(str(new / "d.png"), "dog")], data, move=True)
    os.symlink(data / "dog" / "d.png", new / "d.png")
    outcome = undo_last(data)
    assert "exists again" in outcome.refused[0][1]
    assert (data / "dog" / "d.png").is_file() and not os.path.islink(data / "dog" / "d.png")


def test_a_class_typed_composed_goes_into_the_macs_decomposed_folder(folders, tmp_path):
    """A Mac writes "Café" as C-a-f-e + a combining accent (NFD); people type é (NFC). The
    typed label was "not a class", or with --new-classes made a second Café folder."""
    import unicodedata

    from core.label.apply import class_name_problem

    data, new = folders
    mac = unicodedata.normalize("NFD", "Café")
    _png(data / mac / "x.png", 70)
    typed = unicodedata.normalize("NFC", "Café")
    sheet = _csv(tmp_path / "c.csv", [[str(new / "d.png"), typed, ""]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == sorted(["cat", "dog", mac])
    assert (data / mac / "d.png").is_file()
    assert "already a class" in class_name_problem("café", {mac})
    from core.label.apply import spelled_as  # both spellings folders: the one typed, always

    assert spelled_as(typed, {mac, typed}) == typed and spelled_as(mac, {typed, mac}) == mac


def test_a_csv_saved_in_another_encoding_is_refused_by_line(folders, tmp_path, capsys):
    """Excel's plain "CSV" is the ANSI code page: "café" came back as caf\\udce9 and made a
    class folder of that name."""
    data, new = folders
    sheet = tmp_path / "excel.csv"
    sheet.write_bytes(f"path,label\n{new / 'd.png'},caf\xe9\n".encode("cp1252"))
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 2
    err = capsys.readouterr().err
    assert "excel.csv, line 2" in err and "CSV UTF-8" in err
    assert sorted(p.name for p in data.iterdir()) == ["cat", "dog"]


def test_a_class_folder_the_scan_leaves_out_is_no_class_to_file_into(folders):
    """A class folder named with a line break is left out by the scan (labels.txt holds one
    class per line), but capture offered it, Sort listed it and `label` filed images into
    it, which training then ignored (a review of this session's change)."""
    from core.errors import UserError
    from core.label.apply import apply_labels, class_name_problem
    from core.label.capture import CaptureWriter

    data, new = folders
    _png(data / "bad\nname" / "x.png", 90)
    writer = CaptureWriter(data)
    assert writer.classes() == ["cat", "dog"]
    with pytest.raises(UserError, match="cannot be a class folder name"):
        writer.start_burst("bad\nname")
    with pytest.raises(UserError):
        apply_labels([(str(new / "d.png"), "bad\nname")], data)
    assert class_name_problem("para\u2029graph")  # a separator Python splits lines at
    assert not (data / "bad\nname" / "d.png").exists()


def test_a_label_typed_in_another_case_is_the_class_and_an_unclear_one_names_its_line(
        folders, tmp_path, capsys):
    """"Mono_0" for the class mono_0 was refused with "There is already a class 'mono_0'",
    naming neither the label as written nor its line."""
    data, new = folders
    sheet = _csv(tmp_path / "case.csv", [[str(new / "d.png"), "Cat", ""],
                                         [str(new / "e.png"), "DOG", ""]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    assert (data / "cat" / "d.png").is_file() and (data / "dog" / "e.png").is_file()
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == ["cat", "dog"]
    capsys.readouterr()
    (data / "Dog").mkdir()  # two folders a case apart (ext4 keeps both): which one?
    _png(data / "Dog" / "x.png", 77)
    sheet = _csv(tmp_path / "unclear.csv", [[str(new / "a.png"), "cat", ""],
                                            [str(new / "sub" / "c.png"), "DOG", ""]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 2
    err = capsys.readouterr().err
    assert "unclear.csv, line 3" in err and "'DOG'" in err and "'Dog' and 'dog'" in err
    assert "only in case" in err


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_csv_excel_wrote_with_semicolons_or_tabs_is_read(folders, tmp_path, sep):
    """Excel in a German or French locale separates columns with ";" (also "CSV UTF-8"): the
    CSV was refused as having no path,label header."""
    data, new = folders
    sheet = tmp_path / "semi.csv"
    sheet.write_text(f"\ufeffpath{sep}label{sep}probability\n{new / 'd.png'}{sep}dog{sep}0,98\n"
                     f"new/sub/c.png{sep}cat{sep}0,71\n", encoding="utf-8")
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    assert (data / "dog" / "d.png").is_file() and (data / "cat" / "c.png").is_file()


def test_a_path_excel_saved_in_its_ansi_encoding_says_so_not_moved_or_deleted(folders,
                                                                               tmp_path, capsys):
    """"café.png" from a CSV re-saved by Excel as plain "CSV" (cp1252) was refused as "no such
    file (moved or deleted since the suggestions)"; a file whose name is not UTF-8 on disk
    (as suggest writes it) is still taken."""
    import os

    data, new = folders
    (new / "café.png").write_bytes((new / "d.png").read_bytes())
    sheet = tmp_path / "excel.csv"
    sheet.write_bytes(f"path,label\n{new / 'café.png'},dog\n".encode("cp1252"))
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 2
    err = capsys.readouterr().err
    assert "excel.csv, line 2: the path is not UTF-8 text" in err and "CSV UTF-8" in err
    latin = os.fsencode(str(new)) + b"/caf\xe9.png"  # a Latin-1 name on disk
    with open(latin, "wb") as fh:
        fh.write((new / "e.png").read_bytes())
    sheet.write_bytes(b"path,label\n" + latin + b",dog\n")
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0


def test_a_new_class_in_a_split_data_set_gets_its_folder_in_every_subset(tmp_path):
    """label --new-classes (or Sort's New class…, or the camera) made train/cracked only:
    the scan then refused the whole data set ("the class folders in .../val differ"), and
    Data, Update the model and train all failed."""
    import numpy as np

    from core.data.dataset import scan_dataset
    from core.label.apply import undo_last
    from core.label.capture import CaptureWriter

    data = tmp_path / "data"
    for sub in ("train", "val", "test"):
        for cls, level in (("cat", 10), ("dog", 20)):
            _png(data / sub / cls / f"{sub}-{cls}.png", level)
    before = _tree(data)
    new = _png(tmp_path / "new" / "x.png", 30)
    out = apply_labels([(str(new), "bird")], data, new_classes=True)
    assert out.placed == [(str(new), "train/bird/x.png")]
    assert (data / "val" / "bird").is_dir() and (data / "test" / "bird").is_dir()
    assert "bird" in scan_dataset(data).classes  # the data set still scans
    undo_last(data)
    assert {k: v for k, v in _tree(data).items() if k != JOURNAL_NAME} == before
    assert not (data / "val" / "bird").exists()
    assert not (data / "train" / "bird").exists()

    writer = CaptureWriter(data)
    writer.save(np.full((16, 16, 3), 99, np.uint8), writer.start_burst("fox"))
    assert (data / "val" / "fox").is_dir() and "fox" in scan_dataset(data).classes
    writer.undo_last_burst()
    assert not (data / "val" / "fox").exists() and not (data / "train" / "fox").exists()


def test_a_csv_from_a_pipe_is_read_whole(folders, tmp_path, capsys):
    """``label --from <(grep -v skip review.csv)``: the file was opened twice, the first
    look for a byte-order mark ate "pa" of the header, and the CSV was refused as having
    no path,label header (a CLI review)."""
    import os

    if not os.path.isdir("/dev/fd"):
        pytest.skip("no /dev/fd")
    data, new = folders
    text = f"path,label\n{new / 'd.png'},dog\n".encode()
    read, write = os.pipe()
    try:
        os.write(write, text)
        os.close(write)
        assert main(["label", "--from", f"/dev/fd/{read}", "--into", str(data)]) == 0
    finally:
        os.close(read)
    assert (data / "dog" / "d.png").is_file()


def test_a_folder_given_as_the_csv_is_named_as_a_folder(folders, capsys):
    """``label --from data``: "not a readable CSV ([Errno 21] Is a directory ...); save it as
    UTF-8 CSV" (a CLI review)."""
    data, new = folders
    assert main(["label", "--from", str(new), "--into", str(data)]) == 2
    err = capsys.readouterr().err
    assert f"{new} is a folder; give the reviewed CSV file" in err and "Errno" not in err


def test_a_tab_in_a_file_name_is_printed_escaped(folders, tmp_path, capsys):
    """The summary printed a tab in a file name raw, where predict and suggest show it as
    \\t (a CLI review)."""
    data, new = folders
    odd = _png(new / "tab\there.png", 70)
    sheet = _csv(tmp_path / "t.csv", [[str(odd), "dog", ""]])
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 0
    out = capsys.readouterr().out
    assert "\t" not in out and "tab\\there.png" in out


def test_a_stop_while_the_data_set_is_hashed_for_copies_stops_then(tmp_path, monkeypatch):
    """Looking for exact copies in a large data set hashed every image of the labelled ones'
    sizes; a Stop (Ctrl+C) then waited for the last of them (a review)."""
    import core.features.hashing as hashing
    from core.events import CancelToken

    data, new = tmp_path / "data", tmp_path / "new"
    for i in range(60):
        _png(data / "cat" / f"{i}.png", i)  # 8x8 of one colour: all of one size
    rows = [(str(_png(new / f"n{i}.png", 100 + i)), "cat") for i in range(3)]
    stop, real, hashed = CancelToken(), hashing.hash_file, []

    def hash_then_stop(path):
        hashed.append(path)
        stop.cancel()  # the user presses Stop (or Ctrl+C) while the data set is hashed
        return real(path)

    monkeypatch.setattr(hashing, "hash_file", hash_then_stop)
    out = apply_labels(rows, data, cancel=stop)
    assert len(hashed) < 20  # the files queued after the press were not read
    assert out.placed == [] and out.not_tried == 3 and not (data / JOURNAL_NAME).exists()


def test_label_from_dash_reads_the_csv_from_standard_input(folders, tmp_path, monkeypatch,
                                                           capsys):
    """``label --from -`` said "-: no such file", though ``suggest --json -`` writes to
    stdout: a CSV filtered by a pipe (grep, awk) could not be given (a review)."""
    import io
    import sys

    data, new = folders
    sheet = _csv(tmp_path / "review.csv", [[str(new / "d.png"), "dog", "0.9"],
                                           ["new/e.png", "cat", "0.8"]])  # relative: cwd
    monkeypatch.chdir(tmp_path)

    def piped(text: bytes):
        stream = io.TextIOWrapper(io.BytesIO(text))
        stream.isatty = lambda: False
        monkeypatch.setattr(sys, "stdin", stream)

    piped(sheet.read_bytes())
    assert main(["label", "--from", "-", "--into", str(data)]) == 0
    assert "2 image(s) copied" in capsys.readouterr().out
    assert (data / "dog" / "d.png").is_file() and (data / "cat" / "e.png").is_file()
    piped(b"path,label\nnew/d.png,bird\n")  # its messages name standard input
    assert main(["label", "--from", "-", "--into", str(data)]) == 2
    assert "standard input (--from -): label(s) 'bird' are not classes" in capsys.readouterr().err
    terminal = io.TextIOWrapper(io.BytesIO(b""))
    terminal.isatty = lambda: True  # nothing piped in: said at once, not a silent wait
    monkeypatch.setattr(sys, "stdin", terminal)
    assert main(["label", "--from", "-", "--into", str(data)]) == 2
    assert "none is piped in" in capsys.readouterr().err
