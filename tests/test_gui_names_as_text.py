"""Names from the user's disk (classes, files, folders, runs, projects) are shown as written.

A Qt label, tooltip or message box left at AutoText reads its text as HTML when the first
line looks like it: a file "<b>x.jpg" was shown in bold as "x.jpg", a run "<img src=z>" as a
broken picture (also in the question asking to delete it), and the class "&lt;y&gt;" as
"<y>", another class's name (review 23, finding 5).  Each check reads what the real widget
would draw (:func:`shown`), so it fails wherever a name is taken for markup.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextDocument
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QApplication, QComboBox, QMessageBox

from core.appdirs import default_runs_dir
from core.data.sample_data import generate_sample_dataset
from core.runs.history import RunHistory
from gui.plain_text import plain_tip
from test_run_history import make_run

NAMES = ("<b>x", "&lt;y&gt;", "<img src=z>")  # a tag, an entity, a picture


def shown(text: str, text_format=Qt.AutoText) -> str:
    """What a label (or a tooltip: AutoText) with ``text`` draws, as plain text: HTML is
    rendered the way Qt renders it (a picture becomes U+FFFC, "&lt;" becomes "<")."""
    if text_format == Qt.PlainText or (text_format == Qt.AutoText
                                       and not GuiQt.mightBeRichText(text)):
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText()


def label_text(label) -> str:
    return shown(label.text(), label.textFormat())


def answer_next_box(button) -> list:
    """Answer the next message box with ``button``; the list gets its (format, text)."""
    seen = []

    def look() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QMessageBox) and w.isVisible():
                seen.append((w.textFormat(), w.text()))
                w.button(button).click()
                return
        QTimer.singleShot(10, look)

    QTimer.singleShot(0, look)
    return seen


def test_the_tooltip_helper_keeps_names_and_white_space():
    for name in NAMES + ("R&D", "a  b.jpg\n  second line"):
        tip = plain_tip(f"{name}\nnext")
        assert shown(tip) == f"{name}\nnext", tip
    assert plain_tip("/data/cat/1.png") == "/data/cat/1.png"  # nothing to read as markup


def test_every_page_banner_shows_a_name_as_written(window):
    for page in window.pages:
        for name in NAMES:
            text = f"Saved the report: /work/runs_x/{name}-report.html"
            page.show_info(text)
            assert label_text(page.banner) == text, (page.key, name)


def test_data_page_folder_problem_chart_and_thumbnails(qtbot, window, tmp_path):
    root = generate_sample_dataset(tmp_path / f"photos {NAMES[0]}", classes=list(NAMES),
                                   per_class=3, size=32, seed=2)
    broken = root / NAMES[2] / f"{NAMES[1]}.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 8)
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        assert page.open_folder(str(root))
    assert label_text(page.folder_label) == f"Folder: {root}"
    listed = page.problems_tab.problems
    row = [listed.path(r) for r in range(listed.rowCount())].index(str(broken))
    page.problem_tree.setCurrentIndex(listed.index(row, 0))
    assert label_text(page.problem_path).startswith(f"{broken}\n")
    assert shown(listed.data(listed.index(row, 0), Qt.ToolTipRole)) == str(broken)
    tip = shown(page.chart.toolTip())
    assert all(f"{name}: 3 images" in tip for name in NAMES), tip
    thumbs = page.thumbs
    assert any(shown(thumbs.data(thumbs.index(r), Qt.ToolTipRole)).startswith(str(root / n))
               for r in range(thumbs.rowCount()) for n in NAMES[:1])


def test_runs_compare_title_path_tooltip_and_delete_question(qtbot, window):
    from gui.pages.runs.rows import COLUMNS

    base = default_runs_dir()
    a = make_run(base / NAMES[2], created=1000.0)
    b = make_run(base / NAMES[1], lr=5e-4, created=2000.0, classes=("bright", NAMES[0]))
    h = RunHistory()
    ia, ib = h.record_run(a), h.record_run(b)
    window.show_page(next(i for i, p in enumerate(window.pages) if p.key == "runs"))
    page = window.current_page()
    with qtbot.waitSignal(page.compared, timeout=5000):
        page.select_ids([ia, ib])
    title = label_text(page.compare_box.title)
    names = [f"{ab}: {n} (" for ab, n in zip("AB", (NAMES[2], NAMES[1]))]
    other = [f"{ab}: {n} (" for ab, n in zip("AB", (NAMES[1], NAMES[2]))]
    assert all(n in title for n in names) or all(n in title for n in other), title
    t = page.compare_box.diff_table
    classes = next(r for r in range(t.rowCount()) if t.item(r, 0).text() == "Classes")
    assert any(NAMES[0] in shown(t.item(classes, c).toolTip()) for c in (1, 2))
    col = COLUMNS.index("Folder")
    tips = {shown(page.proxy.index(r, col).data(Qt.ToolTipRole))
            for r in range(page.proxy.rowCount())}
    assert tips == {page.history.get(i).path for i in (ia, ib)}, tips
    assert {os.path.basename(t) for t in tips} == {NAMES[2], NAMES[1]}

    page.select_ids([ia])
    seen = answer_next_box(QMessageBox.No)
    page.delete_button.click()
    assert seen and seen[0][0] == Qt.PlainText
    assert f"“{NAMES[2]}”" in seen[0][1] and a.exists()


def test_the_save_question_names_the_project_as_written(qtbot, window, tmp_path):
    path = tmp_path / f"{NAMES[2]}.ftsproj"
    window.state.set_project_path(str(path))
    window.state.set("train.epochs", 3)  # unsaved changes
    seen = answer_next_box(QMessageBox.Cancel)
    assert window.save_answer() == QMessageBox.Cancel
    assert seen == [(Qt.PlainText, f"Save the changes to {path.name} first?")]


def test_sort_buttons_model_line_and_combo_tooltips(qtbot, window, tmp_path):
    from gui.pages.sort.class_buttons import ClassButton
    from gui.widgets.compact import compact_combo

    for name in NAMES:
        button = ClassButton(name, "1")
        qtbot.addWidget(button)
        assert f"'{name}'" in shown(button.toolTip())
    sort = next(p for p in window.pages if p.key == "sort")
    model = tmp_path / NAMES[0] / "model.keras"
    sort.open_model(str(model))
    assert label_text(sort.model_label) == f"Model: {model}"
    combo = QComboBox()
    qtbot.addWidget(combo)
    combo.addItem(f"Video: {NAMES[2]}.mp4")
    compact_combo(combo)
    assert shown(combo.toolTip()) == f"Video: {NAMES[2]}.mp4"


def test_network_source_line_and_other_labels_that_name_files(qtbot, window, tmp_path):
    from core.insight.explorer import NetworkSpec
    from gui.pages.network.page import ModelSource
    from gui.pages.predict.results import model_text

    path = str(tmp_path / NAMES[1] / "model.keras")
    source = ModelSource(NetworkSpec("file", path=path), ("file", path, 0),
                         f"({NAMES[2]} is gone)", NAMES[0])
    tensor = SimpleNamespace(shape=(None, 32, 32, 3))
    fake = SimpleNamespace(inputs=[tensor], outputs=[SimpleNamespace(shape=(None, 2))],
                           name="<i>net")
    network = next(p for p in window.pages if p.key == "network")
    network.source_label.setText(source.describe(fake))
    line = label_text(network.source_label)
    assert f"run {NAMES[0]} (<i>net," in line and f"({NAMES[2]} is gone)" in line
    assert line.endswith(path), line
    predict = next(p for p in window.pages if p.key == "predict")
    predict.model_label.setText(model_text(path, path, "", None, None))
    assert path in label_text(predict.model_label)
    predict.model_label.setText(model_text(None, None, f"{NAMES[1]} R&D is gone", None, None))
    assert label_text(predict.model_label) == f"{NAMES[1]} R&D is gone"  # no "&amp;"
    evaluate = next(p for p in window.pages if p.key == "evaluate")
    train = next(p for p in window.pages if p.key == "train")
    plain = [window.job_label, evaluate.empty_label, train.status_label]
    assert all(label.textFormat() == Qt.PlainText for label in plain)
    assert evaluate.source_label.textFormat() == Qt.RichText  # its names escaped


def test_the_save_question_without_a_project_says_what_a_project_keeps(qtbot, window):
    """"Save the changes to this project first?" asked someone who never made a project,
    and after Discard the next start was empty with no word why (a novice review)."""
    window.state.set("train.epochs", 3)  # unsaved changes, no project file
    seen = answer_next_box(QMessageBox.Cancel)
    assert window.save_answer() == QMessageBox.Cancel
    assert "this project" not in seen[0][1]
    assert "without one the window starts empty next time" in seen[0][1]
    assert "Trained runs are kept either way" in seen[0][1]
