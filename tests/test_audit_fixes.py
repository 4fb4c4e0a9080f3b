"""core.audit.fixes: moves and set-asides are renames, journalled, undone after a restart."""

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from core.audit.fixes import JOURNAL_NAME, Fix, FixJournal
from core.cli import main
from core.data.dataset import scan_dataset
from core.features.hashing import hash_file


def _folder(root):
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            arr = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / name / f"{name}{i}.png")
    return {str(p): hash_file(str(p)) for p in root.rglob("*.png")}


def test_move_and_set_aside_then_undo_after_a_restart(tmp_path):
    stamps = _folder(tmp_path)
    before = {p: open(p, "rb").read() for p in stamps}
    outcome = FixJournal(tmp_path).apply(
        [Fix(str(tmp_path / "cat/cat0.png"), "move", "dog"),
         Fix(str(tmp_path / "dog/dog1.png"), "set_aside")], stamps)
    assert not outcome.refused
    assert [(m.src, m.dst) for m in outcome.moved] == [
        ("cat/cat0.png", "dog/cat0.png"), ("dog/dog1.png", "_set_aside/dog/dog1.png")]
    assert (tmp_path / "dog/cat0.png").is_file()
    assert (tmp_path / "_set_aside/dog/dog1.png").is_file()
    report = scan_dataset(tmp_path)  # the set-aside folder and the journal are not data
    assert report.counts == {"cat": 2, "dog": 3} and not report.problems
    entry = json.loads((tmp_path / JOURNAL_NAME).read_text().splitlines()[0])
    assert entry["type"] == "batch" and len(entry["moves"]) == 2

    undone = FixJournal(tmp_path).undo_last()  # a new object: as after a restart
    assert not undone.refused and len(undone.moved) == 2
    assert {p: open(p, "rb").read() for p in stamps} == before
    assert not (tmp_path / "dog/cat0.png").exists()
    assert FixJournal(tmp_path).undo_last().batch == ""  # nothing left to undo


def test_a_file_changed_since_the_audit_is_refused(tmp_path):
    stamps = _folder(tmp_path)
    changed = tmp_path / "cat/cat1.png"
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(changed)
    touched = tmp_path / "cat/cat2.png"
    os.utime(touched, ns=(1, 1))  # touched only: same content, still fine
    outcome = FixJournal(tmp_path).apply(
        [Fix(str(changed), "move", "dog"), Fix(str(touched), "set_aside"),
         Fix(str(tmp_path / "dog/dog0.png"), "move", "horse"),
         Fix(str(tmp_path / "dog/dog2.png"), "move", "dog")], stamps)
    reasons = dict(outcome.refused)
    assert "changed on disk since the audit" in reasons[str(changed)]
    assert "class folder 'horse' does not exist" in reasons[str(tmp_path / "dog/dog0.png")]
    assert "already in class 'dog'" in reasons[str(tmp_path / "dog/dog2.png")]
    assert changed.is_file() and [m.src for m in outcome.moved] == ["cat/cat2.png"]


def test_nothing_is_overwritten_and_undo_never_clobbers(tmp_path):
    stamps = _folder(tmp_path)
    (tmp_path / "dog/cat0.png").write_bytes(b"a different file with that name")
    outcome = FixJournal(tmp_path).apply([Fix(str(tmp_path / "cat/cat0.png"), "move", "dog")],
                                         stamps)
    assert outcome.moved[0].dst == "dog/cat0 (2).png"
    (tmp_path / "cat/cat0.png").write_bytes(b"someone put a new file here")
    undone = FixJournal(tmp_path).undo_last()
    assert undone.refused and (tmp_path / "dog/cat0 (2).png").is_file()
    assert (tmp_path / "cat/cat0.png").read_bytes() == b"someone put a new file here"


def test_cli_undo(tmp_path, capsys):
    stamps = _folder(tmp_path)
    FixJournal(tmp_path).apply([Fix(str(tmp_path / "cat/cat0.png"), "set_aside")], stamps)
    assert main(["audit", "--undo", str(tmp_path)]) == 0
    assert "_set_aside/cat/cat0.png -> cat/cat0.png" in capsys.readouterr().out
    assert (tmp_path / "cat/cat0.png").is_file()
    assert main(["audit", "--undo", str(tmp_path)]) == 0
    assert "nothing to undo" in capsys.readouterr().out


def _journal(root, *batches):
    (root / JOURNAL_NAME).write_text("".join(
        json.dumps({"type": "batch", "id": f"b{i}", "time": 0, "note": "", "moves": moves}) + "\n"
        for i, moves in enumerate(batches)))


def test_undo_of_a_batch_a_kill_cut_short_names_the_files_it_never_moved(tmp_path, monkeypatch,
                                                                         capsys):
    """audit --undo listed the two files it moved back and said nothing of the four the
    killed batch never reached (a review)."""
    import pytest

    import core.audit.fixes as fixes

    stamps = _folder(tmp_path)
    real, done = fixes.rename_new, []

    def rename_then_killed(src, dst):
        if len(done) == 2:
            raise SystemExit(137)  # the app killed here: nothing after this line ran
        real(src, dst)
        done.append(src)

    monkeypatch.setattr(fixes, "rename_new", rename_then_killed)
    batch = [Fix(str(tmp_path / f"cat/cat{i}.png"), "move", "dog") for i in range(3)] + \
        [Fix(str(tmp_path / f"dog/dog{i}.png"), "set_aside") for i in range(3)]
    with pytest.raises(SystemExit):
        FixJournal(tmp_path).apply(batch, stamps)
    monkeypatch.setattr(fixes, "rename_new", real)
    assert main(["audit", str(tmp_path), "--undo"]) == 0
    out = capsys.readouterr().out
    assert "2 file(s) moved" in out
    assert ("4 file(s) of the batch left as they are, where they were before it: the batch "
            "never reached them (it was cut short)") in out
    assert "(dog/dog2.png, dog/dog1.png, dog/dog0.png and 1 more)" in out  # as undone: last first
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png")) == \
        sorted(Path(p).relative_to(tmp_path).as_posix() for p in stamps)


def test_undo_never_moves_a_file_out_of_the_data_folder(tmp_path):
    """A journal that came with a copied folder (or was edited) names places outside it:
    a rename back to '../..', and a file 'brought in' from a folder this machine lacks."""
    root = tmp_path / "data"
    stamps = _folder(root)
    c0, d1 = hash_file(str(root / "cat/cat0.png")), hash_file(str(root / "dog/dog1.png"))
    _journal(root, [{"src": "../../outside/renamed.png", "dst": "cat/cat0.png",
                     "size": c0.size, "digest": c0.digest}],
             [{"op": "move_in", "source": str(tmp_path / "elsewhere/deep/in.png"),
               "dst": "dog/dog1.png", "size": d1.size, "digest": d1.digest}],
             [{"op": "move_in", "source": "relative/in.png", "dst": "dog/dog1.png",
               "size": d1.size, "digest": d1.digest}])
    before = {p: open(p, "rb").read() for p in stamps}
    reasons = []
    for _ in range(3):
        outcome = FixJournal(root).undo_last()
        assert outcome.batch and not outcome.moved
        reasons += [why for _p, why in outcome.refused]
    assert {p: open(p, "rb").read() for p in stamps} == before
    assert not (tmp_path / "outside").exists() and not (tmp_path / "elsewhere").exists()
    assert "damaged" in reasons[0] and "damaged" in reasons[2]
    assert "the folder it came from" in reasons[1] and "is not there" in reasons[1]


def test_a_class_called_test_with_sub_folders_is_a_class(tmp_path):
    """The scan reads car/ bus/ test/ as three classes; the fixes did too (they took test/ for
    a subset and put a moved image into test/control/, still in class 'test')."""
    for cls, names in (("control", ["x.png"]), ("test", ["2021/t0.png", "t1.png"])):
        for i, name in enumerate(names):
            (tmp_path / cls / name).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((8, 8, 3), 40 * i + len(cls), np.uint8)).save(
                tmp_path / cls / name)
    assert set(scan_dataset(tmp_path).classes) == {"control", "test"}
    stamps = {str(p): hash_file(str(p)) for p in tmp_path.rglob("*.png")}
    outcome = FixJournal(tmp_path).apply([Fix(str(tmp_path / "test/2021/t0.png"), "move",
                                              "control")], stamps)
    assert [(m.src, m.dst) for m in outcome.moved] == [("test/2021/t0.png", "control/t0.png")]
    assert scan_dataset(tmp_path).counts == {"control": 2, "test": 1}


def test_set_aside_folders_go_with_undo_and_a_batch_that_moved_nothing_is_not_undoable(
        tmp_path, monkeypatch):
    stamps = _folder(tmp_path)
    journal = FixJournal(tmp_path)
    journal.apply([Fix(str(tmp_path / "cat/cat0.png"), "set_aside")], stamps)
    assert json.loads((tmp_path / JOURNAL_NAME).read_text().splitlines()[0])["created"] == [
        "_set_aside", "_set_aside/cat"]
    journal.undo_last()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cat", "dog", JOURNAL_NAME])

    import core.fsutil

    def cross_device(src, dst):
        raise OSError(18, "Invalid cross-device link")
    monkeypatch.setattr(core.fsutil.os, "rename", cross_device)
    moved = journal.apply([Fix(str(tmp_path / "cat/cat1.png"), "move", "dog")], stamps)
    assert [(m.src, m.dst) for m in moved.moved] == [("cat/cat1.png", "dog/cat1.png")]
    monkeypatch.setattr(core.fsutil.os, "link", lambda *a: (_ for _ in ()).throw(
        PermissionError(13, "read-only")))
    monkeypatch.setattr(core.fsutil, "copy_new", lambda *a: (_ for _ in ()).throw(
        PermissionError(13, "read-only")))
    failed = journal.apply([Fix(str(tmp_path / "cat/cat2.png"), "set_aside")], stamps)
    assert not failed.moved and "could not move it" in failed.refused[0][1]
    assert not (tmp_path / "_set_aside").exists()
    assert len(journal.pending_batches()) == 1  # the cross-device move, not the failed one


def test_undo_says_which_change_it_takes_back(tmp_path):
    """The Data and Sort pages share one journal: the Sort page's "Undo (1 left)" took back a
    Check data fix of the day before, and said "1 file(s) put back" (a week-on-the-line
    review).  Now the next Undo and the one done are named."""
    from core.label.apply import apply_labels

    stamps = _folder(tmp_path / "data")
    data = tmp_path / "data"
    FixJournal(data).apply([Fix(str(data / "cat/cat0.png"), "move", "dog"),
                            Fix(str(data / "dog/dog1.png"), "set_aside")], stamps)
    count, damaged, last = FixJournal(data).undo_state()
    assert (count, damaged) == (1, "")
    assert last.startswith("a Check data fix: 1 image(s) set aside, 1 moved to another class, ")
    new = tmp_path / "new"
    new.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(new / "n.png")
    apply_labels([(str(new / "n.png"), "cat")], str(data))
    assert FixJournal(data).undo_state()[2].startswith("1 image(s) added by labelling (copied in)")
    assert FixJournal(data).undo_last().what.startswith("1 image(s) added by labelling")
    assert FixJournal(data).undo_last().what.startswith("a Check data fix")
    assert FixJournal(data).undo_state() == (0, "", "")


def test_links_moved_by_a_fix_still_point_at_their_images_and_undo_puts_them_back(tmp_path):
    """A class folder of relative links (``cat/x.png -> ../store/x.png``) or a link beside its
    file: setting one aside or moving it to another class left a link to nothing, and Undo
    called it "missing" although it was there (an audit review)."""
    stamps = _folder(tmp_path / "data")
    data = tmp_path / "data"
    store = tmp_path / "store"
    store.mkdir()
    os.replace(data / "cat/cat2.png", store / "cat2.png")
    os.symlink("../../store/cat2.png", data / "cat/cat2.png")
    os.symlink("dog0.png", data / "dog/again.png")  # an exact copy of dog0 by a link
    stamps = {str(p): hash_file(str(p)) for p in data.rglob("*.png")}
    before = {p: open(p, "rb").read() for p in stamps}
    links = {p: os.readlink(p) for p in stamps if os.path.islink(p)}

    outcome = FixJournal(data).apply([Fix(str(data / "cat/cat2.png"), "set_aside"),
                                      Fix(str(data / "dog/again.png"), "move", "cat")], stamps)
    assert not outcome.refused
    assert os.readlink(data / "_set_aside/cat/cat2.png") == "../../../store/cat2.png"
    assert open(data / "_set_aside/cat/cat2.png", "rb").read() == before[str(data / "cat/cat2.png")]
    assert os.readlink(data / "cat/again.png") == "../dog/dog0.png"
    assert open(data / "cat/again.png", "rb").read() == before[str(data / "dog/dog0.png")]
    assert not [p for p in os.listdir(data / "cat") if p.startswith(".")]  # no temporary left

    undone = FixJournal(data).undo_last()
    assert not undone.refused and len(undone.moved) == 2
    assert {p: open(p, "rb").read() for p in stamps} == before
    assert {p: os.readlink(p) for p in links} == links  # the links' own text, as it was


def test_a_file_a_kept_link_points_at_is_not_set_aside(tmp_path):
    """"Keep" on the link of a link-and-file pair set the file aside: the kept image became
    a link to nothing.  The file is refused, with what to do instead."""
    _folder(tmp_path)
    os.symlink("dog0.png", tmp_path / "dog/again.png")
    stamps = {str(p): hash_file(str(p)) for p in tmp_path.rglob("*.png")}
    outcome = FixJournal(tmp_path).apply([Fix(str(tmp_path / "dog/dog0.png"), "set_aside"),
                                          Fix(str(tmp_path / "dog/dog1.png"), "set_aside")],
                                         stamps)
    assert outcome.refused == [(str(tmp_path / "dog/dog0.png"),
                                "dog/again.png is a link to it and would point at nothing: "
                                "keep this file and set the link aside instead")]
    assert [m.src for m in outcome.moved] == ["dog/dog1.png"]
    assert (tmp_path / "dog/dog0.png").is_file() and (tmp_path / "dog/again.png").exists()
    # set aside together (the link still names the file's place in the data folder), and
    # both come back as they were
    both = FixJournal(tmp_path).apply([Fix(str(tmp_path / "dog/dog0.png"), "set_aside"),
                                       Fix(str(tmp_path / "dog/again.png"), "set_aside")],
                                      stamps)
    assert not both.refused and os.path.lexists(tmp_path / "_set_aside/dog/again.png")
    assert not FixJournal(tmp_path).undo_last().refused
    assert os.readlink(tmp_path / "dog/again.png") == "dog0.png"
    assert (tmp_path / "dog/again.png").exists() and (tmp_path / "dog/dog0.png").is_file()


def test_undo_moves_back_a_link_whose_image_is_gone(tmp_path):
    """A link whose target went away after the fix is still the name the fix moved: Undo
    called it "missing: moved or deleted since the fix" and left it in _set_aside/."""
    from core.audit.undo_files import undo_rename

    (tmp_path / "cat").mkdir()
    (tmp_path / "_set_aside/cat").mkdir(parents=True)
    os.symlink("../../nowhere.png", tmp_path / "_set_aside/cat/x.png")
    assert undo_rename(tmp_path / "cat/x.png", tmp_path / "_set_aside/cat/x.png",
                       "cat/x.png") == ""
    assert os.readlink(tmp_path / "cat/x.png") == "../nowhere.png"


def test_a_link_the_check_skipped_is_not_called_gone(tmp_path):
    """A broken or looping link is skipped by the check and never among the scan's images:
    after the user's first fix the page said "The folder changed since this check (2 gone)"
    for good, hiding a real change (an audit review)."""
    from types import SimpleNamespace

    from gui.pages.data.audit_stale import changed_since_check

    _folder(tmp_path)
    os.symlink("nowhere.png", tmp_path / "cat/broken.png")
    os.symlink("loop.png", tmp_path / "cat/loop.png")
    images = sorted(str(p) for p in tmp_path.rglob("*.png") if not os.path.islink(p))
    skipped = [(str(tmp_path / "cat/broken.png"), "broken link"),
               (str(tmp_path / "cat/loop.png"), "cannot read")]
    result = SimpleNamespace(paths=images, skipped=skipped)
    report = SimpleNamespace(records=[SimpleNamespace(path=p) for p in images[1:]], copies=[])
    assert changed_since_check(result, report, {images[0]}) == ""
    os.unlink(tmp_path / "cat/broken.png")
    assert "(1 gone)" in changed_since_check(result, report, {images[0]})


def test_kept_images_are_remembered_per_folder_and_a_damaged_record_asks_again(
        tmp_path, monkeypatch):
    """"Keep" leaves the folder as it is, so the app's data folder remembers it (a review);
    a record that cannot be read is no record (the images are asked about again)."""
    from core.audit.kept import kept_file, kept_paths, remember_kept

    monkeypatch.setenv("FTS_DATA_DIR", str(tmp_path / "app"))
    root = tmp_path / "data"
    (root / "cats").mkdir(parents=True)
    a, b = root / "cats" / "a.png", root / "cats" / "b.png"
    for p in (a, b):
        p.write_bytes(b"x")
    remember_kept(str(root), "labels", [str(a)])
    remember_kept(str(root), "outliers", [str(b)])
    assert kept_paths(str(root), "labels") == {str(a)}
    assert kept_paths(str(root), "outliers") == {str(b)}
    assert kept_paths(str(tmp_path / "other"), "labels") == set()  # per folder
    b.rename(root / "cats" / "c.png")  # moved: asked about again
    assert kept_paths(str(root), "outliers") == set()
    kept_file(str(root)).write_text("{not json")
    assert kept_paths(str(root), "labels") == set()
    remember_kept(str(root), "labels", [str(a)])  # written afresh over the damaged one
    assert kept_paths(str(root), "labels") == {str(a)}


def test_undo_never_makes_again_a_class_folder_renamed_since(tmp_path):
    """(a review) cat/cat0.png set aside, then the user renames cat/ to cats/: Undo made cat/
    again with that one image (a new one-image class) and said nothing.  It is refused, named
    with what to do, and the batch stays: once cat/ is made again, Undo puts it back.  A
    sub-folder below a class folder that is there, emptied by the fix and removed since, is
    made again as before; so is a split folder's class, named by its second path part."""
    stamps = _folder(tmp_path)
    journal = FixJournal(tmp_path)
    journal.apply([Fix(str(tmp_path / "cat/cat0.png"), "set_aside"),
                   Fix(str(tmp_path / "dog/dog0.png"), "set_aside")], stamps)
    (tmp_path / "cat").rename(tmp_path / "cats")
    undone = journal.undo_last()
    assert undone.refused == [("_set_aside/cat/cat0.png", (
        "its class folder cat/ is not there (renamed?): put it back by hand from "
        "_set_aside/cat/cat0.png, or make the folder again and Undo again"))]
    assert [(m.src, m.dst) for m in undone.moved] == [("_set_aside/dog/dog0.png", "dog/dog0.png")]
    assert not (tmp_path / "cat").exists() and (tmp_path / "_set_aside/cat/cat0.png").is_file()
    assert scan_dataset(tmp_path).counts == {"cats": 2, "dog": 3}
    (tmp_path / "cat").mkdir()
    again = FixJournal(tmp_path).undo_last()
    assert not again.refused and [(m.src, m.dst) for m in again.moved] == [
        ("_set_aside/cat/cat0.png", "cat/cat0.png")]
    assert not (tmp_path / "_set_aside").exists() and journal.pending_batches() == []

    (tmp_path / "dog/sub").mkdir()
    os.replace(tmp_path / "dog/dog1.png", tmp_path / "dog/sub/dog1.png")
    stamps = {str(p): hash_file(str(p)) for p in tmp_path.rglob("*.png")}
    journal.apply([Fix(str(tmp_path / "dog/sub/dog1.png"), "move", "cats")], stamps)
    (tmp_path / "dog/sub").rmdir()  # emptied by the fix, tidied away
    undone = journal.undo_last()
    assert not undone.refused and (tmp_path / "dog/sub/dog1.png").is_file()

    split = tmp_path / "split"
    for part in ("train", "val"):
        _folder(split / part)
    stamps = {str(p): hash_file(str(p)) for p in split.rglob("*.png")}
    journal = FixJournal(split)
    journal.apply([Fix(str(split / "val/cat/cat1.png"), "set_aside")], stamps)
    (split / "val/cat").rename(split / "val/kitten")
    assert [why.split(" is not")[0] for _p, why in journal.undo_last().refused] == [
        "its class folder val/cat/"]
    assert not (split / "val/cat").exists()
