"""The user's images and files under stress: long names that clash, a read-only source, an
Undo one file of which cannot go back, a file replaced since a fix, a journal of another
shape, a live export's staging folder, class names apart only by case, a linked project."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.audit.fixes import JOURNAL_NAME, Fix, FixJournal
from core.errors import UserError
from core.features.hashing import hash_file
from core.fsutil import leftover_pid, move_new
from core.path_names import free_name
from core.label.apply import apply_labels


def _png(path: Path, level: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), level, np.uint8)).save(path)
    return path


def _data(root: Path) -> Path:
    for i, cls in enumerate(("cat", "dog")):
        _png(root / cls / f"{cls}0.png", 40 + 100 * i)
    return root


def test_a_long_name_that_clashes_gets_a_numbered_name_that_fits_and_undo_works(tmp_path):
    """A 253-byte name plus " (2)" could not be created: the file was refused, and every
    Undo after it failed with "File name too long", blocking older batches for good."""
    data = _data(tmp_path / "data")
    name = "猫" * 83 + ".png"  # 253 bytes
    _png(data / "cat" / name, 10)
    new = _png(tmp_path / "new" / name, 200)
    target = free_name(data / "cat" / name)
    assert len(target.name.encode()) <= 255 and target.name.endswith(" (2).png")
    outcome = apply_labels([(str(new), "cat")], data)
    assert not outcome.refused and Path(outcome.placed[0][1]).name == target.name
    assert len(list((data / "cat").iterdir())) == 3
    undone = FixJournal(data).undo_last()
    assert not undone.refused and len(list((data / "cat").iterdir())) == 2
    assert new.exists()


def test_a_source_that_cannot_be_unlinked_leaves_no_copy_in_the_data_set(tmp_path, monkeypatch):
    """A move from a read-only card placed the image, failed to delete the original, said
    "refused", and left the copy in the data set for Undo to refuse too."""
    src = _png(tmp_path / "card" / "a.png", 90)
    dst = tmp_path / "data" / "cat" / "a.png"
    real = os.unlink

    def read_only(path, *a, **k):
        if Path(path) == src:
            raise PermissionError(30, "Read-only file system", str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(os, "unlink", read_only)
    with pytest.raises(PermissionError):
        move_new(src, dst)
    assert src.exists() and not dst.exists()


def test_one_file_that_cannot_go_back_is_named_and_the_rest_undoes(tmp_path, monkeypatch):
    """A UserError from one file (its card removed) stopped Undo half-way, every time."""
    import core.audit.fixes as fixes

    data = _data(tmp_path / "data")
    a, b = _png(tmp_path / "new" / "a.png", 1), _png(tmp_path / "new" / "b.png", 2)
    apply_labels([(str(a), "cat"), (str(b), "cat")], data)
    real = fixes.undo_bring_in

    def card_gone(op, source, dst, move, unmade=False, **kw):
        if source.name == "a.png":
            raise UserError(f"cannot write {source} (Read-only file system)")
        return real(op, source, dst, move, unmade, **kw)

    monkeypatch.setattr(fixes, "undo_bring_in", card_gone)
    undone = FixJournal(data).undo_last()
    assert [why for _f, why in undone.refused] == [
        f"could not be put back (cannot write {a} (Read-only file system))"]
    assert not (data / "cat" / "b.png").exists() and (data / "cat" / "a.png").exists()
    assert FixJournal(data).pending_batches() == []  # the batch is done with; older ones free


def test_undoing_a_move_leaves_an_image_put_in_its_place_since(tmp_path):
    """The user's new dog photo at dog/a.png went into cat/ under the old image's name."""
    data = _data(tmp_path / "data")
    moved = _png(data / "cat" / "a.png", 77)
    stamps = {str(p): hash_file(str(p)) for p in data.rglob("*.png")}
    FixJournal(data).apply([Fix(str(moved), "move", "dog")], stamps)
    _png(data / "dog" / "a.png", 200)  # another image under the moved one's name
    undone = FixJournal(data).undo_last()
    assert "changed since the fix" in undone.refused[0][1]
    assert (data / "dog" / "a.png").exists() and not (data / "cat" / "a.png").exists()


@pytest.mark.parametrize("line", [
    {"type": "batch", "id": ["x"], "moves": []},
    {"type": "undo", "batch": {"id": "x"}},
    {"type": "batch", "id": "y", "moves": [], "created": 3},
    {"type": "batch", "id": "z", "moves": [], "created": [1, 2]},
])
def test_a_journal_line_of_another_shape_is_counted_damaged_not_fatal(tmp_path, line):
    data = _data(tmp_path / "data")
    new = _png(tmp_path / "new" / "n.png", 3)
    apply_labels([(str(new), "dog")], data)
    with open(data / JOURNAL_NAME, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    journal = FixJournal(data)
    undone = journal.undo_last()
    assert undone.damaged_lines == 1 and not undone.refused
    assert not (data / "dog" / "n.png").exists()


def test_only_a_dead_writers_own_temporary_names_are_swept():
    """".phone." also begins a live export's stage for "phone.2024": "2024" was taken for
    a dead process and the other export's files were deleted."""
    assert leftover_pid(".phone.123.ab_c9x1z.partial", ".phone.", (".partial",)) == 123
    assert leftover_pid(".phone.2024.123.ab_c9x1z.partial", ".phone.", (".partial",)) is None
    assert leftover_pid(".phone.x12.abc.partial", ".phone.", (".partial",)) is None


def test_new_class_names_apart_only_by_case_are_refused(tmp_path):
    data = _data(tmp_path / "data")
    a, b = _png(tmp_path / "new" / "a.png", 5), _png(tmp_path / "new" / "b.png", 6)
    with pytest.raises(UserError, match="already a class 'Bird'"):
        apply_labels([(str(a), "Bird"), (str(b), "bird")], data, new_classes=True)
    assert not (data / "Bird").exists() and not (data / "bird").exists()


def test_a_project_saved_through_a_link_changes_the_file_it_names(tmp_path):
    from core.project import Project, load_project, save_project

    real = tmp_path / "synced" / "p.ftsproj"
    real.parent.mkdir()
    save_project(Project(), real)
    link = tmp_path / "p.ftsproj"
    link.symlink_to(real)
    project = Project()
    project.config.train.epochs = 7
    save_project(project, link)
    assert link.is_symlink() and load_project(real).config.train.epochs == 7


def test_undo_of_a_move_makes_again_a_sub_folder_tidied_away_since(tmp_path):
    """(a review) `label --move` empties new/sub/; the user removes the empty folder; Undo
    left new/sub/c.png in the data set ("the folder it came from is not there", as for a
    journal from another machine) and the batch was used up.  new/ is here: sub/ is made
    again.  A batch whose folders are all gone (another machine's) is still refused."""
    data = _data(tmp_path / "data")
    a, c = _png(tmp_path / "new" / "a.png", 1), _png(tmp_path / "new" / "sub" / "c.png", 2)
    apply_labels([(str(a), "cat"), (str(c), "cat")], data, move=True)
    assert not a.exists() and not c.exists()
    (tmp_path / "new" / "sub").rmdir()
    undone = FixJournal(data).undo_last()
    assert undone.refused == [] and a.is_file() and c.is_file()
    assert not (data / "cat" / "c.png").exists()

    lone = _png(tmp_path / "gone" / "deep" / "d.png", 3)
    apply_labels([(str(lone), "cat")], data, move=True)
    (tmp_path / "gone" / "deep").rmdir()  # its only folder: nothing says it is this machine's
    undone = FixJournal(data).undo_last()
    assert [why for _p, why in undone.refused] == [
        f"the folder it came from, {tmp_path / 'gone' / 'deep'}, is not there; left in the "
        "data folder (move it by hand if needed)"]
    assert (data / "cat" / "d.png").is_file()
