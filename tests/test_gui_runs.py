"""The Runs page: lists indexed runs, filters and sorts them, compares two (settings diff and
curves), opens one for the other pages, deletes one after confirmation, and refreshes
when a run finishes.  Run folders are small complete fakes (no TensorFlow)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.appdirs import default_runs_dir
from core.runs.history import RunHistory
from gui import plain_text
from gui.pages.runs.rows import COLUMNS
from test_run_history import make_run

def runs_page(window):
    i = next(i for i, p in enumerate(window.pages) if p.key == "runs")
    window.show_page(i)
    return window.pages[i]


@pytest.fixture
def two_runs(tmp_path):
    base = default_runs_dir()
    a = make_run(base / "20261101-100000-MobileNetV3Small", lr=1e-3, created=1000.0)
    b = make_run(base / "20261102-100000-EfficientNetB0", backbone="EfficientNetB0", lr=5e-4,
                 accs=(0.6, 0.8, 0.9, 0.95), created=2000.0, images=12)
    (a / "model.keras").write_bytes(b"placeholder model file for the Open button")
    h = RunHistory()
    return h, h.record_run(a), h.record_run(b), a, b


def test_list_filter_sort(qtbot, window, two_runs):
    _h, ia, ib, _a, _b = two_runs
    page = runs_page(window)
    assert page.visible_ids() == [ib, ia]  # newest first
    assert not page.empty_label.isVisible()
    page.filter_edit.setText("efficientnet")
    assert page.visible_ids() == [ib]
    assert page.count_label.text() == "1 of 2 runs"
    page.filter_edit.clear()
    page.table.sortByColumn(COLUMNS.index("Images"), Qt.AscendingOrder)  # 12 < 40
    assert page.visible_ids() == [ib, ia]
    page.table.sortByColumn(COLUMNS.index("Val accuracy"), Qt.AscendingOrder)  # 75% < 90%
    assert page.visible_ids() == [ia, ib]
    texts = [page.proxy.index(0, c).data() for c in range(page.proxy.columnCount())]
    assert "MobileNetV3Small" in texts and "75.0%" in texts and "completed" in texts


def test_compare_two_runs_shows_diff_and_curves(qtbot, window, two_runs):
    _h, ia, ib, _a, _b = two_runs
    page = runs_page(window)
    with qtbot.waitSignal(page.compared, timeout=5000) as sig:
        page.select_ids([ia, ib])
    cmp = sig.args[0]
    assert {cmp.a.id, cmp.b.id} == {ia, ib}
    assert page.compare_box.isVisible()
    keys = [page.diff_table.item(r, 0).text() for r in range(page.diff_table.rowCount())]
    assert "Learning rate 1" in keys and "Backbone" in keys  # the window's words
    row = keys.index("Learning rate 1")
    assert {page.diff_table.item(row, 1).text(), page.diff_table.item(row, 2).text()} == {
        "0.001", "0.0005"}
    lengths = sorted(len(s["x"]) for s in page.compare_series.values())
    assert lengths == [3, 4]
    assert max(max(s["val_accuracy"]) for s in page.compare_series.values()) == pytest.approx(0.9)
    page.select_ids([ia])
    assert not page.compare_box.isVisible()


def rewrite_config(run: Path, change) -> None:
    """Change a fake run's config.json the way another front end would have written it."""
    from core.config import StudioConfig
    from core.runs.folder import RunFolder

    rf = RunFolder(run)
    cfg = StudioConfig.load(rf.config_path)
    change(cfg)
    rf.save_config(cfg)


def test_a_window_run_and_the_same_cli_run_have_the_same_settings(qtbot, window, tmp_path):
    """Issue 15.5: the window stores augment.transforms [] under the preset "light", the CLI the
    preset spelled out; the comparison resolves both and finds no difference."""
    from core.data.augment import preset_config

    base = default_runs_dir()
    a = make_run(base / "20261101-100000-window")
    b = make_run(base / "20261101-110000-cli", created=2000.0)
    rewrite_config(b, lambda cfg: setattr(cfg, "augment", preset_config("light")))
    h = RunHistory()
    ia, ib = h.record_run(a), h.record_run(b)
    page = runs_page(window)
    with qtbot.waitSignal(page.compared, timeout=5000):
        page.select_ids([ia, ib])
    assert page.compare_box.differences == []
    assert "same settings" in page.compare_box.title.text()
    assert page.compare_box.cell_texts() == [("(no differences)", "", "")]


def test_long_differences_are_summarised_and_keep_both_columns_in_view(qtbot, window):
    """Issue 15.5: a list of transforms is summarised in its cell (the whole value in the
    tooltip), and run B's column stays inside the table however long run A's value is."""
    from core.data.augment import preset_config

    base = default_runs_dir()
    a = make_run(base / "20261101-100000-heavy")
    b = make_run(base / "20261101-110000-light", created=2000.0)
    rewrite_config(a, lambda cfg: (setattr(cfg, "augment", preset_config("heavy")),
                                   setattr(cfg.train, "fine_tune_epochs", 3)))
    h = RunHistory()
    ia, ib = h.record_run(a), h.record_run(b)
    window.resize(900, 600)
    page = runs_page(window)
    with qtbot.waitSignal(page.compared, timeout=5000):
        page.select_ids([ia, ib])
    rows = {label: (va, vb) for label, va, vb in page.compare_box.cell_texts()}
    assert rows["Phase 2 (fine-tune)"] == ("3", "10")
    assert rows["Preset"] == ("heavy", "light")
    steps = rows["Augmentation steps"]
    assert steps[0].startswith("9 transforms: HorizontalFlip") and len(steps[0]) <= 40
    table = page.diff_table
    r = [label for label, _a, _b in page.compare_box.cell_texts()].index("Augmentation steps")
    assert '"CoarseDropout"' in table.item(r, 1).toolTip()  # the full value, as JSON
    assert "augment.transforms" in table.item(r, 0).toolTip()
    qtbot.waitUntil(lambda: table.viewport().width() > 0)
    header = table.horizontalHeader()
    assert header.sectionViewportPosition(2) + header.sectionSize(2) <= \
        table.viewport().width() + 1
    assert header.sectionSize(2) >= 60  # B's values can be read
    # Each curve plot fits its place: the long titles kept a plot 286 px wide in a 175 px
    # view at this size, which cut off later epochs and the legend's words (a bug hunt).
    for plot in page.compare_box._plots.values():
        qtbot.waitUntil(lambda plot=plot: plot.width() > 0)
        assert plot.plotItem.geometry().width() <= plot.width() + 1


def test_open_sets_run_and_model(qtbot, window, two_runs):
    _h, ia, _ib, a, _b = two_runs
    page = runs_page(window)
    page.select_ids([ia])
    with qtbot.waitSignal(window.state.model_changed, timeout=5000):
        page.open_button.click()
    assert window.state.run_dir == str(a.resolve())
    assert window.state.last_model == str(a.resolve() / "model.keras")


def test_a_message_about_a_gone_run_goes_when_other_runs_are_selected(qtbot, window, two_runs):
    _h, ia, ib, a, _b = two_runs
    page = runs_page(window)
    page.select_ids([ia])
    shutil.rmtree(a)  # deleted on disk while listed
    page.open_button.click()
    assert page.banner.isVisible() and "no longer exists" in page.banner.text()
    with qtbot.waitSignal(page.compared, timeout=5000):
        page.select_ids([ia, ib])
    assert not page.banner.isVisible()  # it stayed above the comparison of two runs


@pytest.mark.parametrize("answer", [QMessageBox.No, QMessageBox.Yes])
def test_delete_asks_then_removes_folder_and_row(qtbot, window, two_runs, monkeypatch, answer):
    h, ia, ib, a, b = two_runs
    window.state.add_run(str(a))  # in the project; b is its current run
    window.state.set_run(str(b))
    window.state.mark_saved()
    asked = []
    monkeypatch.setattr(plain_text, "question",
                        lambda *args, **kw: asked.append(args) or answer)
    page = runs_page(window)
    page.select_ids([ia])
    page.delete_button.click()
    assert asked and str(a.resolve()) in asked[0][2]
    if answer == QMessageBox.No:
        assert a.exists() and page.visible_ids() == [ib, ia]
    else:
        assert not a.exists() and b.exists()
        assert page.visible_ids() == [ib] and h.find_id(a) is None
        # the saved project went on naming the deleted folder (a week-on-the-line review)
        assert window.state.runs == [str(b)] and window.state.dirty
        assert window.state.run_dir == str(b)


def test_refreshes_when_a_run_finishes_and_rescans_in_a_job(qtbot, window, two_runs, tmp_path):
    _h, ia, ib, _a, _b = two_runs
    page = runs_page(window)
    c = make_run(default_runs_dir() / "20261103-100000-MobileNetV3Small", created=3000.0)
    RunHistory().record_run(c)  # what training does at the end of a run
    with qtbot.waitSignal(page.runs_listed, timeout=5000):
        window.state.set_run(str(c))
    assert len(page.visible_ids()) == 3

    shutil.rmtree(c)  # gone behind the app's back; one copied in from elsewhere
    make_run(tmp_path / "elsewhere" / "copied", created=4000.0)
    with qtbot.waitSignal(page.rebuilt, timeout=30000) as sig:
        page.rescan([str(tmp_path / "elsewhere")])
    assert sig.args[0] == 3
    names = [Path(page.history.get(i).path).name for i in page.visible_ids()]
    assert names[0] == "copied" and "20261103-100000-MobileNetV3Small" not in names
    # a run folder that lost its labels.json is listed as damaged, and the banner says why
    (tmp_path / "elsewhere" / "copied" / "labels.json").unlink()
    with qtbot.waitSignal(page.rebuilt, timeout=30000):
        page.rescan()
    assert "copied: a run folder without its labels.json; it is listed as damaged" \
           in page.banner.text()
    assert len(page.visible_ids()) == 3


def test_a_damaged_run_is_listed_with_open_off_and_delete_on(qtbot, window, two_runs,
                                                            monkeypatch, tmp_path):
    """A run folder that lost its config.json vanished from the list on Rescan, only the
    banner naming it (a review): its row stays, marked damaged, saying what it lost and
    what to do; Open (and the report) are off with the reason; Delete deletes it."""
    h, ia, ib, a, b = two_runs
    (b / "config.json").unlink()
    page = runs_page(window)
    with qtbot.waitSignal(page.rebuilt, timeout=30000):
        page.rescan()
    assert page.visible_ids() == [ib, ia]
    status = page.proxy.index(0, COLUMNS.index("Status"))
    assert status.data() == "completed (damaged: no config.json)"
    why = f"{b.resolve()}: a run folder without its config.json; it is listed as damaged"
    assert why in status.data(Qt.ToolTipRole)
    page.select_ids([ib])
    assert not page.open_button.isEnabled() and why in page.open_button.toolTip()
    assert "put it back from a copy of the run, or delete the run" in page.open_button.toolTip()
    assert not page.report_button.isEnabled() and why in page.report_button.toolTip()
    assert page.delete_button.isEnabled()
    assert "Damaged:" in page.exports_label.text() and page.exports_label.isVisible()
    page.open_selected()  # a double-click: refused, saying why; the run is not opened
    assert why in page.banner.text() and window.state.run_dir != str(b)
    page.select_ids([ia])  # a whole run: Open is back, with its own tooltip
    assert page.open_button.isEnabled() and "Evaluate" in page.open_button.toolTip()

    monkeypatch.setattr(plain_text, "question", lambda *args, **kw: QMessageBox.Yes)
    page.select_ids([ib])
    page.delete_button.click()
    assert not b.exists() and h.find_id(b) is None and page.visible_ids() == [ia]


def test_damaged_history_still_opens(qtbot, window, two_runs):
    h, *_ = two_runs
    h.db_path.write_bytes(b"garbage" * 500)
    page = runs_page(window)
    assert len(page.visible_ids()) == 2  # rebuilt from the default runs folder
    assert "rebuilt" in page.banner.text()


def test_selected_run_shows_exports_and_why_tensorboard_is_off(qtbot, window, two_runs,
                                                               monkeypatch):
    h, ia, ib, a, _b = two_runs
    page = runs_page(window)
    assert not page.tensorboard_button.isEnabled()  # nothing selected
    assert "Select one run" in page.tensorboard_button.toolTip()
    assert not page.exports_label.isVisible()

    (a / "export").mkdir()
    for name in ("model.tflite", "model_int8.tflite"):  # files deleted since are not listed
        (a / "export" / name).write_bytes(b"tflite")
    h.record_export(a, "tflite", a / "export" / "model.tflite", 2_500_000, {"status": "ok"})
    h.record_export(a, "tflite-int8", a / "export" / "model_int8.tflite", 900_000,
                    {"status": "parity_failed"})
    page.select_ids([ia])
    text = page.exports_label.text()
    assert page.exports_label.isVisible() and f"Exports of {a.name} (2)" in text
    # 2,500,000 bytes is 2.5 MB, as a file manager and the report say (it said 2.4 MB)
    assert "tflite · 2.5 MB" in text and str(a / "export" / "model.tflite") in text
    assert "do not trust" in text  # only the int8 one failed its parity check
    assert text.count("do not trust") == 1
    assert not page.tensorboard_button.isEnabled()  # these fake runs have no logs
    assert "no TensorBoard logs" in page.tensorboard_button.toolTip()

    page.select_ids([ib])
    assert "none yet" in page.exports_label.text()
    monkeypatch.setattr("core.train.tensorboard.tensorboard_available", lambda: False)
    page.select_ids([ia])
    assert not page.tensorboard_button.isEnabled()
    assert "pip install tensorboard" in page.tensorboard_button.toolTip()
    page.select_ids([ia, ib])
    assert not page.exports_label.isVisible()


def test_open_in_tensorboard_from_runs_and_train_pages(qtbot, window, trained_run, monkeypatch):
    import urllib.request

    from PySide6.QtGui import QDesktopServices

    from core.train import tensorboard as tbl

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        lambda url: opened.append(url.toString()) or True)
    rid = RunHistory().record_run(trained_run)
    page = runs_page(window)
    page.select_ids([rid])
    button = page.tensorboard_button
    assert button.isEnabled(), button.toolTip()
    with qtbot.waitSignal(button.opened, timeout=120000) as sig:
        button.click()
        assert not button.isEnabled() and "Starting" in button.text()  # a worker starts it
    url = sig.args[0]
    assert opened == [url] and url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
    assert url in page.banner.text()
    qtbot.waitUntil(button.isEnabled, timeout=5000)

    # The Train page offers the current run's logs too, reusing the same server.
    train = next(p for p in window.pages if p.key == "train")
    window.state.set_run(str(trained_run))
    window.show_page(window.pages.index(train))
    assert train.current_run_dir() == str(trained_run)
    with qtbot.waitSignal(train.tensorboard_button.opened, timeout=60000) as sig2:
        train.tensorboard_button.click()
    assert sig2.args[0] == url and opened == [url, url]

    [server] = tbl.running_servers()
    proc = server.process
    window.shutdown()  # closing the app stops every TensorBoard it started
    assert tbl.running_servers() == [] and proc.poll() is not None


def test_train_page_follows_the_run_the_engine_started(qtbot, window, trained_run):
    """RunStarted names the new run's folder: the TensorBoard button follows it at once."""
    from core.train import tensorboard as tbl
    from core.events import RunStarted

    train = next(p for p in window.pages if p.key == "train")
    train._on_event(RunStarted(str(trained_run)))
    assert train.current_run_dir() == str(trained_run)
    assert train.tensorboard_button.isEnabled() == tbl.tensorboard_available()


def test_network_page_next_shows_runs(qtbot, window):
    network = next(p for p in window.pages if p.key == "network")
    assert network.next_button is not None and "runs" in network.next_button.text().lower()
    network.next_button.click()
    assert window.current_page().key == "runs"


def test_export_page_next_shows_the_network_page(qtbot, window):
    export = next(p for p in window.pages if p.key == "export")
    assert export.next_button is not None and "network" in export.next_button.text().lower()
    export.next_button.click()
    assert window.current_page().key == "network"


def test_opening_a_run_without_a_model_leaves_no_other_runs_model_in_use(qtbot, window,
                                                                         two_runs):
    """Opening B kept A's model.keras as the current model: Predict and Export used A's."""
    _h, ia, ib, a, b = two_runs
    page = runs_page(window)
    page.select_ids([ia])
    page.open_button.click()
    assert window.state.last_model == str(a.resolve() / "model.keras")
    page.select_ids([ib])
    page.open_button.click()
    assert window.state.run_dir == str(b.resolve()) and window.state.last_model is None
    assert "model.keras is missing from its folder" in page.banner.text()  # completed, no model


def test_a_run_being_trained_cannot_be_deleted_from_the_page(qtbot, window, two_runs):
    from core.runs.folder import RunFolder
    from core.runs.lock import acquire, release

    h = two_runs[0]
    run = make_run(default_runs_dir() / "20261103-100000-training", status="running",
                   created=3000.0)
    rid = h.record_run(run)
    acquire(RunFolder(run))
    try:
        page = runs_page(window)
        page.refresh()
        page.select_ids([rid])
        assert not page.delete_button.isEnabled()
        assert "being trained" in page.delete_button.toolTip()
    finally:
        release(RunFolder(run))
    page.select_ids([two_runs[1]])
    assert page.delete_button.isEnabled() and "asks first" in page.delete_button.toolTip()


def test_add_folder_waits_for_a_rescan(qtbot, window, two_runs):
    """A folder added while a rescan ran was dropped without a word."""
    page = runs_page(window)
    with qtbot.waitSignal(page.rebuilt, timeout=30000):
        page.rescan()
        assert not page.add_button.isEnabled() and not page.rescan_button.isEnabled()
    qtbot.waitUntil(page.add_button.isEnabled, timeout=5000)


def test_the_compare_hint_follows_the_number_of_runs(qtbot, window, two_runs, monkeypatch):
    h, ia, _ib, _a, _b = two_runs
    page = runs_page(window)
    assert page.compare_hint.isVisible()  # two runs listed: it was hidden until a click
    monkeypatch.setattr(plain_text, "question", lambda *args, **kw: QMessageBox.Yes)
    page.select_ids([ia])
    page.delete_button.click()
    assert not page.compare_hint.isVisible()  # one run left: nothing to compare


def test_compare_says_when_a_runs_settings_are_unknown_or_its_data_differs(qtbot, window):
    """A damaged config.json compared as the app's defaults (MobileNetV2, 0 px); a 2-class and
    a 3-class run compared as "same settings"."""
    from core.runs.folder import RunFolder

    base = default_runs_dir()
    a = make_run(base / "20261101-100000-two")
    b = make_run(base / "20261101-110000-three", created=2000.0,
                 classes=("bright", "dark", "grey"))
    h = RunHistory()
    ia, ib = h.record_run(a), h.record_run(b)
    page = runs_page(window)
    with qtbot.waitSignal(page.compared, timeout=5000):
        page.select_ids([ia, ib])
    rows = page.compare_box.cell_texts()
    assert rows == [("Classes", "bright, dark", "bright, dark, grey")]
    assert "same settings, different data" in page.compare_box.title.text()

    RunFolder(b).config_path.write_text("{not json", encoding="utf-8")
    h.record_run(b)
    page.select_ids([ia])
    with qtbot.waitSignal(page.compared, timeout=5000):
        page.select_ids([ia, ib])
    rows = page.compare_box.cell_texts()
    assert ("Settings", "as recorded", "unknown (config.json unreadable)") in rows
    assert not any(r[0] == "Backbone" for r in rows)
    assert "settings unknown" in page.compare_box.title.text()


def test_the_exports_line_lists_each_file_once_and_only_files_still_there(qtbot, window,
                                                                          two_runs):
    h, ia, _ib, a, _b = two_runs
    onnx, tfl = a / "export" / "model.onnx", a / "export" / "model.tflite"
    onnx.parent.mkdir()
    onnx.write_bytes(b"x" * 10)
    for path in (onnx, onnx, tfl):  # exported twice, and a file deleted since
        h.record_export(a, path.suffix[1:], path, 10, {"status": "ok"})
    page = runs_page(window)
    page.select_ids([ia])
    text = page.exports_label.text()
    assert f"Exports of {a.name} (1)" in text and text.count("model.onnx") == 1
    assert "model.tflite" not in text


def test_missing_figures_sort_last_in_both_directions(qtbot, window, two_runs):
    from core.runs.folder import RunFolder

    h, ia, ib, a, _b = two_runs
    RunFolder(a).write_json("metrics.json", {})  # no accuracy recorded
    info = RunFolder(a).read_json("run.json")
    RunFolder(a).write_json("run.json", {**info, "val_accuracy": None})
    h.record_run(a)
    page = runs_page(window)
    page.refresh()
    assert h.get(ia).accuracy is None
    for order in (Qt.AscendingOrder, Qt.DescendingOrder):
        page.table.sortByColumn(COLUMNS.index("Val accuracy"), order)
        assert page.visible_ids() == [ib, ia]


def test_add_folder_says_when_it_found_no_runs_or_skipped_one(qtbot, window, two_runs,
                                                              tmp_path):
    """'Rescanned: 2 runs' and nothing else, for a folder without runs or with a run whose
    name the list cannot hold (core's 'rename it' warning was dropped)."""
    import os

    page = runs_page(window)
    empty = tmp_path / "no-runs-here"
    empty.mkdir()
    with qtbot.waitSignal(page.rebuilt, timeout=30000):
        page.rescan([str(empty)])
    assert f"No run folders were found in {empty}." in page.banner.text()
    assert page.banner.property("kind") == "info"  # a fact, not an error
    odd = tmp_path / "odd"
    make_run(Path(os.fsdecode(bytes(odd) + b"/run-\xff")))
    with qtbot.waitSignal(page.rebuilt, timeout=30000):
        page.rescan([str(odd)])
    assert "not valid UTF-8" in page.banner.text() and "rename it" in page.banner.text()
    with qtbot.waitSignal(page.rebuilt, timeout=30000):
        page.rescan([str(two_runs[3].parent)])
    assert page.banner.text().startswith("Rescanned: 2 runs") and "found" not in \
        page.banner.text()


def test_a_folder_added_through_a_link_is_not_called_empty(qtbot, window, two_runs, tmp_path):
    import os

    page = runs_page(window)
    real = tmp_path / "real-runs"
    make_run(real / "linked-run", created=5000.0)
    link = tmp_path / "link"
    os.symlink(real, link)
    with qtbot.waitSignal(page.rebuilt, timeout=30000):
        page.rescan([str(link)])
    assert "No run folders were found" not in page.banner.text()


def test_a_time_no_clock_can_show_leaves_the_other_runs_listed(qtbot, window, two_runs,
                                                               capsys):
    """A hand-edited "created": 1e20 raised OverflowError as the table filled: it showed no
    run at all, and 'runs' stopped after the header."""
    import time

    from core.cli.commands import runs as runs_command
    from core.shown import when_text

    h, _ia, _ib, _a, _b = two_runs
    odd = make_run(default_runs_dir() / "20261103-100000-odd", created=1e20)
    h.record_run(odd)
    page = runs_page(window)
    page.refresh()
    assert len(page.visible_ids()) == 3
    assert page.proxy.index(0, 0).data() == "–"  # sorted as the newest, shown as unknown
    assert when_text(float("nan")) == when_text(float("inf")) == when_text(None) == "–"
    assert when_text(1000.0) == time.strftime("%Y-%m-%d %H:%M", time.localtime(1000.0))
    assert runs_command.run(runs_command_args()) == 0
    assert "odd" in capsys.readouterr().out


def runs_command_args():
    import argparse

    from core.cli.commands import runs as runs_command

    parser = argparse.ArgumentParser()
    runs_command.register(parser.add_subparsers())
    return parser.parse_args(["runs"])


def test_sizes_read_as_rounded_never_1000_of_a_unit():
    """999,960 bytes read "1000.0 KB": the unit is chosen after rounding, as file managers do."""
    from core.shown import human_size

    assert human_size(999) == "999 B" and human_size(1000) == "1.0 KB"
    assert human_size(999_960) == "1.0 MB" and human_size(999_940) == "999.9 KB"
    assert human_size(9_639_035) == "9.6 MB" and human_size(2.5e12) == "2500.0 GB"


def test_a_run_that_cannot_be_deleted_says_what_to_do(qtbot, window, two_runs, monkeypatch):
    """"Could not delete RUN: [Errno 13] Permission denied: ..." (a window-messages review)."""
    _h, ia, _ib, a, _b = two_runs
    page = runs_page(window)
    monkeypatch.setattr(plain_text, "question", lambda *args, **kw: QMessageBox.Yes)

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(a / "model.keras"))

    monkeypatch.setattr(page.history, "delete_run", refused)
    page.select_ids([ia])
    page.delete_button.click()
    text = page.banner.text()
    assert "Could not delete" in text and "Errno" not in text
    assert "may be open in another program" in text and a.exists()


def test_the_current_run_is_marked_in_the_table(qtbot, window, two_runs):
    """Nothing said which run Predict, Export and Serve were using (a week-on-the-line
    review)."""
    from gui.pages.runs.rows import ID_ROLE

    _h, ia, ib, a, b = two_runs
    page = runs_page(window)
    with qtbot.waitSignal(page.runs_listed, timeout=5000):
        window.state.set_run(str(b))

    def status(run_id):
        row = next(r for r in range(page.model.rowCount())
                   if page.model.item(r, 0).data(ID_ROLE) == run_id)
        return page.model.item(row, COLUMNS.index("Status"))

    assert status(ib).text().endswith(" · current") and status(ib).font().bold()
    assert not status(ia).text().endswith("current") and not status(ia).font().bold()


def test_the_train_page_forgets_a_deleted_run(qtbot, window, two_runs, monkeypatch):
    """After the current run was deleted, the Train page still read "Finished", with that
    run's device line and time-budget plan above "No run open" (a review)."""
    from types import SimpleNamespace

    from core.events import BudgetPlanned, DeviceChosen
    from gui.pages.train.page import TrainPage

    _h, ia, _ib, a, _b = two_runs
    window.state.set_run(str(a))
    window.state.mark_saved()
    train = next(p for p in window.pages if isinstance(p, TrainPage))
    panel = train.panel
    # what training left on the page
    panel.set_progress(5, 5, "Finished")
    panel.show_event(DeviceChosen(SimpleNamespace(
        describe=lambda: "CPU; mixed precision off", in_words=lambda: "CPU; mixed precision off")))
    panel.show_event(BudgetPlanned(60.0, 1, 2, "3 head epochs, then 2 fine-tuning"))
    assert panel.device_label.text().startswith("Device: CPU") and not panel.plan_label.isHidden()
    monkeypatch.setattr(plain_text, "question", lambda *args, **kw: QMessageBox.Yes)
    page = runs_page(window)
    page.select_ids([ia])
    page.delete_button.click()
    assert not a.exists() and window.state.run_dir is None
    assert "No run open" in train.status_label.text()
    assert panel.progress.format() == "" and panel.progress.value() == 0
    assert panel.device_label.text() == "Device: decided when training starts"
    assert panel.plan_label.isHidden()
    assert panel.log.toPlainText().splitlines()[-1].endswith(f"run {a} deleted")


def test_status_and_accuracy_are_in_view_at_the_smallest_window(qtbot, window, two_runs):
    """(a review) At 900 px the table's Status column was scrolled off to the right: the
    run's start, backbone, status and accuracy are in view at the window's minimum size."""
    from PySide6.QtWidgets import QApplication

    _h, _ia, ib, _a, b = two_runs
    page = runs_page(window)
    with qtbot.waitSignal(page.runs_listed, timeout=5000):
        window.state.set_run(str(b))  # the longest status: "completed · current"
    window.resize(900, 600)
    QApplication.processEvents()
    assert window.width() == 900
    table = page.table
    for name in ("Started", "Backbone", "Status", "Val accuracy"):
        col = COLUMNS.index(name)
        left = table.columnViewportPosition(col)
        assert 0 <= left and left + table.columnWidth(col) <= table.viewport().width(), name
