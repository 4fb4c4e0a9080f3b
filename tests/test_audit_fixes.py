"""core.audit.fixes: moves and set-asides are renames, journalled, undone after a restart."""

import json
import os

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
