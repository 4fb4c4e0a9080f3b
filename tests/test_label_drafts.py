"""The Sort step's labels not yet added are kept per folder (core/label/drafts.py): written
whole, read back only for files that are still the same, and a damaged draft is dropped."""

import os

import pytest

from core.errors import DiskFullError

from core.label.drafts import Draft, draft_path, load_draft, save_draft
from gui.pages.sort.review import NONE, SKIP


def _images(folder, n):
    (folder / "sub").mkdir(parents=True)
    paths = [str(folder / ("sub" if i % 2 else "") / f"{i}.png") for i in range(n)]
    for i, p in enumerate(paths):
        with open(p, "wb") as fh:
            fh.write(bytes([i]) * 8)
    return paths


def test_a_draft_comes_back_for_unchanged_files_only(tmp_path):
    folder = tmp_path / "new"
    a, b, c, d = _images(folder, 4)
    save_draft(Draft(str(folder), {a: "cats", b: SKIP, c: NONE, d: "dogs"}, ["birds"]))
    assert draft_path(folder).is_file()
    os.utime(d, ns=(1, 1))  # touched since: it may no longer be what was labelled
    os.remove(c)
    back = load_draft(folder)
    assert back.labels == {a: "cats", b: SKIP} and back.classes == ["birds"]
    assert load_draft(tmp_path / "other").labels == {}


def test_an_empty_draft_removes_the_file_and_a_damaged_one_is_dropped(tmp_path):
    folder = tmp_path / "new"
    (a,) = _images(folder, 1)
    save_draft(Draft(str(folder), {a: "cats"}))
    draft_path(folder).write_text('{"version": 1, "folder": ' + '"x", "labels": [}')
    assert load_draft(folder).labels == {}
    save_draft(Draft(str(folder), {a: "cats"}))
    save_draft(Draft(str(folder)))
    assert not draft_path(folder).exists()
    save_draft(Draft(str(folder)))  # nothing to remove: no error


def test_a_draft_is_written_whole(tmp_path, monkeypatch):
    """A crash while writing leaves the last draft, never half of a new one."""
    import core.fsutil as fsutil

    folder = tmp_path / "new"
    a, b = _images(folder, 2)
    save_draft(Draft(str(folder), {a: "cats"}))

    def crash(*_args):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(fsutil.os, "fsync", crash)
        with pytest.raises(DiskFullError):
            save_draft(Draft(str(folder), {a: "cats", b: "dogs"}))
    assert load_draft(folder).labels == {a: "cats"}
    assert [p.name for p in draft_path(folder).parent.iterdir()] == [draft_path(folder).name]
