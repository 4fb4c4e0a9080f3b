"""Evaluate page on a real trained run: summary, per-class table, a clickable confusion
heat map whose counts are metrics.json's, cells listing their images (diagonal cells after
a real prediction job), the mistakes gallery, and evaluation on another folder."""

import json
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from core.infer.metrics import Metrics
from core.runs.folder import RunFolder
from gui.pages.evaluate.page import EvaluatePage


def open_run(qtbot, window, run) -> EvaluatePage:
    """The Evaluate page showing ``run`` (the current run), once its figures are shown."""
    page = window.pages[4]
    window.show_page(4)
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(run))
    return page


def click_cell(qtbot, page: EvaluatePage, row: int, col: int) -> None:
    rect = page.confusion.cell_rect(row, col)
    assert rect.isValid() and not rect.isEmpty()
    qtbot.mouseClick(page.confusion.viewport(), Qt.LeftButton, pos=rect.center())


def val_records(run_dir: Path) -> list[dict]:
    split = json.loads((run_dir / "split.json").read_text())
    return split["val"]


def test_run_results_and_clickable_confusion_matrix(qtbot, window, trained_run):
    metrics = Metrics.from_dict(json.loads((trained_run / "metrics.json").read_text()))
    page = window.pages[4]
    assert isinstance(page, EvaluatePage)
    window.show_page(4)
    assert page.empty_label.isVisible() and not page.content.isVisible()

    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(trained_run))
    assert page.content.isVisible()
    assert page.accuracy_label.text() == f"{metrics.accuracy:.1%}"
    assert f"{metrics.macro_f1:.3f}" in page.summary_label.text()
    # per-class table: one row per class with its scores
    assert page.class_table.rowCount() == len(metrics.classes) == 2
    for r, score in enumerate(metrics.per_class):
        assert page.class_table.item(r, 0).text() == score.name
        assert page.class_table.item(r, 4).text() == str(score.support)
        assert page.class_table.item(r, 2).text() == f"{score.recall:.1%}"
    # the heat map shows exactly metrics.confusion, coloured
    assert page.confusion.counts() == metrics.confusion
    model = page.confusion.matrix
    assert model.headerData(0, Qt.Horizontal) == metrics.classes[0]
    busy = next((r, c) for r in range(2) for c in range(2) if metrics.confusion[r][c])
    assert model.data(model.index(*busy), Qt.BackgroundRole).name() != "#1e2125"

    # a diagonal cell needs every validation prediction: a real job computes them once
    records = val_records(trained_run)
    with qtbot.waitSignal(page.cell_shown, timeout=120000) as sig:
        click_cell(qtbot, page, 0, 0)
    assert sig.args == [0, 0, metrics.confusion[0][0]]
    assert page.predictions is not None and len(page.predictions) == metrics.n_images
    assert page.cell_thumbs.rowCount() == metrics.confusion[0][0] == len(page.cell_paths)
    root = Path(json.loads((trained_run / "split.json").read_text())["root"])
    class0 = {str(root / r["path"]) for r in records if r["label"] == 0}
    assert set(page.cell_paths) <= class0
    assert page.selected_cell == (0, 0)

    # every other cell is answered at once from the kept predictions
    for r in range(2):
        for c in range(2):
            with qtbot.waitSignal(page.cell_shown, timeout=2000) as sig:
                click_cell(qtbot, page, r, c)
            assert sig.args == [r, c, metrics.confusion[r][c]]
            assert page.cell_thumbs.rowCount() == metrics.confusion[r][c]
    assert not window.runner.is_busy()

    # mistakes gallery: most confident first, as metrics.json lists them
    assert page.mistake_thumbs.rowCount() == len(metrics.mistakes)
    for i, m in enumerate(metrics.mistakes):
        assert page.mistake_thumbs.path(i) == m.path


def test_off_diagonal_cell_lists_mistakes_without_a_job(qtbot, window, trained_run, tmp_path):
    # A run whose metrics.json records one mistake: the cell is answered from it, no job.
    run = tmp_path / "run"
    import shutil

    shutil.copytree(trained_run, run)
    data = json.loads((run / "metrics.json").read_text())
    img = json.loads((run / "split.json").read_text())
    some = str(Path(img["root"]) / img["val"][0]["path"])
    data["confusion"] = [[5, 1], [0, 6]]
    data["n_images"] = 12
    data["mistakes"] = [{"path": some, "true_label": data["classes"][0],
                         "predicted_label": data["classes"][1], "confidence": 0.91}]
    RunFolder(run).write_json("metrics.json", data)
    page = open_run(qtbot, window, run)
    with qtbot.waitSignal(page.cell_shown, timeout=2000) as sig:
        click_cell(qtbot, page, 0, 1)
    assert sig.args == [0, 1, 1]
    assert page.cell_paths == [some]
    assert not window.runner.is_busy()
    assert "1 image(s) got the wrong class" in page.mistakes_label.text()


def test_evaluate_on_another_folder(qtbot, window, trained_run, tmp_path):
    rng = np.random.default_rng(7)  # new images, not the training ones
    folder = tmp_path / "other"
    for name, base, n in (("bright", 185, 5), ("dark", 65, 4)):
        (folder / name).mkdir(parents=True)
        for i in range(n):
            arr = np.clip(base + rng.normal(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(folder / name / f"{name}_{i}.png")
    (folder / "dark" / "broken.png").write_bytes(b"not an image")
    import shutil

    shutil.copy(folder / "bright" / "bright_0.png", folder / "bright" / "copy_of_0.png")
    (folder / "Bright").mkdir()  # the class is "bright": not scored, and the banner says so
    Image.fromarray(np.full((40, 40, 3), 200, np.uint8)).save(folder / "Bright" / "b.png")
    page = open_run(qtbot, window, trained_run)
    with qtbot.waitSignal(page.folder_evaluated, timeout=120000) as sig:
        assert page.evaluate_folder(str(folder)) is not None
    metrics = sig.args[0]
    assert metrics.n_images == 9 and sum(map(sum, metrics.confusion)) == 9
    assert any("broken.png" in s["path"] for s in metrics.skipped)
    assert not any("copy_of_0" in s["path"] for s in metrics.skipped)  # a copy, not unreadable
    assert "“Bright” (the class is “bright”)" in page.banner.text()
    assert "1 copies of other files in the same class were not scored" in page.banner.text()
    assert "1 file(s) could not be read" in page.banner.text()
    # the run's validation ECE "before calibration" is not this folder's
    assert "before calibration" not in page.summary_label.text()
    assert page.source == str(folder)
    assert page.confusion.counts() == metrics.confusion
    assert page.back_button.isVisible()
    assert "could not be read" in page.banner.text()
    # every cell of this matrix is clickable at once: the answers were recorded
    with qtbot.waitSignal(page.cell_shown, timeout=2000) as cell:
        click_cell(qtbot, page, 1, 1)
    assert cell.args == [1, 1, metrics.confusion[1][1]]
    assert all(Path(p).parent.name == "dark" for p in page.cell_paths)
    # Save report… keeps the run's validation scores: said while the folder's are shown
    page.report_button.saved.emit(str(tmp_path / "r.html"))
    assert f"the results of {folder} on screen are not in it" in page.banner.text()
    page.back_button.click()
    assert page.source == "validation" and not page.back_button.isVisible()
    # the folder's notes went with its figures (a review: "Not scored: …" read as about these)
    assert not page.banner.isVisible()
    page.report_button.saved.emit(str(tmp_path / "r.html"))
    assert page.banner.text() == f"Saved the report: {tmp_path / 'r.html'}"


def test_stopped_run_without_results_says_so(qtbot, window, tmp_path):
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    run.update_run_info(status="stopped")
    page = window.pages[4]
    window.show_page(4)
    window.state.set_run(str(run.path))
    assert page.empty_label.isVisible()
    assert "stopped before its first epoch" in page.empty_label.text()
    # Nothing to resume: it had said "Resume it on the Train step", where Resume is off (a
    # review)
    assert "Nothing of it can be resumed" in page.empty_label.text()
    assert "Resume it" not in page.empty_label.text()
    # killed after some epochs (an upgrade review: it was said to have stopped before one)
    run.checkpoint.state.parent.mkdir()
    run.checkpoint.state.write_text("{}")  # written after every finished epoch
    run.write_history([{"phase": "head", "epoch": i, "global_epoch": i, "loss": 1.0,
                        "accuracy": 0.5, "val_loss": 1.0, "val_accuracy": 0.5,
                        "learning_rate": 1e-3, "seconds": 1.0} for i in range(1, 7)])
    window.state.set_run(None)
    window.state.set_run(str(run.path))
    assert "cut off after 6 epochs, its best weights kept" in page.empty_label.text()
    assert "Resume it on the Train step" in page.empty_label.text()


def _run_with(tmp_path, name, confusion, classes=("bright", "dark")):
    """A run folder whose metrics.json holds ``confusion`` (two classes), its images real files.

    The metrics come from core.infer.metrics.compute_metrics on made-up answers: what the page
    shows of them needs no model.
    """
    from core.infer.metrics import compute_metrics

    classes = list(classes)
    y_true, probs, paths = [], [], []
    folder = tmp_path / f"{name}-images"
    folder.mkdir()
    for t, row in enumerate(confusion):
        for p, count in enumerate(row):
            for _ in range(count):
                path = folder / f"{len(paths):03d}.png"
                Image.fromarray(np.full((8, 8, 3), 200 if t == 0 else 50, np.uint8)).save(path)
                y_true.append(t)
                probs.append([0.8, 0.2] if p == 0 else [0.2, 0.8])
                paths.append(str(path))
    run = RunFolder(tmp_path / name)
    run.path.mkdir()
    run.update_run_info(status="completed")
    run.write_metrics(compute_metrics(y_true, np.array(probs), classes, paths).to_dict())
    return run.path


def test_opens_on_the_mistakes_and_warns_when_the_set_is_small(qtbot, window, tmp_path):
    """Issue 15.10: the page opened on an empty "Images in the chosen cell" tab while the
    mistakes tab had content, and nothing said that 12 images make noisy percentages."""
    page = window.pages[4]
    window.show_page(4)
    small = _run_with(tmp_path, "small", [[5, 1], [0, 6]])
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(small))
    assert page.content.tabs.currentIndex() == 1  # "Mistakes (1)"
    assert page.content.tabs.tabText(1).startswith("Mistakes (1)")
    # 11 of 12 right: the Wilson 95 % interval is 64.6 %..98.5 %
    assert "95 % interval 65%–99%" in page.summary_label.text()
    caution = page.content.caution_label
    assert caution.isVisible() and "Only 12 images" in caution.text()
    assert "'bright' 6" in caution.text() and "'dark' 6" in caution.text()  # classes under 10
    assert "larger validation share" in caution.text()
    # Another folder's figures: its own images firm them up, not the validation share (a review).
    page.content.show_metrics(page.metrics, None, validation=False)
    assert "Only 12 images" in caution.text() and "More images in that folder" in caution.text()
    assert "validation share" not in caution.text()

    large = _run_with(tmp_path, "large", [[60, 0], [0, 60]])
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(large))
    assert not page.content.caution_label.isVisible()  # 120 images, 60 per class
    assert page.content.tabs.currentIndex() == 0  # no mistakes: the cell tab and its hint


def test_class_names_that_look_like_markup_are_shown_as_written(qtbot, window, tmp_path):
    """A class "<none>" vanished from the caution and the chosen cell's words, and the
    matrix's tooltips drew "<img src=x>" as a broken picture."""
    page = window.pages[4]
    window.show_page(4)
    names = ("<none>", "<img src=x>")
    run = _run_with(tmp_path, "<b>run", [[5, 1], [0, 6]], names)
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(run))
    assert "'<none>' 6" in page.content.caution_label.text()
    assert page.content.caution_label.textFormat() == Qt.PlainText
    click_cell(qtbot, page, 0, 1)
    qtbot.waitUntil(lambda: "<none>" in page.content.cell_label.text(), timeout=5000)
    assert page.content.cell_label.textFormat() == Qt.PlainText
    model = page.content.confusion.model()
    tip = model.data(model.index(0, 1), Qt.ToolTipRole)
    assert "&lt;img src=x&gt;" in tip and "<img" not in tip
    assert "&lt;b&gt;run" in page.source_label.text()


def test_a_folder_that_fails_leaves_the_shown_figures_labelled_as_theirs(qtbot, window,
                                                                         trained_run, tmp_path):
    """The label read "Evaluating on NEW…" above the validation figures after a failure,
    and the message blamed the folder names when the files could not be read."""
    page = open_run(qtbot, window, trained_run)
    shown = page.source_label.text()
    bad = tmp_path / "held"
    for cls in ("bright", "dark"):
        (bad / cls).mkdir(parents=True)
        (bad / cls / "notes.jpg").write_text("not an image")
        (bad / cls / "empty.png").write_bytes(b"")
    job = page.evaluate_folder(str(bad))
    with qtbot.waitSignal(job.failed, timeout=120000):
        pass
    assert page.source_label.text() == shown and "validation" in shown
    assert "none of its images could be read" in page.banner.text()


def test_at_the_smallest_window_the_whole_matrix_shows_and_the_page_scrolls(qtbot, window,
                                                                            tmp_path):
    """At 900 x 600 the splitter squeezed the confusion matrix to one column and a half."""
    page = window.pages[4]
    window.show_page(4)
    window.resize(window.minimumSize())
    run = _run_with(tmp_path, "small", [[5, 1], [0, 6]])
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(run))
    qtbot.waitUntil(lambda: page.confusion.width() >= page.confusion.minimumWidth() > 0)
    view = page.confusion
    last = view.cell_rect(1, 1)
    assert view.viewport().rect().contains(last)  # every cell in view, none scrolled away
    assert (window.width(), window.height()) == (900, 600)
    qtbot.waitUntil(lambda: page.scroll.verticalScrollBar().maximum() > 0)  # it scrolls instead


def _run_copy(trained_run: Path, dest: Path, data_to: Path = None) -> Path:
    """A copy of the trained run; ``data_to``: its images copied there, the run pointed at it."""
    import shutil

    shutil.copytree(trained_run, dest)
    if data_to is not None:
        rf = RunFolder(dest)
        split = rf.read_json("split.json")
        shutil.copytree(split["root"], data_to)
        rf.write_json("split.json", {**split, "root": str(data_to)})
        cfg = rf.load_config()
        cfg.data.data_dir = str(data_to)
        rf.save_config(cfg)
    return dest


def test_a_folder_result_that_ends_after_another_run_opened_is_not_shown_as_its(
        qtbot, window, trained_run, tmp_path):
    """Run A's figures on a folder appeared under run B's name."""
    other = _run_copy(trained_run, tmp_path / "run_b")
    page = open_run(qtbot, window, trained_run)
    folder = Path(RunFolder(trained_run).read_json("split.json")["root"])
    job = page.evaluate_folder(str(folder))
    window.state.set_run(str(other))  # before the job can end: its signals wait for the loop
    with qtbot.waitSignal(job.finished, timeout=120000):
        pass
    assert page.source == "validation" and "run_b" in page.source_label.text()
    assert "was of run" in page.banner.text() and "not shown" in page.banner.text()


def test_a_cell_whose_images_cannot_be_found_says_so(qtbot, window, trained_run, tmp_path):
    """The cell kept "…the model is looking at every validation image once…" after the job
    failed; a moved data folder listed 0 images under a matrix that counts 6."""
    run = _run_copy(trained_run, tmp_path / "run")
    rf = RunFolder(run)
    rf.write_json("split.json", {**rf.read_json("split.json"), "root": str(tmp_path / "moved")})
    cfg = rf.load_config()
    cfg.data.data_dir = str(tmp_path / "moved")
    rf.save_config(cfg)
    page = open_run(qtbot, window, run)
    click_cell(qtbot, page, 0, 0)
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=120000)
    qtbot.waitUntil(lambda: "could not be found" in page.content.cell_label.text(), timeout=5000)
    assert "moved or deleted since training" in page.banner.text()


def test_validation_images_gone_since_training_are_named_above_the_cells(
        qtbot, window, trained_run, tmp_path):
    run = _run_copy(trained_run, tmp_path / "run", data_to=tmp_path / "data")
    metrics = Metrics.from_dict(RunFolder(run).metrics())
    val = [r for r in RunFolder(run).read_json("split.json")["val"] if r["label"] == 0]
    for r in val[:2]:
        (tmp_path / "data" / r["path"]).unlink()
    page = open_run(qtbot, window, run)
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        click_cell(qtbot, page, 0, 0)
    assert f"2 of the {metrics.n_images} validation images cannot be read now" in \
        page.banner.text()


def test_a_deleted_run_folder_is_called_gone_not_trained_without_validation(qtbot, window,
                                                                           tmp_path):
    page = window.pages[4]
    window.show_page(4)
    window.state.set_run(str(tmp_path / "deleted-run"))
    qtbot.waitUntil(lambda: "not there any more" in page.empty_label.text(), timeout=5000)
    assert "without validation images" not in page.empty_label.text()
    assert not page.folder_button.isEnabled()


def test_a_sixty_class_matrix_is_a_compact_heat_map(qtbot):
    """At 64x40 px a cell, a 60-class matrix showed 3 of its columns even at 1600 px, and the
    per-class table beside it got under two rows (a scale review)."""
    from PySide6.QtCore import Qt

    from gui.pages.evaluate.confusion import COMPACT_CELL, COMPACT_MAX_HEIGHT, ConfusionView

    view = ConfusionView()
    qtbot.addWidget(view)
    names = [f"class_{i:02d}" for i in range(60)]
    counts = [[5 if r == c else (1 if c == (r + 1) % 60 else 0) for c in range(60)]
              for r in range(60)]
    view.set_matrix(names, counts)
    m = view.matrix
    assert view.columnWidth(0) == COMPACT_CELL and view.rowHeight(0) == COMPACT_CELL
    assert view.maximumHeight() == COMPACT_MAX_HEIGHT  # the per-class table gets the rest
    assert m.data(m.index(3, 4), Qt.DisplayRole) == ""  # the count is in the tooltip
    assert "1 of the 6 “class_03” images were taken for “class_04”" in \
        m.data(m.index(3, 4), Qt.ToolTipRole)
    assert m.headerData(4, Qt.Horizontal) == "5" and m.headerData(4, Qt.Vertical) == \
        "5  class_04"
    assert view.counts() == counts
    view.set_matrix(names[:3], [row[:3] for row in counts[:3]])  # a few classes: as before
    assert m.data(m.index(0, 0), Qt.DisplayRole) == "5" and view.columnWidth(0) >= 64
    assert view.maximumHeight() > 10_000


def test_beside_a_compact_matrix_the_most_confused_pairs_open_their_cell(qtbot):
    """60 columns at 26 px do not fit beside the galleries: the worst cells are listed, and a
    click on one opens it like a click on the cell."""
    from core.infer.metrics import compute_metrics
    from gui.pages.evaluate.results import ResultsView

    view = ResultsView()
    qtbot.addWidget(view)
    classes = [f"class_{i:02d}" for i in range(60)]
    y = np.arange(300) % 60
    probs = np.eye(60)[y]
    probs[7] = probs[67] = np.eye(60)[9]  # class_07 taken for class_09 twice
    probs[8] = np.eye(60)[1]
    view.show_metrics(compute_metrics(y, probs, classes))
    assert view.tabs.isTabVisible(view.pairs_tab) and view.pairs_list.count() == 2
    first = view.pairs_list.item(0)
    assert first.text() == "2 × \u2068class_07\u2069 → \u2068class_09\u2069"
    with qtbot.waitSignal(view.confusion.cell_clicked) as sig:
        view.pairs_list.itemClicked.emit(first)
    assert sig.args == [7, 9]
    view.show()
    view.pairs_list.setCurrentRow(1)
    view.pairs_list.setFocus()
    with qtbot.waitSignal(view.confusion.cell_clicked) as sig:  # by keyboard, too
        qtbot.keyClick(view.pairs_list, Qt.Key_Return)
    assert sig.args == [8, 1]
    assert m_text(view, 8, 1) == "1 of 5"  # a compact cell's count, for a screen reader
    view.show_metrics(compute_metrics([0, 1], np.eye(2), ["a", "b"]))
    assert not view.tabs.isTabVisible(view.pairs_tab)


def m_text(view, row: int, col: int) -> str:
    from PySide6.QtCore import Qt

    m = view.confusion.matrix
    return m.data(m.index(row, col), Qt.AccessibleTextRole)


def test_a_calibration_error_that_rose_with_calibration_is_explained():
    """15 validation images: "ECE 0.225 before and 0.269 after" was shown as routine, and a
    new user could not tell whether calibration had failed (a review)."""
    from types import SimpleNamespace

    from gui.pages.evaluate.reliability import ece_text

    metrics = SimpleNamespace(ece=0.269)
    rose = {"temperature": 0.97, "n_images": 15, "ece_before": 0.225, "ece_after": 0.269}
    text = ece_text(metrics, rose)
    assert "0.225 before and 0.269 after" in text
    assert "log loss" in text and "on 15 images, rose by chance" in text
    fell = dict(rose, ece_after=0.1)
    assert "by chance" not in ece_text(metrics, fell)


def test_a_dash_in_the_per_class_table_says_why_in_its_tooltip(qtbot):
    """(a review) A "–" precision, recall or F1 was explained nowhere on the page."""
    from core.infer.metrics import compute_metrics
    from gui.pages.evaluate.results import NO_VALUE_TIPS, ResultsView

    view = ResultsView()
    qtbot.addWidget(view, before_close_func=lambda v: v.shutdown())
    probs = np.array([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0]])  # "b" never answered, "c" absent
    view.show_metrics(compute_metrics([0, 1], probs, ["a", "b", "c"]), None, False)
    table = view.class_table
    assert table.item(1, 1).text() == "–" and table.item(1, 1).toolTip() == NO_VALUE_TIPS[0]
    assert table.item(1, 2).toolTip() == ""  # recall 0 %: a value
    assert [table.item(2, c).toolTip() for c in (1, 2, 3)] == [NO_VALUE_TIPS[1]] * 3


def test_a_model_no_better_than_guessing_one_class_is_said_so(qtbot, window, tmp_path):
    """A 1+1-epoch run from random weights answered one class for all 12 validation images:
    the page showed "33.3 %" and "Calibration error (ECE) 0.000" and nothing said the model
    had learned nothing yet (a review)."""
    from types import SimpleNamespace

    from gui.pages.train.outcome import read_outcome

    page = window.pages[4]
    window.show_page(4)
    caution = page.content.caution_label
    one = _run_with(tmp_path, "one", [[0, 6], [0, 6]])
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(one))
    assert caution.isVisible()
    assert caution.text().startswith("⚠ The model answers ‘dark’ for every image: its 50% right "
                                     "is just that class's share of the images.")
    assert "pretrained (ImageNet) starting weights" in caution.text()
    assert "Only 12 images" in caution.text()  # the small-set caution still follows
    # Not one answer for all, but no more right than always answering one class
    even = _run_with(tmp_path, "even", [[3, 3], [3, 3]])
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(even))
    assert caution.text().startswith("⚠ 50% right is no better than always answering any one "
                                     "class would be (50%).")
    big = _run_with(tmp_path, "big", [[60, 0], [10, 50]])  # 110 of 120: better; no caution
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(big))
    assert not caution.isVisible()
    # The Train page's finish says so too, pointing at Evaluate
    for run, said in ((one, True), (big, False)):
        metrics = Metrics.from_dict(RunFolder(run).metrics())
        outcome = read_outcome(SimpleNamespace(run_dir=str(run), seconds=3.0, metrics=metrics,
                                               history=[], best_epoch=1))
        assert ("no better than always answering one class: the Evaluate step says why"
                in outcome.accuracy_text()) is said


def test_long_class_names_number_the_matrix_columns_so_every_cell_shows(qtbot):
    """A UI review: five class names of 40-60 characters made 110 px columns headed
    "Background, deb…"; the matrix, as wide as it may claim, showed two of its five columns
    even at 1600x1000, the mistakes scrolled off to the right."""
    from PySide6.QtCore import Qt

    from gui.pages.evaluate.confusion import MAX_MIN_WIDTH, ConfusionView

    names = ["Zellkern – mitotisch (Phase 2) mit Spindelapparat, Kontrast hoch",
             "细胞核 细胞核 细胞核 — nucleus, interphase, stained with DAPI 🔬",
             "Healthy tissue sample taken from the upper left quadrant 🧫",
             "Background, debris, out-of-focus regions (ignore these)", "short"]
    view = ConfusionView()
    qtbot.addWidget(view)
    counts = [[2 if r == c else (1 if c == 4 else 0) for c in range(5)] for r in range(5)]
    view.set_matrix(names, counts)
    view.resize(MAX_MIN_WIDTH, 400)  # the most room it claims beside the galleries
    view.show()
    qtbot.waitExposed(view)
    assert view.viewport().rect().contains(view.cell_rect(4, 4))  # every cell in view
    m = view.matrix
    assert m.headerData(1, Qt.Horizontal) == "2"  # row n's class is column n
    assert m.headerData(1, Qt.Vertical).startswith("2  细胞核")
    assert names[1] in m.headerData(1, Qt.Horizontal, Qt.ToolTipRole)  # whole in the tooltip
    assert m.data(m.index(0, 4), Qt.DisplayRole) == "1"  # the counts still written
    view.set_matrix(["cat", "dog", "fish"], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert m.headerData(1, Qt.Horizontal) == "dog"  # short names head their columns


def test_the_per_class_table_in_a_big_font_has_room_for_class_names(qtbot, qapp):
    """A UI review: at 14 pt the number columns took all of the table's 270 px beside the
    galleries and class names read "He…"; the table keeps room for 12 characters of name,
    and where that does not fit beside the galleries (900 px window) they stand below."""
    from PySide6.QtGui import QFont

    from core.infer.metrics import compute_metrics
    from gui.pages.evaluate.results import ResultsView

    before = qapp.font()
    font = QFont(before)
    font.setPointSizeF(14)
    qapp.setFont(font)
    try:
        names = ["Background", "Healthy tissue", "Tumour", "Necrosis", "Stroma"]
        probs = np.eye(5)[[0, 1, 2, 3, 4, 1]] * 0.8 + 0.04
        for width in (686, 1386):  # the Evaluate page's width at 900 and at 1600 px
            view = ResultsView()
            qtbot.addWidget(view, before_close_func=lambda v: v.shutdown())
            view.resize(width, 1400)
            view.show()
            view.show_metrics(compute_metrics([0, 1, 2, 3, 4, 0], probs, names), None, False)
            table = view.class_table
            need = table.fontMetrics().horizontalAdvance(names[1][:12])  # "Healthy tiss"
            qtbot.waitUntil(lambda: table.columnWidth(0) >= need, timeout=3000)
            assert view.minimumSizeHint().width() <= width
    finally:
        qapp.setFont(before)
