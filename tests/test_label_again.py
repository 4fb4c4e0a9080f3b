"""The same images labelled again another day: the data set gets each image once.

Sorting a folder on two days copied every image in twice ("u1 (2).png"), or put one image
into two classes; the journal already knew each file's source and content."""

import numpy as np
from PIL import Image

from core.audit.fixes import Fix, FixJournal
from core.events import CancelToken
from core.features.hashing import hash_file
from core.label.apply import apply_labels, undo_last
from core.label.earlier import already_added


def _png(path, level):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), level, np.uint8)).save(path)
    return path


def _data(tmp_path):
    data = tmp_path / "data"
    for i, cls in enumerate(("cats", "dogs")):
        _png(data / cls / "old.png", 200 + i)
    return data


def test_an_image_added_before_is_refused_naming_where_it_is(tmp_path):
    data = _data(tmp_path)
    u1, u2 = _png(tmp_path / "new" / "u1.png", 10), _png(tmp_path / "new" / "u2.png", 20)
    first = apply_labels([(str(u1), "cats")], data)
    assert first.placed == [(str(u1), "cats/u1.png")]
    again = apply_labels([(str(u1), "dogs"), (str(u2), "dogs")], data)
    assert again.placed == [(str(u2), "dogs/u2.png")]
    (path, why), = again.refused
    assert path == str(u1) and "already in the data set as cats/u1.png" in why
    assert again.already[str(u1)].batch == first.batch  # the Sort step shows it as added
    assert again.already[str(u1)].dst == "cats/u1.png"  # in its own class, not "dogs"
    assert not (data / "dogs" / "u1.png").exists() and not (data / "cats" / "u1 (2).png").exists()
    assert set(already_added([str(u1), str(u2)], data)) == {str(u1), str(u2)}

    # moved to dogs by the audit since: named where it is now
    stamps = {str(data / "cats" / "u1.png"): hash_file(data / "cats" / "u1.png")}
    FixJournal(data).apply([Fix(str(data / "cats" / "u1.png"), "move", "dogs")], stamps)
    (_path, why), = apply_labels([(str(u1), "cats")], data).refused
    assert "already in the data set as dogs/u1.png" in why
    assert already_added([str(u1)], data)[str(u1)].dst == "dogs/u1.png"

    # once that batch is undone (the audit move, then the labels), it can be added again
    undo_last(data)
    undo_last(data)
    undo_last(data)
    assert not (data / "cats" / "u1.png").exists() and already_added([str(u1)], data) == {}
    assert apply_labels([(str(u1), "dogs")], data).placed == [(str(u1), "dogs/u1.png")]


def test_the_same_picture_twice_in_one_batch_is_added_once(tmp_path):
    data = _data(tmp_path)
    a, b = _png(tmp_path / "new" / "a.png", 30), _png(tmp_path / "new" / "copy of a.png", 30)
    out = apply_labels([(str(a), "cats"), (str(b), "dogs")], data)
    assert out.placed == [(str(a), "cats/a.png")]
    assert out.refused[0][0] == str(b) and "the same image as" in out.refused[0][1]
    assert out.already[str(b)].batch == out.batch and out.already[str(b)].dst == "cats/a.png"
    # the next day (a restart) the twin is in the data set as well, as it was shown that day
    again = already_added([str(a), str(b), str(_png(tmp_path / "new" / "z.png", 31))], data)
    assert {p: (x.batch, x.dst) for p, x in again.items()} == {
        str(a): (out.batch, "cats/a.png"), str(b): (out.batch, "cats/a.png")}
    stopped = CancelToken()
    stopped.cancel()  # nothing placed: the twin is not in the data set either
    c, d = _png(tmp_path / "new" / "c.png", 50), _png(tmp_path / "new" / "copy of c.png", 50)
    out = apply_labels([(str(c), "cats"), (str(d), "cats")], data, cancel=stopped)
    assert out.placed == [] and out.already == {}
    assert out.not_tried == 2  # stopped before its rows were checked: neither is known a twin


def test_a_new_picture_under_an_old_name_is_new(tmp_path):
    """A camera that names each day's frames the same: same path, another picture."""
    data = _data(tmp_path)
    frame = _png(tmp_path / "line" / "frame_0001.png", 40)
    apply_labels([(str(frame), "cats")], data)
    _png(frame, 90)  # tomorrow's frame_0001
    assert already_added([str(frame)], data) == {}
    assert apply_labels([(str(frame), "cats")], data).placed == [
        (str(frame), "cats/frame_0001 (2).png")]
    assert already_added([str(frame)], tmp_path / "nowhere") == {}


def _stamps(*paths):
    return {str(p): hash_file(p) for p in paths}


def test_only_the_added_file_is_followed_and_set_aside_is_said_so(tmp_path):
    """Moving the data set's own copy of the same picture moved the record too, and a file
    set aside read "already in the data set as _set_aside/..." (a diff review)."""
    data = _data(tmp_path)
    u1 = _png(tmp_path / "new" / "u1.png", 10)
    apply_labels([(str(u1), "cats")], data)
    same = _png(data / "cats" / "same.png", 10)  # the data set holds this picture twice now
    FixJournal(data).apply([Fix(str(same), "move", "dogs")], _stamps(same))
    assert already_added([str(u1)], data)[str(u1)].dst == "cats/u1.png"
    added = data / "cats" / "u1.png"
    FixJournal(data).apply([Fix(str(added), "set_aside")], _stamps(added))
    (_p, why), = apply_labels([(str(u1), "dogs")], data).refused
    assert why.startswith("set aside earlier as _set_aside/")


def test_an_exact_copy_of_a_data_set_image_is_refused_naming_the_file_there(tmp_path, capsys):
    """A byte copy of a training image, not added by a batch, was copied in: under another
    class it knocked the training image out of training (a cross-class duplicate)."""
    import shutil

    from core.cli import main

    data = _data(tmp_path)
    copy = tmp_path / "new" / "copy_of_old.png"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(data / "cats" / "old.png", copy)
    other = _png(tmp_path / "new" / "other.png", 99)  # same size, other bytes: let in
    for label in ("dogs", "cats"):
        outcome = apply_labels([(str(copy), label), (str(other), "dogs")], data)
        (path, why), = outcome.refused
        assert path == str(copy) and "already in the data set as cats/old.png" in why
        assert outcome.placed == [(str(other), "dogs/other.png")]
        undo_last(data)
    sheet = tmp_path / "dup.csv"
    sheet.write_text(f"path,label\n{copy},dogs\n", encoding="utf-8")
    assert main(["label", "--from", str(sheet), "--into", str(data)]) == 1
    assert "already in the data set as cats/old.png" in capsys.readouterr().out
    assert sorted(p.name for p in (data / "dogs").iterdir()) == ["old.png"]
