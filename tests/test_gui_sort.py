"""The "Sort new images" step, driven like a user: a folder dropped on the window, suggestions in
the useful order, labelling with the keys, accept-all with its preview, a new class, adding to the
data set (copies, a name clash gets a suffix, the source untouched), Undo (also after a restart),
and "Update the model" producing a new run with the accuracy shown.  The model is the shared tiny
trained run (bright vs dark noise, see conftest.py)."""

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from core.runs.folder import RunFolder
from gui.pages.sort.keys import action_for, letter_keys
from gui.pages.sort.review import NONE, SKIP, Review

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def _image(path: Path, level: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arr = np.clip(level + rng.normal(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


@pytest.fixture
def folders(trained_run, tmp_path):
    """A copy of the run's data folder (the data set) and a folder of 10 new images."""
    data = tmp_path / "data"
    shutil.copytree(RunFolder(trained_run).load_config().data.data_dir, data)
    new = tmp_path / "new"
    for i, level in enumerate((40, 60, 200, 210, 120, 128, 136, 90, 170, 230)):
        _image(new / ("batch2" if i % 3 == 0 else "") / f"shot_{i}.png", level, 100 + i)
    return data, new


def _listing(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _sort_page(window, run, data):
    window.state.set("data.data_dir", str(data))
    window.state.set_run(str(run))
    index = next(i for i, p in enumerate(window.pages) if p.key == "sort")
    window.show_page(index)
    return window.pages[index]


def _drop_folder(window, folder: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)


def _wait_done(qtbot, window, signal, start, timeout=120000):
    with qtbot.waitSignal(signal, timeout=timeout) as got:
        start()
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=timeout)
    return got.args


def test_keys_review_and_accept_all_preview_without_a_window():
    from core.label.suggestions import Suggestion

    items = [Suggestion(f"/x/{i}.png", c, p, 0.0) for i, (c, p) in
             enumerate((("a", 0.95), ("b", 0.99), ("a", 0.6), ("b", 0.97)))]
    review = Review(items, ["apple", "banana", "sugar"])
    assert letter_keys(["apple", "banana", "sugar", "nut"]) == {"a": "apple", "b": "banana"}
    assert action_for(Qt.Key_2, Qt.NoModifier, "2", review.classes) == ("label", "banana")
    assert action_for(Qt.Key_S, Qt.NoModifier, "s", review.classes) == ("label", SKIP)
    assert action_for(Qt.Key_0, Qt.NoModifier, "0", review.classes) == ("label", NONE)
    assert action_for(Qt.Key_Z, Qt.ControlModifier, "", review.classes) == ("back", "")
    assert action_for(Qt.Key_X, Qt.NoModifier, "x", review.classes) is None
    assert review.preview(0.9) == {"a": 1, "b": 2}
    assert review.accept_above(0.9) == 3 and review.current == 2  # the one left undecided
    review.decide("a")
    assert review.back() == 2 and review.decision("/x/2.png") == ""  # the key's decision
    # the whole accept-all at once (one Backspace took back one image of 1,252, a review)
    assert review.back() == 0 and not review.decisions and review.back() is None


def test_sort_label_add_undo_and_undo_after_restart(qtbot, window, trained_run, folders):
    data, new = folders
    source_before = _listing(new)
    page = _sort_page(window, trained_run, data)
    got = _wait_done(qtbot, window, page.suggestions_ready, lambda: _drop_folder(window, new))
    assert got == [10] and page.folder == str(new) and page.thumbs.rowCount() == 10
    items = page.review.items
    assert page.order() == "useful"
    greedy = [s.usefulness for s in items]
    assert greedy == sorted(greedy, reverse=True)  # most useful first
    assert "%" in page.thumbs.data(page.thumbs.index(0), Qt.DisplayRole)
    assert items[0].path == page.view.name_label.toolTip()  # the big view shows the first

    # Keys: 1 labels "bright", d labels "dark", S skips, N is none, Backspace steps back.
    classes = page.review.classes
    assert classes == ["bright", "dark"]
    for key in (Qt.Key_1, Qt.Key_D, Qt.Key_S, Qt.Key_N):
        qtbot.keyClick(page.grid, key, Qt.NoModifier)
    decided = [page.review.decision(s.path) for s in items[:4]]
    assert decided == ["bright", "dark", SKIP, NONE]
    assert page.counter_label.text().startswith("2 labelled, 1 skipped, 6 to go")
    assert page.thumbs.state_of(items[0].path) == "label"
    qtbot.keyClick(page.grid, Qt.Key_Backspace)
    assert page.review.decision(items[3].path) == "" and page.review.current == 3
    qtbot.keyClick(page.grid, Qt.Key_Return)  # accept the suggestion
    assert page.review.decision(items[3].path) == items[3].suggested

    # Accept all above 60 %: the preview says how many per class before anything changes.
    page.bulk.spin.setValue(60)
    qtbot.mouseClick(page.bulk.accept_button, Qt.LeftButton)
    expected = page.review.preview(0.6)
    text = page.bulk.preview_label.text()
    assert f"Will label {sum(expected.values())} image(s)" in text
    assert all(f"{c} {n}" in text for c, n in expected.items())
    assert len(page.review.decisions) == 4  # nothing changed yet
    qtbot.mouseClick(page.bulk.confirm_button, Qt.LeftButton)
    assert len(page.review.decisions) == 4 + sum(expected.values())

    # A new class, named with a bad name first; then the next undecided image gets it.
    page.bulk.add_class("a/b")
    assert page.banner.isVisible() and "folder name" in page.banner.text()
    page.bulk.add_class("grey")
    assert page.review.classes == ["bright", "dark", "grey"] and "grey" in page.view.class_buttons
    page.grid.setCurrentIndex(page.thumbs.index(2))  # the skipped image, picked in the grid
    assert page.review.current == 2
    qtbot.mouseClick(page.view.class_buttons["grey"], Qt.LeftButton)
    grey_path = Path(items[2].path)
    assert page.review.decision(str(grey_path)) == "grey"

    # A clash: the data set already holds a file with the name of a labelled image.
    first = Path(items[0].path)
    (data / "bright" / first.name).write_bytes(b"already here")
    rows = page.review.rows_to_apply()
    scanned = []
    window.data_page.scan_finished.connect(scanned.append)
    (outcome,) = _wait_done(qtbot, window, page.box.applied,
                            lambda: qtbot.mouseClick(page.box.add_button, Qt.LeftButton))
    assert len(outcome.placed) == len(rows) and not outcome.moved
    assert (data / "bright" / first.name).read_bytes() == b"already here"
    assert (data / "bright" / f"{first.stem} (2){first.suffix}").is_file()
    assert (data / "grey" / grey_path.name).is_file()
    assert _listing(new) == source_before  # copying never touches the source
    assert "renamed" in page.box.outcome_label.text()
    assert page.thumbs.state_of(str(first)) == "added"
    qtbot.waitUntil(lambda: bool(scanned), timeout=60000)  # the Data page scanned again
    assert "grey" in scanned[-1].classes
    qtbot.waitUntil(lambda: page.box.undo_button.isEnabled(), timeout=10000)

    # Undo after a "restart": a new window finds the batch in the folder's journal.
    from gui.main_window import MainWindow

    second = MainWindow(load_tensorflow=False)
    qtbot.addWidget(second, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    page2 = _sort_page(second, trained_run, data)
    qtbot.waitUntil(lambda: page2.box.pending_undo == 1, timeout=10000)
    # The same folder that next day: what was added shows as added and is not offered again
    # (it was all "to go", and adding copied "name (2).png" or into another class)
    _wait_done(qtbot, second, page2.suggestions_ready, lambda: _drop_folder(second, new))
    assert set(page2.review.added) == {src for src, _dst in outcome.placed}
    assert page2.review.decision(str(grey_path)) == "grey"
    assert page2.review.rows_to_apply() == [] and page2.thumbs.state_of(str(first)) == "added"
    assert "in the data set already" in page2.banner.text()
    _wait_done(qtbot, second, page2.box.undone,
               lambda: qtbot.mouseClick(page2.box.undo_button, Qt.LeftButton))
    assert not (data / "bright" / f"{first.stem} (2){first.suffix}").exists()
    assert not (data / "grey" / grey_path.name).exists()
    assert not (data / "grey").exists()  # the new class folder the batch made went too
    assert (data / "bright" / first.name).read_bytes() == b"already here"
    assert _listing(new) == source_before
    qtbot.waitUntil(lambda: page2.box.pending_undo == 0, timeout=10000)


def test_update_the_model_makes_a_new_run_and_shows_the_accuracy(qtbot, window, trained_run,
                                                                 folders):
    data, _new = folders
    for name, level in (("bright", 200), ("dark", 50)):
        for i in range(4):
            _image(data / name / f"added_{i}.png", level, 300 + i + level)
    page = _sort_page(window, trained_run, data)
    window.state.set_run(None)
    assert page.run_dir() == "" and not page.box.update_button.isEnabled()
    page.open_model(str(trained_run))  # "Open model…": no folder yet, so nothing to predict
    assert page.run_dir() == str(trained_run) and page.box.update_button.isEnabled()
    (outcome,) = _wait_done(qtbot, window, page.box.updated,
                            lambda: qtbot.mouseClick(page.box.update_button, Qt.LeftButton),
                            timeout=300000)
    assert outcome.status == "completed" and outcome.run_dir != str(trained_run)
    assert RunFolder(outcome.run_dir).model_path.is_file()
    assert window.state.run_dir == outcome.run_dir
    assert "→" in page.box.update_label.text() and "%" in page.box.update_label.text()
    assert page.run_dir() == outcome.run_dir  # the sort step now suggests with the new run


def test_an_update_that_scores_lower_does_not_become_the_current_model(qtbot, window,
                                                                      trained_run, folders):
    """A worse update (50.0% → 41.7%) was made current without a word: Predict, Evaluate and
    Export moved to it (a review)."""
    from core.label.update import ModelUpdate

    data, _new = folders
    page = _sort_page(window, trained_run, data)
    worse = ModelUpdate(str(data.parent / "updated"), str(trained_run), "completed", 0.5,
                        0.417, 12, "the run's backbone", 3.0)
    with qtbot.waitSignal(page.box.updated):
        page.box._on_updated(worse)
    assert window.state.run_dir == str(trained_run)
    assert "current model stays" in page.box.update_label.text()
    other = data.parent / "other-run"  # another run opened (Runs page): the line goes
    shutil.copytree(trained_run, other)
    window.state.set_run(str(other))
    page.box.refresh()
    assert not page.box.update_label.isVisible() and not page.box.update_label.text()


def test_fine_tune_from_this_run_trains_a_full_run_from_its_backbone(qtbot, window, trained_run,
                                                                     folders):
    """One click: the Train page shows a full run (head, then fine-tuning) on the grown data set,
    built from the current run's fine-tuned backbone, not from the settings' weights."""
    from core.model.backbones import get_backbone
    from core.model.build import backbone_of, build_backbone
    from core.model.model_files import load_model_file

    data, _new = folders
    for name, level in (("bright", 200), ("dark", 50)):
        for i in range(4):
            _image(data / name / f"added_{i}.png", level, 400 + i + level)
    cfg = RunFolder(trained_run).load_config()
    cfg.data.data_dir = str(data)
    cfg.train.epochs, cfg.train.fine_tune_epochs = 1, 1
    window.state.replace_config(cfg)
    page = _sort_page(window, trained_run, data)
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=60000)  # the data folder's scan
    assert page.box.fine_tune_button.isEnabled()
    train = next(p for p in window.pages if p.key == "train")
    with qtbot.waitSignal(train.run_finished, timeout=300000) as got:
        qtbot.mouseClick(page.box.fine_tune_button, Qt.LeftButton)
        assert window.current_page() is train
    result = got.args[0]
    assert result.status == "completed" and result.run_dir != str(trained_run)
    new = RunFolder(result.run_dir)
    started = new.load_config().model.weights
    assert "start-weights" in started and started.endswith(".weights.h5")
    assert {row["phase"] for row in new.history()} == {"head", "fine_tune"}
    assert new.run_info().images == 48 + 8
    carried = backbone_of(load_model_file(RunFolder(trained_run).model_path)).get_weights()
    start = build_backbone(get_backbone("MobileNetV3Small"), 32, started).get_weights()
    assert len(start) == len(carried) and all(np.array_equal(a, b) for a, b in zip(start, carried))
    assert window.state.run_dir == result.run_dir  # the new run is the current one


def test_a_folder_that_fails_leaves_the_label_on_the_folder_shown(qtbot, window, trained_run,
                                                                   folders, tmp_path):
    """The label named the failed folder above the previous folder's images, and "Add to
    data set" then copied those."""
    data, new = folders
    page = _sort_page(window, trained_run, data)
    _wait_done(qtbot, window, page.suggestions_ready, lambda: page.open_folder(str(new)))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_text("not an image")
    (broken / "b.png").write_bytes(b"")
    assert page.open_folder(str(broken))
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=120000)
    assert "could be read" in page.banner.text() or "no image" in page.banner.text()
    assert page.folder == page.shown_folder == str(new)
    assert page.folder_label.text() == str(new) and f"Still showing {new}" in page.banner.text()
    assert page.thumbs.rowCount() == 10


def test_one_backspace_takes_back_a_whole_accept_all_and_repaints_it(qtbot, window):
    """After "Accept all above" Backspace took back one image of 1,252 (a review)."""
    from types import SimpleNamespace

    from core.label.suggestions import Suggestion

    page = next(p for p in window.pages if p.key == "sort")
    window.show_page(window.pages.index(page))
    items = [Suggestion(f"/x/{i}.png", "a", 0.95, 0.0) for i in range(30)]
    page.folder = "/x"
    page._on_suggested(SimpleNamespace(items=items, classes=["a", "b"], skipped=[],
                                       left_out=[]))
    qtbot.keyClick(page.grid, Qt.Key_B)  # the first image by key, then the rest in bulk
    page.bulk.spin.setValue(90)
    qtbot.mouseClick(page.bulk.accept_button, Qt.LeftButton)
    qtbot.mouseClick(page.bulk.confirm_button, Qt.LeftButton)
    assert len(page.review.decisions) == 30
    qtbot.keyClick(page.grid, Qt.Key_Backspace)
    assert page.review.decisions == {"/x/0.png": "b"} and page.review.current == 1
    assert not any(page.thumbs.state_of(s.path) for s in items[1:])
    assert page.counter_label.text().startswith("1 labelled, 0 skipped, 29 to go")


def test_an_undo_of_copies_says_they_were_taken_out_not_put_back():
    """"5 file(s) put back where they were before that change" of 5 copies Undo had just
    removed from the data set (a review)."""
    from core.audit.fixes import FixOutcome, Move
    from gui.journal_undo import undone_text

    copies = [Move(f"a/{i}.png", f"/new/{i}.png", "copy removed") for i in range(5)]
    text = undone_text(FixOutcome("b1", "5 image(s) added by labelling", moved=copies))
    assert "5 image(s) it had added taken out of the data folder" in text
    assert "put back" not in text
    moved = [Move("a/1.png", "/new/1.png"), Move("a/2.png", "", "captured image removed")]
    text = undone_text(FixOutcome("b2", "", moved=moved))
    assert "1 file(s) put back" in text and "1 image(s) it had added taken out" in text


def test_a_folder_dropped_while_one_is_sorted_is_refused_and_not_named(qtbot, window,
                                                                       trained_run, folders,
                                                                       tmp_path):
    """The refused folder's name went on the line above the first folder's images, and the
    page took it for the one shown: a change of order then sorted it (a review)."""
    data, new = folders
    other = tmp_path / "other"
    _image(other / "late.png", 200, 7)
    page = _sort_page(window, trained_run, data)

    def both():
        _drop_folder(window, new)
        _drop_folder(window, other)  # the first is still being sorted: refused

    _wait_done(qtbot, window, page.suggestions_ready, both)
    assert "Please wait" in page.banner.text()
    assert page.folder == page.shown_folder == str(new)
    assert page.folder_label.text() == str(new) and page.thumbs.rowCount() == 10


def test_undo_of_a_move_brings_the_images_back_into_the_review(qtbot, window, trained_run,
                                                               folders):
    """Moved images left the review when the folder was sorted again; after Undo put them
    back in the folder they never returned to the grid.  And an Undo on the Sort page of a
    Check-data fix clears that fix's marks on the Data page (one journal, two buttons)."""
    from core.audit.fixes import Fix, FixJournal
    from core.features.hashing import hash_file

    data, new = folders
    page = _sort_page(window, trained_run, data)
    _wait_done(qtbot, window, page.suggestions_ready, lambda: _drop_folder(window, new))
    for key in (Qt.Key_1, Qt.Key_D):
        qtbot.keyClick(page.grid, key, Qt.NoModifier)
    moved = [s.path for s in page.review.items[:2]]
    page.box.move_check.setChecked(True)
    _wait_done(qtbot, window, page.box.applied,
               lambda: qtbot.mouseClick(page.box.add_button, Qt.LeftButton))
    assert not any(Path(p).exists() for p in moved)
    _wait_done(qtbot, window, page.suggestions_ready,  # another order: the folder again
               lambda: page.order_combo.setCurrentIndex(1 - page.order_combo.currentIndex()))
    assert page.thumbs.rowCount() == 8
    qtbot.waitUntil(lambda: page.box.undo_button.isEnabled(), timeout=10000)
    with qtbot.waitSignal(page.suggestions_ready, timeout=120000):  # sorted again after Undo
        qtbot.mouseClick(page.box.undo_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=120000)
    assert all(Path(p).exists() for p in moved)
    assert page.thumbs.rowCount() == 10 and all(page.review.decision(p) == "" for p in moved)
    assert "put back where they were" in page.box.outcome_label.text()

    # A set-aside made by the Data page's check, then undone from the Sort page.
    audit = window.data_page.audit_view
    victim = next((data / "bright").iterdir())
    fixed = FixJournal(data).apply([Fix(str(victim), "set_aside")],
                                   {str(victim): hash_file(str(victim))})
    audit._batches[fixed.batch] = ([str(victim)], -1, {})  # as its own Set aside records it
    page.box.refresh_undo()
    qtbot.waitUntil(lambda: page.box.undo_button.isEnabled(), timeout=10000)
    # which change it takes back: it undid the other page's fix without a word
    assert "a Check data fix: 1 image(s) set aside" in page.box.undo_button.toolTip()
    _wait_done(qtbot, window, page.box.undone,
               lambda: qtbot.mouseClick(page.box.undo_button, Qt.LeftButton))
    assert victim.is_file() and fixed.batch not in audit._batches
    assert page.box.outcome_label.text().startswith("Undone (a Check data fix: 1 image(s) set")


def test_keys_typed_in_a_box_or_shared_by_two_classes_label_nothing(qtbot, window, trained_run,
                                                                    folders):
    """Enter in the threshold box accepted the image shown (now it previews), Enter on the
    order box did too, and a letter two classes share jumped to another image (the grid's
    type-ahead), which the next key then labelled."""
    data, new = folders
    page = _sort_page(window, trained_run, data)
    _wait_done(qtbot, window, page.suggestions_ready, lambda: _drop_folder(window, new))
    page.add_class("blue")  # shares B with "bright"
    assert letter_keys(page.review.classes).get("b") is None
    page.grid.setFocus()
    start = page.review.current
    qtbot.keyClick(page.grid, Qt.Key_B, Qt.NoModifier)
    assert page.review.current == start and not page.review.decisions
    page.bulk.spin.setFocus()
    page.bulk.spin.selectAll()
    qtbot.keyClicks(page.bulk.spin, "85")
    qtbot.keyClick(page.bulk.spin, Qt.Key_Return)
    assert page.bulk.spin.value() == 85 and page.bulk.preview_label.isVisible()
    assert not page.review.decisions
    page.order_combo.setFocus()
    qtbot.keyClick(page.order_combo, Qt.Key_Return)
    assert not page.review.decisions
    # Backspace still steps back after the order changed (the new order dropped the history)
    page.grid.setFocus()
    qtbot.keyClick(page.grid, Qt.Key_1, Qt.NoModifier)
    labelled = next(iter(page.review.decisions))
    _wait_done(qtbot, window, page.suggestions_ready, lambda: page.order_combo.setCurrentIndex(
        page.order_combo.findData("confident")))
    assert page.review.decisions == {labelled: "bright"}
    page.grid.setFocus()
    qtbot.keyClick(page.grid, Qt.Key_Backspace)
    assert not page.review.decisions
    # A button reached by Tab takes Enter (it accepted the image shown and did nothing), and
    # Backspace on it is nothing (it stepped the review back) (a keyboard review).
    qtbot.keyClick(page.grid, Qt.Key_1, Qt.NoModifier)
    page.bulk.preview_label.hide()
    page.bulk.accept_button.setFocus()
    qtbot.keyClick(page.bulk.accept_button, Qt.Key_Return)
    qtbot.waitUntil(page.bulk.preview_label.isVisible)  # pressed: its preview shows
    qtbot.keyClick(page.bulk.accept_button, Qt.Key_Backspace)
    assert page.review.decisions == {labelled: "bright"}
    assert page.order_combo.focusPolicy() == Qt.TabFocus  # a click leaves the keys alone
    page.box.move_check.setFocus()  # Enter never ticks it (Qt's own tick boxes do not)
    qtbot.keyClick(page.box.move_check, Qt.Key_Return)
    assert not page.box.move_check.isChecked() and page.review.decisions == {labelled: "bright"}


def test_an_ampersand_in_a_class_name_is_shown_not_made_a_shortcut(qtbot):
    from gui.pages.sort.viewer import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    view.set_classes(["R&D", "plain"])
    button = view.class_buttons["R&D"]
    assert plain(button.text()).startswith("R&&D")  # shown as "R&D", no Alt+D
    assert "Alt+D" not in button.shortcut().toString()


def test_class_and_file_names_that_look_like_markup_are_shown_as_written(qtbot, tmp_path):
    """A class "a<b" was shown as "Suggested: a (90 %)": the label read it as a tag."""
    from PySide6.QtGui import QTextDocument

    from core.label.suggestions import Suggestion
    from gui.pages.sort.viewer import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    view.set_classes(["a<b", "<i>c"])
    item = Suggestion(str(tmp_path / "<b>x.png"), "a<b", 0.9, 0.1, top=[("a<b", 0.9),
                                                                     ("<i>c", 0.1)])
    view.show_item(item, "<i>c", added=True)
    doc = QTextDocument()
    doc.setHtml(view.suggestion_label.text())
    shown = plain(doc.toPlainText())
    assert "Suggested: a<b (90 %); then <i>c 10 %" in shown
    assert "Added to the data set as <i>c." in shown
    assert view.name_label.text() == "<b>x.png"
    assert view.name_label.textFormat() == Qt.PlainText


def test_an_unknown_image_shows_that_enter_means_none_of_these(qtbot, tmp_path):
    """Enter records "none of these" for an image flagged unknown (as README says), but the
    view said "Suggested: poly_0" with poly_0's button highlighted (a walkthrough)."""
    from PySide6.QtGui import QTextDocument

    from core.label.suggestions import Suggestion
    from gui.pages.sort.review import NONE, Review
    from gui.pages.sort.viewer import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    view.set_classes(["mono", "poly"])
    item = Suggestion(str(tmp_path / "x.png"), "poly", 0.47, 0.5, unknown=True,
                      top=[("poly", 0.47), ("mono", 0.4)])
    view.show_item(item, "", added=False)
    doc = QTextDocument()
    doc.setHtml(view.suggestion_label.text())
    assert doc.toPlainText().startswith("Suggested: none of these")
    assert "nearest: poly 47 %" in plain(doc.toPlainText())
    assert view.none_button.isDefault() and not view.class_buttons["poly"].isDefault()
    review = Review(items=[item], classes=["mono", "poly"])
    review.accept()
    assert review.decisions[item.path] == NONE  # what the view now says Enter does


def test_accept_all_above_takes_what_the_grid_shows_at_that_percent():
    """A suggestion captioned "90 %" (0.8996) was left out of "accept all above 90 %"."""
    from gui.pages.sort.grid import caption

    class S:
        def __init__(self, path, p):
            self.path, self.suggested, self.probability, self.unknown = path, "cat", p, False

    items = [S("a", 0.8996), S("b", 0.8949), S("c", 0.95)]
    review = Review(items, ["cat", "dog"])
    assert caption(items[0]).startswith("90\u00a0%") and caption(items[1]).startswith("89\u00a0%")
    assert [s.path for s in review.above(0.9)] == ["a", "c"]
    assert review.preview(0.9) == {"cat": 2}


def test_a_class_folder_made_since_training_is_offered_and_a_clash_is_refused_at_once(
        qtbot, tmp_path):
    """A "Cats" folder made by a capture after training was no class button, "cats" was
    accepted as a new class, and the whole Add was then refused."""
    from gui.pages.sort.bulk import BulkBar, class_folders

    data = tmp_path / "data"
    for name in ("bright", "dark", "Cats"):
        (data / name).mkdir(parents=True)
    assert sorted(class_folders(str(data))) == ["Cats", "bright", "dark"]
    assert class_folders("") == [] and class_folders(str(tmp_path / "missing")) == []
    bar = BulkBar(lambda t: {}, lambda: ["bright", "dark"], lambda: class_folders(str(data)))
    qtbot.addWidget(bar)
    added, problems = [], []
    bar.class_added.connect(added.append)
    bar.problem.connect(problems.append)
    assert bar.add_class("Cats") == "" and added == ["Cats"]
    assert bar.add_class("cats") and "Cats" in problems[-1] and added == ["Cats"]


def test_a_decision_forgotten_with_another_folder_loses_its_mark(qtbot, window):
    """Only the old review's decisions were repainted; a mark from two folders ago stayed."""
    from types import SimpleNamespace

    from core.label.suggestions import Suggestion

    def result(paths):
        return SimpleNamespace(items=[Suggestion(p, "a", 0.9, 0.1) for p in paths],
                               classes=["a", "b"], skipped=[], left_out=[])

    page = next(p for p in window.pages if p.key == "sort")
    window.show_page(window.pages.index(page))
    page.folder = "/A"
    page._on_suggested(result(["/A/1.png", "/A/2.png"]))
    page.label_current("a")
    first = next(p for p in ("/A/1.png", "/A/2.png") if page.review.decision(p))
    assert page.thumbs.state_of(first) == "label"
    page.folder = "/B"
    page._on_suggested(result(["/B/1.png"]))
    page.folder = "/A"
    page._on_suggested(result(["/A/1.png", "/A/2.png"]))
    assert page.review.decision(first) == ""
    assert page.thumbs.state_of(first) == "" and page.thumbs.mark(first) == ""


def _click(qtbot, button) -> None:
    """A real click: it also gives the button the focus when its policy takes clicks (the
    offscreen platform's synthetic click does not move the focus by itself)."""
    qtbot.mouseClick(button, Qt.LeftButton)
    if button.focusPolicy() & Qt.ClickFocus:
        button.setFocus(Qt.MouseFocusReason)


def test_keys_after_a_click_on_add_undo_or_new_class_still_label(qtbot, window, trained_run,
                                                                 folders, monkeypatch):
    """A clicked Add kept the focus; disabled while it ran it handed it to "Move instead of
    copy": Space (skip) ticked it and the next Add moved the files out of the new-images
    folder.  After Undo the next key changed page; after New class… Space opened it again."""
    from PySide6.QtWidgets import QApplication, QInputDialog

    data, new = folders
    before = _listing(new)
    page = _sort_page(window, trained_run, data)
    _wait_done(qtbot, window, page.suggestions_ready, lambda: _drop_folder(window, new))
    page.grid.setFocus()
    qtbot.keyClick(page.grid, Qt.Key_1)
    _wait_done(qtbot, window, page.box.applied, lambda: _click(qtbot, page.box.add_button))
    for key in (Qt.Key_Space, Qt.Key_1):  # skip one, label one: to whatever has the focus
        qtbot.keyClick(QApplication.focusWidget(), key)
    assert not page.box.move_check.isChecked()
    (outcome,) = _wait_done(qtbot, window, page.box.applied,
                            lambda: _click(qtbot, page.box.add_button))
    assert not outcome.moved and _listing(new) == before
    qtbot.waitUntil(page.box.undo_button.isEnabled, timeout=10000)
    _wait_done(qtbot, window, page.box.undone, lambda: _click(qtbot, page.box.undo_button))
    decided = len(page.review.decisions)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_2)
    assert page.isVisible() and len(page.review.decisions) == decided + 1
    asked = []
    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *a, **k: (asked.append(1), ("grey", True))[1]))
    _click(qtbot, page.bulk.new_class_button)
    current = page.review.current
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Space)
    assert len(asked) == 1 and page.review.current != current  # skipped, not asked again


def plain(text: str) -> str:
    """``text`` without the isolate marks around class names (see core.shown.isolated)."""
    return text.replace("\u2068", "").replace("\u2069", "")


def test_class_buttons_take_the_columns_their_names_need(qtbot):
    """At the window's smallest size three fixed columns cut "cracked" to "crack…" (1 / C)
    while a second row had room; a wide view puts four classes on one row."""
    from gui.pages.sort.viewer import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    view.set_classes(["cracked", "good", "poly_cracked_long_name", "poly_good"])
    view.resize(340, 480)
    view.show()
    qtbot.waitExposed(view)
    grid = view.class_scroll
    qtbot.waitUntil(lambda: grid.columns == 2)
    qtbot.waitUntil(lambda: plain(view.class_buttons["cracked"].text()) == "cracked  (1 / C)")
    assert plain(view.class_buttons["poly_good"].text()) == "poly_good  (4)"
    assert "…" in view.class_buttons["poly_cracked_long_name"].text()  # cut, key kept
    assert view.class_buttons["poly_cracked_long_name"].text().endswith("(3)")
    view.resize(1000, 480)
    qtbot.waitUntil(lambda: grid.columns == 4)
    tops = {b.geometry().top() for b in view.class_buttons.values()}
    assert len(tops) == 1
    qtbot.waitUntil(lambda: grid.height() <= view.class_buttons["good"].height() + 12)
    view.resize(1000, 150)  # a short window: the grid keeps one row and scrolls
    qtbot.waitUntil(lambda: grid.height() < 2 * view.class_buttons["good"].height())
    view.set_classes(["cracked", "good", "poly_cracked_long_name", "poly_good", "scratch"])
    new = view.class_buttons["scratch"]  # made on the spot: on a second row, scrolled to
    qtbot.waitUntil(lambda: new.visibleRegion().boundingRect().height() == new.height())
    assert new.geometry().top() > view.class_buttons["good"].geometry().top()


def test_sixty_class_buttons_scroll_at_a_readable_height_and_names_are_isolated(qtbot,
                                                                                tmp_path):
    """With 60 classes every class button was squeezed to 0-7 px (a scale review); a
    right-to-left name took its percentage to the other side ("7 · قطة عربية %")."""
    from core.label.suggestions import Suggestion
    from gui.pages.sort.grid import caption
    from gui.pages.sort.class_buttons import SHOWN_ROWS
    from gui.pages.sort.viewer import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(420, 560)
    names = [f"class_{i:02d}" for i in range(59)] + ["قطة عربية"]
    view.set_classes(names)
    view.show()
    qtbot.waitExposed(view)
    wanted = view.class_buttons["class_00"].sizeHint().height()
    assert all(b.height() >= wanted for b in view.class_buttons.values())
    assert view.class_scroll.height() < (len(names) // view.class_scroll.columns) * wanted
    assert view.class_scroll.height() >= SHOWN_ROWS * wanted
    item = Suggestion(str(tmp_path / "x.png"), "class_58", 0.7, 0.3, top=[("class_58", 0.7)])
    view.show_item(item, "", added=False)
    bar = view.class_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() > 0)  # the suggested class's button scrolled into view
    assert view.class_scroll.viewport().rect().intersects(
        view.class_buttons["class_58"].geometry().translated(0, -bar.value()))
    rtl = Suggestion(str(tmp_path / "y.png"), "قطة عربية", 0.07, 0.9)
    assert caption(rtl) == "7\u00a0%\n\u2068قطة عربية\u2069"


def test_confirm_accepts_what_the_preview_counted_not_the_next_folder(qtbot, window):
    """A preview of 3 images stayed shown while another folder was sorted, and Confirm then
    labelled 53 images of that folder; a key decision left it counting an image no more open."""
    from types import SimpleNamespace

    from core.label.suggestions import Suggestion

    def result(paths):
        return SimpleNamespace(items=[Suggestion(p, "a", 0.95, 0.1) for p in paths],
                               classes=["a", "b"], skipped=[], left_out=[])

    page = next(p for p in window.pages if p.key == "sort")
    window.show_page(window.pages.index(page))
    page.folder = "/A"
    page._on_suggested(result([f"/A/{i}.png" for i in range(3)]))
    page.bulk.spin.setValue(90)
    qtbot.mouseClick(page.bulk.accept_button, Qt.LeftButton)
    assert page.bulk.preview_label.text() == "Will label 3 image(s): a 3."
    page.label_current("b")  # one of the three decided by key: the preview counts again
    assert page.bulk.preview_label.text() == "Will label 2 image(s): a 2."
    page.folder = "/B"
    page._on_suggested(result([f"/B/{i}.png" for i in range(50)]))
    assert not page.bulk.preview_label.isVisible() and not page.bulk.confirm_button.isVisible()
    assert not page.review.decisions
    # Confirm applies the rows it previewed, whatever was shown since
    page.folder = "/A"
    page._on_suggested(result([f"/A/{i}.png" for i in range(3)]))
    qtbot.mouseClick(page.bulk.accept_button, Qt.LeftButton)
    previewed = page.bulk._previewed
    page.review.items.append(Suggestion("/A/late.png", "a", 0.99, 0.1))  # not in the preview
    qtbot.mouseClick(page.bulk.confirm_button, Qt.LeftButton)
    assert sorted(page.review.decisions) == sorted(p for p, _c in previewed)
    assert "/A/late.png" not in page.review.decisions


def test_images_added_to_another_data_folder_are_not_shown_as_added_to_this_one(
        qtbot, window, trained_run, folders, tmp_path):
    """After the Data page switched to folder B, images added to A stayed "✓ added", could
    not be labelled for B ("already in the data set") and sorting the folder again kept them."""
    data, new = folders
    other = tmp_path / "data_b"
    shutil.copytree(data, other)
    page = _sort_page(window, trained_run, data)
    _wait_done(qtbot, window, page.suggestions_ready, lambda: page.open_folder(str(new)))
    first = page.review.items[0].path
    qtbot.keyClick(page.grid, Qt.Key_1)
    (outcome,) = _wait_done(qtbot, window, page.box.applied,
                            lambda: qtbot.mouseClick(page.box.add_button, Qt.LeftButton))
    assert [src for src, _dst in outcome.placed] == [first]
    assert page.thumbs.state_of(first) == "added" and "1 added" in page.counter_label.text()

    window.state.set("data.data_dir", str(other))
    assert not page.review.added and page.thumbs.state_of(first) == "label"
    assert "added" not in page.counter_label.text()
    assert page.review.rows_to_apply() == [(first, "bright")]  # the label stays, for B
    _wait_done(qtbot, window, page.suggestions_ready, lambda: page.open_folder(str(new)))
    assert not page.review.added  # sorting again did not bring A's marks back

    window.state.set("data.data_dir", str(data))  # back to A: shown again, sorted for A
    data_index = window.pages.index(window.data_page)
    window.show_page(data_index)
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=60000)  # a scan of A
    _wait_done(qtbot, window, page.suggestions_ready,
               lambda: window.show_page(window.pages.index(page)))
    assert set(page.review.added) == {first} and page.thumbs.state_of(first) == "added"


def test_a_folder_holding_the_data_folder_is_sorted_without_the_data_sets_images(
        qtbot, window, trained_run, folders):
    """The folder where both the data set and the new images live filled the grid with the
    data set's own images to label again, each refused only by Add to data set."""
    data, new = folders
    page = _sort_page(window, trained_run, data)
    n_data = sum(1 for p in data.rglob("*.png"))
    got = _wait_done(qtbot, window, page.suggestions_ready,
                     lambda: page.open_folder(str(new.parent)))
    assert got == [10] and all(s.path.startswith(str(new)) for s in page.review.items)
    assert f"{data} is inside this one: its {n_data} image(s)" in page.banner.text()


def test_the_step_fits_the_smallest_window_after_adding(qtbot, window, tmp_path):
    """At 900 x 600 "51 labelled, 1 skipped, 13 to go, 2 none of these · 51 added to the data
    set" on one line widened the page: Undo, Open model… and the class buttons were cut off."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QApplication

    from core.label.suggestions import Suggestion

    data = tmp_path / "a_rather_long_folder_name" / "photos_from_the_line" / "data_set"
    data.mkdir(parents=True)
    window.state.set("data.data_dir", str(data))
    page = next(p for p in window.pages if p.key == "sort")
    window.show_page(window.pages.index(page))
    paths = [f"/new/cell{1000 + i}.png" for i in range(66)]
    page.folder = "/new"
    page._on_suggested(SimpleNamespace(items=[Suggestion(p, "mono_100", 0.9, 0.1) for p in paths],
                                       classes=["mono_0", "mono_100", "poly_0"], skipped=[],
                                       left_out=[]))
    for label in ["mono_0"] * 51 + [SKIP, NONE, NONE]:
        page.label_current(label)
    page.review.mark_added(paths[:51], "b1")
    page._show_current()
    window.resize(900, 600)
    QApplication.processEvents()
    assert "51 added to the data set" in page.counter_label.text()
    qtbot.waitUntil(lambda: page.scroll.horizontalScrollBar().maximum() == 0, timeout=3000)


def test_grid_captions_show_the_whole_class_and_the_tooltip_says_it_all(qtbot, window,
                                                                          tmp_path):
    """"✓ added · mo…" and "96 % · mono_…": mono_0, mono_100 and mono_50 looked the same
    in the grid, even at 1600 px, and no tooltip had the full caption."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QApplication

    from core.label.suggestions import Suggestion

    classes = ["mono_0", "mono_100", "poly_0", "a_rather_long_class_name"]
    page = next(p for p in window.pages if p.key == "sort")
    window.show_page(window.pages.index(page))
    window.resize(1600, 1000)
    paths = [str(tmp_path / f"cell{i}.png") for i in range(4)]
    for i, p in enumerate(paths):
        _image(Path(p), 50 * i, i)
    page.folder = str(tmp_path)
    page._on_suggested(SimpleNamespace(
        items=[Suggestion(p, c, 0.96, 0.1) for p, c in zip(paths, classes)],
        classes=classes, skipped=[], left_out=[]))
    page.label_current("mono_100")
    page.review.mark_added(paths[:1], "b1")
    page._paint_decision(paths[0])
    QApplication.processEvents()
    thumbs, metrics = page.thumbs, page.grid.fontMetrics()
    for row, (shown, cls) in enumerate([("✓ added", "mono_100"), ("96\u00a0%", "mono_100"),
                                        ("96\u00a0%", "poly_0")]):
        index = thumbs.index(row)
        first, second = plain(thumbs.data(index, Qt.DisplayRole)).split("\n")
        assert (first, second) == (shown, cls)
        rect = page.grid.visualRect(index)
        assert metrics.horizontalAdvance(second) < rect.width()  # the class is not cut
        assert rect.height() >= 88 + 2 * metrics.lineSpacing()
    tip = plain(thumbs.data(thumbs.index(3), Qt.ToolTipRole))
    assert tip == f"{paths[3]}\n96\u00a0% · a_rather_long_class_name"
    assert plain(thumbs.data(thumbs.index(0), Qt.ToolTipRole)).endswith("✓ added · mono_100")


def test_once_a_run_is_open_the_update_buttons_say_what_they_do(qtbot, window, trained_run,
                                                                folders):
    """"Fine-tune from this run", enabled once a run was open, kept the tooltip "Needs a run
    of this app (not an exported model)" from the page's empty start (a review)."""
    from gui.pages.sort.dataset_box import FINE_TUNE_TIP, UPDATE_TIP

    index = next(i for i, p in enumerate(window.pages) if p.key == "sort")
    window.show_page(index)
    box = window.pages[index].box
    assert not box.fine_tune_button.isEnabled()
    assert box.fine_tune_button.toolTip().startswith("Needs a run of this app")
    assert box.update_button.toolTip().startswith("Needs a run of this app")
    data, _new = folders
    _sort_page(window, trained_run, data)
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=60000)
    assert box.fine_tune_button.isEnabled() and box.update_button.isEnabled()
    assert box.fine_tune_button.toolTip() == FINE_TUNE_TIP
    assert box.update_button.toolTip() == UPDATE_TIP


def test_accept_all_above_before_any_folder_says_to_choose_one(qtbot, window):
    """Before any folder of new images, "Accept all above…" said "No undecided image is 90 %
    sure." as if images had been looked at (a review)."""
    from types import SimpleNamespace

    from core.label.suggestions import Suggestion

    page = next(p for p in window.pages if p.key == "sort")
    window.show_page(window.pages.index(page))
    qtbot.mouseClick(page.bulk.accept_button, Qt.LeftButton)
    assert page.bulk.preview_label.text() == ("No images to sort yet: choose a folder of new "
                                              "images first.")
    assert not page.bulk.confirm_button.isVisible()
    page.folder = "/A"  # a folder whose images are all below the bar: the usual words
    page._on_suggested(SimpleNamespace(items=[Suggestion("/A/0.png", "a", 0.6, 0.1)],
                                       classes=["a", "b"], skipped=[], left_out=[]))
    qtbot.mouseClick(page.bulk.accept_button, Qt.LeftButton)
    assert page.bulk.preview_label.text() == "No undecided image is 90 % sure."


def test_a_long_suggestion_in_a_big_font_is_not_drawn_under_the_class_buttons(qtbot):
    """A UI review: at 14 pt the view gave the three wrapped lines of "Suggested: …" (long
    class names) the height of two, and the class buttons were drawn over the last."""
    from types import SimpleNamespace

    from PySide6.QtGui import QFont

    from gui.pages.sort.viewer import ImageView

    view = ImageView()
    qtbot.addWidget(view)
    font = QFont(view.font())
    font.setPointSizeF(14)
    view.setFont(font)
    names = ["细胞核 — nucleus, interphase, stained with DAPI",
             "Background, debris, out-of-focus regions (ignore these)", "short"]
    view.set_classes(names)
    item = SimpleNamespace(path="/x/IMG_0001.png", suggested=names[0], probability=0.2,
                           top=[(n, 0.2) for n in names], unknown=False)
    view.show_item(item, "", False)
    view.resize(440, 200)
    view.show()
    qtbot.waitExposed(view)
    label = view.suggestion_label
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width())
                    and label.geometry().bottom() < view.class_scroll.geometry().top())
