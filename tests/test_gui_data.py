"""Data page: scanning a real folder in a worker, counts, thumbnails, problems, split."""

import os
import shutil

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDropEvent

from core.data.sample_data import generate_sample_dataset
from core.appdirs import sample_dataset_dir


def make_images(tmp_path):
    root = generate_sample_dataset(tmp_path / "shapes", per_class=12, size=48, seed=1)
    broken = root / "circle" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 8)
    return root, broken


def test_open_folder_scans_and_shows_everything(qtbot, window, tmp_path, monkeypatch):
    root, broken = make_images(tmp_path)
    page = window.data_page
    assert not page.next_button.isEnabled()
    with qtbot.waitSignal(page.scan_finished, timeout=60000) as sig:
        assert page.open_folder(str(root))
        assert window.job_progress.isVisible()  # progress in the status bar
    report = sig.args[0]
    assert report.counts == {"circle": 12, "square": 12, "triangle": 12}
    assert window.state.dataset_report is report
    assert window.state.config.data.data_dir == str(root)
    assert window.state.dirty

    # classes with counts, and the bar chart
    table = page.class_table
    assert [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(3)] == \
        [("circle", "12"), ("square", "12"), ("triangle", "12")]
    assert page.chart.names == ["circle", "square", "triangle"]
    assert page.chart.values == [12, 12, 12]
    assert page.next_button.isEnabled()
    assert "36 images" in page.summary_label.text()

    # thumbnails decode in the background and arrive
    assert page.thumbs.rowCount() == 36
    qtbot.waitUntil(lambda: page.thumbs.loaded_count() >= 36, timeout=60000)
    index = page.thumbs.index(0)
    assert not page.thumbs.data(index, Qt.DecorationRole).isNull()
    page.class_combo.setCurrentText("square")
    assert page.thumbs.rowCount() == 12
    assert all("square" in page.thumbs.path(r) for r in range(12))

    # the corrupt file is a problem that leads to its file
    assert page.tabs.tabText(1).startswith("Problems (")
    listed = page.problems_tab.problems
    paths = [listed.path(r) for r in range(listed.rowCount())]
    assert str(broken) in paths, paths
    page.problem_tree.setCurrentIndex(listed.index(paths.index(str(broken)), 0))
    assert str(broken) in page.problem_path.text()
    assert page.show_in_folder_button.isEnabled()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    page.show_in_folder_button.click()
    assert opened == [QUrl.fromLocalFile(str(broken.parent))]

    # split settings edit the one config
    page.val_spin.setValue(30)
    page.seed_spin.setValue(7)
    assert window.state.config.data.val_split == pytest.approx(0.3)
    assert window.state.config.data.seed == 7
    # the note gives the split training will make (4 of 12 per class at 30 %), not 36 × 0.3
    from core.data.dataset import split_dataset

    split = split_dataset(report, 0.3, 7)
    assert (len(split.train), len(split.val)) == (24, 12)
    assert "12 of 36 images will be held back for validation and 24 used for training" in \
        page.split_note.text()


def test_the_split_note_and_the_train_page_give_the_exact_split(qtbot, window, tmp_path):
    """Issue 15.9: "about 42 held back / about 167 training" while the split is 41/168: both
    pages now count the split core.data.dataset.split_dataset makes."""
    from core.data.dataset import split_dataset

    root = generate_sample_dataset(tmp_path / "odd", classes=["a", "b", "c", "d", "e"],
                                   per_class=41, size=32, seed=2)  # 205 × 0.2 = 41 ≠ 5 × 8
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000) as sig:
        page.open_folder(str(root))
    split = split_dataset(sig.args[0], 0.2, 42)
    assert (len(split.train), len(split.val)) == (165, 40)
    assert "40 of 205 images will be held back for validation and 165 used for training" in \
        page.split_note.text()
    window.show_page(3)
    assert "165 training images" in window.pages[3].steps_hint.text()


def written(chart) -> list:
    """The class names the chart's axis draws now: (rect, flags, text), as pyqtgraph lays out."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(400, 400, QImage.Format_ARGB32)
    painter = QPainter(image)
    try:
        return chart.plot.getAxis("left").generateDrawSpecs(painter)[2]
    finally:
        painter.end()


def test_eight_class_names_never_overlap_and_orange_bars_are_explained(qtbot):
    """Issue 15.9: the bar chart's class names overlapped with eight classes, and nothing said
    what the orange bars mean."""
    from gui.pages.data.class_chart import ClassBarChart, labelled_rows, short_name

    chart = ClassBarChart()
    qtbot.addWidget(chart)
    chart.resize(330, 200)
    chart.show()
    for n in (8, 40):
        names = [f"vegetable_class_{i:02d}" for i in range(n)]
        values = [100] * (n - 1) + [10]
        chart.set_counts(names, values)
        qtbot.waitUntil(lambda: len(written(chart)) > 0, timeout=5000)
        texts = written(chart)
        rects = [r for r, _flags, _text in texts]
        for i, a in enumerate(rects):
            assert not any(a.intersects(b) for b in rects[i + 1:]), (n, [t for *_r, t in texts])
        assert all(len(t) <= 16 for t in chart.tick_labels)  # long names are cut with "…"
        assert len(set(chart.tick_labels)) == len(chart.tick_labels)  # and still differ
        assert all(name in chart.toolTip() for name in names)  # the tooltip has them all
        assert "fewer than a third of the largest class" in chart.legend_text()
        assert short_name(names[-1]) in chart.tick_labels  # the small class is named
    # 60 classes: the largest (3,000) and the smallest (1) went unnamed, every 4th written
    values = [50] * 60
    values[1], values[58] = 3000, 1
    rows = labelled_rows(values, 4)
    assert 1 in rows and 58 in rows and all(b - a >= 4 for a, b in zip(rows, rows[1:]))
    assert len(rows) >= 60 // 4 - 2
    # side by side only one of the two could be written: the legend names the other
    values = [50] * 60
    values[30], values[31] = 3000, 1
    chart.set_counts([f"class_{i:02d}" for i in range(60)], values)
    assert sum(t in chart.tick_labels for t in ("class_30", "class_31")) == 1
    legend = chart.legend_text().replace("\u2068", "").replace("\u2069", "")
    assert ("largest: class_30 (3,000 images)" in legend) != ("class_30" in chart.tick_labels)
    assert ("smallest: class_31 (1 image)" in legend) != ("class_31" in chart.tick_labels)
    chart.set_counts(["a", "b"], [10, 9])
    assert "fewer than a third" not in chart.legend_text()  # no orange bar, no orange legend
    assert "largest" not in chart.legend_text()  # both are written


def test_a_warning_alone_is_not_a_problem_and_counts_match_inspect(qtbot, window, tmp_path,
                                                                   capsys):
    """Issue 15.9: "Problems (1)" over "No problems found" when the one item was a warning;
    the imbalance tip suggested class weights, which training applies itself; non-image files
    counted as skipped while `inspect` does not count them."""
    from core.cli import main as cli_main

    root = tmp_path / "skewed"
    generate_sample_dataset(root, classes=["many"], per_class=60, size=32, seed=3)
    generate_sample_dataset(root, classes=["few"], per_class=10, size=32, seed=4)
    (root / "many" / "notes.txt").write_text("not an image")
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(root))
    assert page.tabs.tabText(1) == "Problems (1 warning)"
    assert page.problem_path.text().startswith("No files were skipped")
    assert "imbalanced" in page.warnings_label.text()
    assert "consider" not in page.warnings_label.text()
    assert "already counts the smaller classes" in page.warnings_label.text()
    assert "skipped" not in page.summary_label.text()
    assert "1 non-image file ignored" in page.summary_label.text()

    broken = root / "few" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.rescan()
    assert page.tabs.tabText(1) == "Problems (1 skipped, 1 warning)"
    assert "1 file skipped" in page.summary_label.text()
    capsys.readouterr()
    cli_main(["inspect", str(root)])
    assert "Problems: 1 files left out" in capsys.readouterr().out  # the same count


def test_unusable_folder_and_missing_folder_are_explained(qtbot, window, tmp_path):
    page = window.data_page
    one = tmp_path / "one"
    generate_sample_dataset(one, classes=["only"], per_class=3, size=32)
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(one))
    assert page.banner.isVisible() and "at least 2 classes" in page.banner.text()
    assert not page.next_button.isEnabled()
    with qtbot.waitSignal(page.scan_failed, timeout=60000) as sig:
        page.open_folder(str(tmp_path / "missing"))
    assert "not found" in sig.args[0] and "Traceback" not in page.banner.text()


def test_sample_dataset_button_generates_and_opens(qtbot, window):
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=120000) as sig:
        page.sample_button.click()
    report = sig.args[0]
    assert report.usable and len(report.classes) == 3
    assert window.state.config.data.data_dir == str(sample_dataset_dir())
    assert str(sample_dataset_dir()).startswith(os.environ["FTS_DATA_DIR"])


def test_dropping_a_folder_opens_it(qtbot, window, tmp_path):
    root, _ = make_images(tmp_path)
    window.show_page(3)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(root))])
    event = QDropEvent(QPointF(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.dropEvent(event)
    assert window.current_page() is window.data_page
    assert window.sidebar.item(0).text().endswith("✓")


def test_one_class_of_one_image_reads_as_singular(qtbot, window, tmp_path):
    """The summary said "1 classes · 5 images"."""
    root = generate_sample_dataset(tmp_path / "one", classes=["circle"], per_class=1, size=32,
                                   seed=3)
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(root))
    assert page.summary_label.text().startswith("1 class · 1 image")
    assert "needs at least 2 classes" in page.banner.text()


def test_drops_of_a_project_on_predict_an_odd_name_and_an_empty_folder(qtbot, window, tmp_path):
    """The Predict page took a dropped project file as an image to classify; a name that is
    not UTF-8 was "not found"; an empty folder (a data set to begin) went to Predict."""
    import os

    from gui.window_drops import drop_plan, local_paths

    odd = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.ftsproj")
    with open(odd, "w", encoding="utf-8") as fh:
        fh.write("{}")
    import urllib.parse

    mime = QMimeData()  # as a file manager sends it: the name's bytes, percent-encoded
    mime.setUrls([QUrl.fromEncoded(b"file://" + urllib.parse.quote_from_bytes(
        os.fsencode(odd)).encode())])
    assert local_paths(mime) == [odd]
    predict = next(p for p in window.pages if p.key == "predict")
    window.show_page(window.pages.index(predict))
    assert not predict.acceptDrops()  # the window routes drops, projects included
    assert drop_plan([odd], page_takes_files=True) == ("project", [odd])
    shouted = str(tmp_path / "LAB.FTSPROJ")  # as copied from a Windows share
    assert drop_plan([shouted], page_takes_files=False) == ("project", [shouted])
    empty = tmp_path / "new-set"
    empty.mkdir()
    assert drop_plan([str(empty)], page_takes_files=False) == ("data", [str(empty)])
    # (a review) new photos with a "rejects" sub-folder replaced the project's image folder
    # ("needs at least 2 classes") and nothing was predicted: images at the top: classify
    photos = tmp_path / "new-photos"
    (photos / "rejects").mkdir(parents=True)
    for name in ("a.png", "rejects/b.png"):
        Image.new("RGB", (8, 8)).save(photos / name)
    assert drop_plan([str(photos)], page_takes_files=False) == ("predict", [str(photos)])
    (photos / "a.png").unlink()  # sub-folders only: a data set, as before
    assert drop_plan([str(photos)], page_takes_files=False) == ("data", [str(photos)])


def test_a_dropped_run_folder_or_model_file_opens_as_the_model(qtbot, window, tmp_path,
                                                               monkeypatch):
    """A run folder dropped on the window replaced the image folder ('needs at least 2
    classes'); a .tflite was refused without a word, or read as an image on Predict."""
    from gui.window_drops import drop_plan

    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "labels.json", "model.keras"):
        (run / name).write_text("{}")
    tfl = tmp_path / "model.tflite"
    tfl.write_bytes(b"TFL3")
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    for page_takes_files in (False, True):
        assert drop_plan([str(run)], page_takes_files) == ("model", [str(run)])
        assert drop_plan([str(tfl)], page_takes_files) == ("model", [str(tfl)])
        # dropped with images, the model opens and asks about them (it was read as an image)
        assert drop_plan([str(image), str(tfl)], page_takes_files) == \
            ("model", [str(tfl), str(image)])
    opened = []
    predict = next(p for p in window.pages if p.key == "predict")
    monkeypatch.setattr(predict, "open_model",
                        lambda path, then=(): opened.append(path) or True)
    data_dir = window.state.config.data.data_dir
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(run))])
    window.show_page(0)
    window.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    assert opened == [str(run)] and window.current_page() is predict
    assert window.state.config.data.data_dir == data_dir  # the image folder stays


def test_two_data_folders_dropped_open_the_first_and_say_so(qtbot, window, tmp_path,
                                                            monkeypatch):
    """Only the first of several dropped data folders was opened, without a word."""
    first = generate_sample_dataset(tmp_path / "first", classes=["a", "b"], per_class=3, size=32)
    second = generate_sample_dataset(tmp_path / "second", classes=["a", "b"], per_class=3,
                                     size=32)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(first)), QUrl.fromLocalFile(str(second))])
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton,
                                    Qt.NoModifier))
    assert window.state.config.data.data_dir == str(first)
    said = window.statusBar().currentMessage()
    assert said.startswith("2 items dropped; opening the image folder ") and str(first) in said
    # two projects: said after the open (which shows "Opened ..."), and only when it opened
    a, b = str(tmp_path / "a.ftsproj"), str(tmp_path / "b.ftsproj")
    assert window.save_project_as(a)
    shutil.copyfile(a, b)
    window.statusBar().clearMessage()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(a), QUrl.fromLocalFile(b)])
    drop = QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(drop)
    assert window.statusBar().currentMessage().startswith(
        f"2 items dropped; opened the project {a}")
    with open(a, "w", encoding="utf-8") as fh:
        fh.write("{ damaged")
    warned = []
    monkeypatch.setattr(type(window), "_warn", lambda self, title, text: warned.append(text))
    window.statusBar().clearMessage()
    window.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton,
                                Qt.NoModifier))
    assert "items dropped" not in window.statusBar().currentMessage() and warned


def test_the_problems_tab_lists_every_file_in_a_model(qtbot, tmp_path):
    """50 000 sidecar files were added one item at a time on the UI thread (0.7 s); the tab
    is now a table model, filled at once, the skipped files first."""
    from types import SimpleNamespace

    from gui.pages.data.problems import NON_IMAGE, ProblemsTab

    tab = ProblemsTab()
    qtbot.addWidget(tab)
    root = str(tmp_path)
    notes = [SimpleNamespace(path=f"{root}/a/{i}.txt", reason="not an image", kind=NON_IMAGE)
             for i in range(50000)]
    broken = SimpleNamespace(path=f"{root}/a/broken.jpg", reason="truncated", kind="corrupt")
    report = SimpleNamespace(problems=notes + [broken], warnings=["class a is small"])
    assert tab.fill(report, root) == "Problems (1 skipped, 1 warning)"
    model = tab.problems
    assert model.rowCount() == 50001
    first = model.index(0, 0)
    assert model.data(first) == os.path.join("a", "broken.jpg")
    assert model.data(first, Qt.ToolTipRole) == broken.path
    assert model.data(model.index(0, 1)) == "truncated"
    tab.problem_tree.setCurrentIndex(first)
    assert tab.selected_path() == broken.path and tab.show_button.isEnabled()
    assert tab.problem_path.text() == f"{broken.path}\ntruncated"
    assert tab.fill(None, None) == "Problems" and model.rowCount() == 0


def test_chart_names_alike_at_both_ends_still_differ(qtbot):
    """A UI review: thirty classes "class_00_specimen" … "class_29_specimen" were written on
    the chart's axis as three names, "class_0…specimen", "class_1…specimen", "class_2…specimen"."""
    from gui.pages.data.class_chart import NAME_CHARS, ClassBarChart

    chart = ClassBarChart()
    qtbot.addWidget(chart)
    chart.resize(400, 800)  # tall enough to write every name
    chart.show()
    names = [f"class_{i:02d}_specimen" for i in range(30)]
    chart.set_counts(names, [6] * 30)
    qtbot.waitUntil(lambda: len(chart.tick_labels) == 30, timeout=5000)
    assert len(set(chart.tick_labels)) == 30, chart.tick_labels
    assert all(len(t) <= NAME_CHARS for t in chart.tick_labels)
    assert "03" in chart.tick_labels[3]  # the part that tells them apart is written
