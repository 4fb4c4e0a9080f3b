"""The Augment page opens an augmentation file (as ``train --augment FILE`` reads it) and
saves its pipeline as an albumentations file: the command line could, the page could not."""

import json

import albumentations as A
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from core.data.augment import preset_config
from test_gui_augment import shapes_window


@pytest.fixture
def window(qtbot, tmp_path):
    w = shapes_window(qtbot, tmp_path)
    with qtbot.waitSignal(w.augment_page.previews_updated, timeout=60000):
        w.show_page(2)
    w.state.set("augment.seed", 7)
    w.state.mark_saved()
    return w


def test_open_a_file_makes_it_the_pages_augmentation(qtbot, window, tmp_path, monkeypatch):
    page = window.augment_page
    theirs = tmp_path / "theirs.json"
    A.save(A.Compose([A.VerticalFlip(p=0.3), A.InvertImg(p=1.0)]), str(theirs),
           data_format="json")
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *a, **k: (asked.append(a) or str(theirs), ""))
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        qtbot.mouseClick(page.open_button, Qt.LeftButton)
    assert asked
    aug = window.state.config.augment
    assert aug.preset == "custom" and aug.seed == 7  # the seed box below stays the page's
    assert [(t.name, t.enabled, t.p) for t in aug.transforms] == [("VerticalFlip", True, 0.3),
                                                                 ("InvertImg", True, 1.0)]
    assert page.preset_combo.currentData() == "custom"
    assert page._groups["VerticalFlip"].isChecked() and page._p_spins["VerticalFlip"].value() == 30
    assert not page._groups["HorizontalFlip"].isChecked()
    assert [b.text() for b in page.others.boxes] == ["InvertImg"]
    assert window.state.dirty  # the project keeps it
    assert str(theirs) in window.statusBar().currentMessage()
    assert not page.banner.isVisible()

    # cancelled: nothing changes
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    qtbot.mouseClick(page.open_button, Qt.LeftButton)
    assert window.state.config.augment == aug


@pytest.mark.parametrize("kind", ["lambda", "misspelt", "yaml", "missing", "not json"])
def test_a_file_that_cannot_be_used_is_named_and_changes_nothing(qtbot, window, tmp_path,
                                                                  monkeypatch, kind):
    page = window.augment_page
    before = window.state.config.augment
    path = tmp_path / f"bad-{kind.replace(' ', '_')}.json"
    if kind in ("lambda", "misspelt"):
        name = "Lambda" if kind == "lambda" else "Blurrr"
        path.write_text(json.dumps({"__version__": "2.0.8", "transform": {
            "__class_fullname__": "Compose", "p": 1.0,
            "transforms": [{"__class_fullname__": name, "p": 0.5}]}}))
    elif kind == "yaml":
        A.save(A.Compose([A.HorizontalFlip(p=0.3)]), str(path), data_format="yaml")
    elif kind == "not json":
        path.write_text("{ not json")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    qtbot.mouseClick(page.open_button, Qt.LeftButton)
    said = page.banner.text()
    assert page.banner.isVisible() and said.startswith("Not opened: ")
    assert str(path) in said and "unchanged" in said and "Traceback" not in said
    assert {"lambda": "runs Python code", "misspelt": "unknown transform 'Blurrr'",
            "yaml": "only JSON", "missing": "not found", "not json": "JSON"}[kind] in said
    assert window.state.config.augment == before and not window.state.dirty
    assert page.preset_combo.currentData() == "light"


def test_save_writes_what_albumentations_loads_and_open_reads_it_back(qtbot, window, tmp_path,
                                                                      monkeypatch):
    page = window.augment_page
    page.set_preset("heavy")
    before = window.state.config.augment
    target = tmp_path / "out" / "heavy.json"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    qtbot.mouseClick(page.save_button, Qt.LeftButton)
    assert not page.banner.isVisible(), page.banner.text()
    assert str(target) in window.statusBar().currentMessage()
    loaded = A.load(str(target), data_format="json")
    names = [type(t).__name__ for t in loaded.transforms]
    assert names == [t.name for t in preset_config("heavy").transforms] + ["Resize"]
    assert loaded.transforms[-1].height == 64  # at the image size training uses
    assert window.state.config.augment == before  # saving changes nothing on the page

    page.set_preset("none")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        qtbot.mouseClick(page.open_button, Qt.LeftButton)
    got = window.state.config.augment
    assert [t.name for t in got.transforms] == [t.name for t in preset_config("heavy").transforms]
    assert page._groups["CoarseDropout"].isChecked()

    # a place that takes no file (under a file): said, nothing else changes
    (tmp_path / "a-file").write_text("mine")
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "a-file" / "x.json"), ""))
    qtbot.mouseClick(page.save_button, Qt.LeftButton)
    said = page.banner.text()
    assert page.banner.isVisible() and str(tmp_path / "a-file") in said, said
    assert (tmp_path / "a-file").read_text() == "mine" and window.state.config.augment == got


def test_a_save_that_works_takes_down_the_refusal_of_the_one_before(qtbot, window, tmp_path):
    """"Not saved: … is a folder" stayed on the page after the next save was written (a
    review); a preview's own message is not the save's to take down."""
    page = window.augment_page
    assert not page.save_augment_file(str(tmp_path))  # a folder
    assert page.banner.isVisible() and page.banner.text().startswith("Not saved:")
    assert page.save_augment_file(str(tmp_path / "good.json"))
    assert not page.banner.isVisible(), page.banner.text()
    assert (tmp_path / "good.json").is_file()

    page.show_error("Preview not possible: a preview's own refusal")
    assert page.save_augment_file(str(tmp_path / "again.json"))
    assert page.banner.isVisible() and page.banner.text().startswith("Preview not possible")
