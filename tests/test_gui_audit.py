"""The Data page's "Check data" tab: a real check, real fixes on real files, undo after a restart.

The folder has a planted wrong label, a re-encoded copy filed under the other
class, a flipped copy and a byte copy.  The features come from the real tiny
MobileNetV3Small through the feature store; the store is warmed once per module
(a copy of the folder has the same contents, so each test's check computes
nothing and TensorFlow is not started again).
"""

import io
import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from core.audit.fixes import JOURNAL_NAME


def _smooth(rng, base, size=96):
    small = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
    arr = np.asarray(Image.fromarray(small).resize((size, size), Image.BICUBIC), np.float32)
    arr = arr * 0.3 + base * 0.7 + rng.normal(0, 2, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _make(root):
    rng = np.random.default_rng(0)
    for name, base in (("bright", 215), ("dark", 40)):
        (root / name).mkdir(parents=True)
        for i in range(12):
            _smooth(rng, base).save(root / name / f"{name}_{i:02d}.png")
    Image.open(root / "bright/bright_00.png").transpose(Image.FLIP_LEFT_RIGHT).save(
        root / "bright/copy flipped.png")
    buf = io.BytesIO()
    Image.open(root / "dark/dark_03.png").save(buf, "JPEG", quality=75)
    (root / "bright/copy_of_dark_03.jpg").write_bytes(buf.getvalue())
    shutil.copyfile(root / "bright/bright_02.png", root / "bright/exact copy.png")
    shutil.move(root / "dark/dark_05.png", root / "bright/dark_05.png")  # a wrong label


@pytest.fixture(scope="module")
def warm(tmp_path_factory, tiny_weights):
    """(template folder, feature store folder holding its features)."""
    from core.audit.audit import run_audit
    from core.features.extract import FeatureModel
    from core.features.store import FeatureStore

    base = tmp_path_factory.mktemp("audit-gui")
    _make(base / "data")
    store = base / "app-data"
    run_audit(base / "data", FeatureModel("MobileNetV3Small", tiny_weights, 32),
              store=FeatureStore(store / "features"))
    return base / "data", store


@pytest.fixture
def page(window, warm, tmp_path, monkeypatch, tiny_weights, qtbot):
    template, store = warm
    monkeypatch.setenv("FTS_DATA_DIR", str(store))
    data = tmp_path / "data"
    shutil.copytree(template, data)
    for path, value in (("model.backbone", "MobileNetV3Small"), ("model.weights", tiny_weights),
                        ("model.image_size", 32)):
        window.state.set(path, value)
    p = window.data_page
    with qtbot.waitSignal(p.scan_finished, timeout=60000):
        p.open_folder(str(data))
    p.tabs.setCurrentWidget(p.audit_view)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # the keys are window shortcuts
    return p


def _check(qtbot, page):
    view = page.audit_view
    with qtbot.waitSignal(view.checked, timeout=60000) as sig:
        view.check_button.click()
    return view, sig.args[0]


def _wait_fixed(qtbot, view):
    qtbot.waitUntil(lambda: not view.small_jobs, timeout=20000)


def test_check_then_fix_by_key_then_undo_after_a_restart(qtbot, window, page, tmp_path):
    view, outcome = _check(qtbot, page)
    data = tmp_path / "data"
    assert view.sections.isEnabled()
    assert view.sections.tabText(0).startswith("Likely wrong labels (")
    assert "features computed for 0" in view.status.text()  # the store held them all
    panel = view.labels_panel
    rows = {os.path.basename(f.path): i for i, f in enumerate(panel.findings)}
    assert "dark_05.png" in rows
    panel.grid.setCurrentIndex(panel.model.index(rows["dark_05.png"]))
    f = panel.selected()[0]
    assert (f.given, f.suggested) == ("bright", "dark")
    assert panel.given_strip.model.rowCount() and panel.suggested_strip.model.rowCount()
    assert all(os.sep + "dark" + os.sep in p for p in panel.suggested_strip.model.paths())
    assert panel.move_button.text() == "Move to dark (M)"

    with qtbot.waitSignal(page.scan_finished, timeout=60000):  # a fix rescans the folder
        qtbot.keyClick(panel.grid, Qt.Key_M)
    assert (data / "dark/dark_05.png").is_file() and not (data / "bright/dark_05.png").exists()
    assert panel.model.mark(f.path) == "→ dark"
    assert page.report.counts["dark"] == 12
    assert "changed since this check" not in view.status.text()  # its own fix is no change

    groups = view.groups_panel  # keep one of the exact copies: the other is set aside
    index = next(i for i, g in enumerate(groups.groups) if g.exact)
    view.sections.setCurrentWidget(groups)
    groups.list.setCurrentRow(index)
    keep = groups.model.row_of(str(data / "bright/bright_02.png"))
    groups.members.setCurrentIndex(groups.model.index(keep))
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        groups.keep_one_button.click()
    assert (data / "_set_aside/bright/exact copy.png").is_file()
    assert (data / "bright/bright_02.png").is_file()
    assert groups.done[index].startswith("✓ kept one")
    qtbot.waitUntil(lambda: view.pending_undo == 2, timeout=20000)

    # A restart: a new window on the same folder still undoes both fixes, newest first.
    from gui.main_window import MainWindow

    window.state.mark_saved()  # no "save changes?" prompt
    window.close()
    again = MainWindow(load_tensorflow=False)
    qtbot.addWidget(again, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    again.show()
    with qtbot.waitSignal(again.data_page.scan_finished, timeout=60000):
        again.data_page.open_folder(str(data))
    fresh = again.data_page.audit_view
    qtbot.waitUntil(lambda: fresh.undo_button.isEnabled(), timeout=20000)
    for _ in range(2):
        with qtbot.waitSignal(again.data_page.scan_finished, timeout=60000):
            fresh.undo_button.click()
        qtbot.waitUntil(lambda: not fresh.small_jobs, timeout=20000)
    assert (data / "bright/dark_05.png").is_file() and (data / "bright/exact copy.png").is_file()
    assert not (data / "_set_aside/bright/exact copy.png").exists()
    assert not fresh.undo_button.isEnabled()
    assert (data / JOURNAL_NAME).is_file()


def test_a_file_changed_since_the_check_is_refused_with_the_reason(qtbot, page, tmp_path):
    view, _ = _check(qtbot, page)
    panel = view.outliers_panel if view.outliers_panel.findings else view.labels_panel
    target = panel.findings[0].path
    Image.new("RGB", (96, 96), (9, 9, 9)).save(target)  # edited after the check
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    panel.grid.setCurrentIndex(panel.model.index(0))
    panel.aside_button.click()
    _wait_fixed(qtbot, view)
    assert page.banner.isVisible()
    assert "changed on disk since the audit" in page.banner.text()
    assert os.path.isfile(target) and not panel.model.mark(target)
    assert not view.undo_button.isEnabled()


def test_keep_changes_nothing_and_the_split_keeps_the_copies_together(qtbot, page, tmp_path):
    view, outcome = _check(qtbot, page)
    panel = view.labels_panel
    before = sorted(p.name for p in (tmp_path / "data").rglob("*"))
    panel.grid.setCurrentIndex(panel.model.index(0))
    qtbot.keyClick(panel.grid, Qt.Key_K)
    qtbot.waitUntil(lambda: bool(panel.model.mark(panel.findings[0].path)), timeout=3000)
    assert panel.model.mark(panel.findings[0].path) == "✓ kept"
    assert sorted(p.name for p in (tmp_path / "data").rglob("*")) == before
    assert not view.small_jobs
    note = page.split_note.text()
    kept = page.window().state.planned_split().kept_together
    assert kept >= 1 and f"{kept} group(s) of near-copies found by “Check data”" in note
    page.split_box.together_check.setChecked(False)
    assert page.window().state.config.data.keep_duplicates_together is False
    assert "not kept together" in page.split_note.text()


def test_images_kept_are_listed_as_kept_by_the_next_check(qtbot, window, page, tmp_path):
    """A review: "Keep (K)" was forgotten by the next "Check data" (and a restart), which
    listed the kept image first again, so every image already judged was judged again.  It
    is now marked kept and listed after the others; one changed since is asked again, and a
    kept one may still be moved."""
    from core.audit.kept import kept_paths
    from gui.pages.data.audit_findings import KEPT

    view, _ = _check(qtbot, page)
    panel = view.labels_panel
    assert len(panel.findings) >= 2
    first = panel.findings[0].path
    panel.select_row(0)
    panel.keep_button.click()
    assert panel.model.mark(first) == KEPT
    view, _ = _check(qtbot, page)
    assert [f.path for f in panel.findings][-1] == first and panel.findings[0].path != first
    assert panel.model.mark(first) == KEPT and panel.model.mark(panel.findings[0].path) == ""
    panel.select_row(len(panel.findings) - 1)
    assert not panel.keep_button.isEnabled() and panel.aside_button.isEnabled()
    assert kept_paths(view.root, "labels") == {first}  # on disk: a restart finds it too
    assert kept_paths(view.root, "outliers") == set()
    st = os.stat(first)
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # changed since: asked again
    view, _ = _check(qtbot, page)
    assert panel.model.mark(first) == "" and panel.findings[0].path == first


def test_a_check_of_a_folder_deleted_since_forgets_the_old_findings(qtbot, page, tmp_path):
    view, _ = _check(qtbot, page)
    assert view.labels_panel.findings
    shutil.rmtree(tmp_path / "data")
    view.check_button.click()
    qtbot.waitUntil(lambda: view.job is None, timeout=30000)
    assert page.banner.isVisible() and "not found" in page.banner.text()
    assert "did not finish" in view.status.text()  # it said "Step 1 of 5: reading the folder"
    assert not view.labels_panel.findings and not view.sections.isEnabled()


def test_a_check_that_succeeds_takes_the_last_ones_failure_off_the_banner(
        qtbot, window, page, tmp_path, tiny_weights):
    """A failed check's error ("cannot download ImageNet weights") stayed above the results
    of the check that succeeded after it (a walkthrough)."""
    view = page.audit_view
    window.state.set("model.weights", str(tmp_path / "missing.weights.h5"))
    view.check_button.click()
    qtbot.waitUntil(lambda: view.job is None, timeout=30000)
    assert page.banner.isVisible() and "missing.weights.h5" in page.banner.text()
    window.state.set("model.weights", tiny_weights)
    _check(qtbot, page)
    assert not page.banner.isVisible()


def test_a_failed_checks_see_the_message_above_goes_with_the_message(
        qtbot, window, page, tmp_path):
    """A review: after a failed check, "Scan again" took the banner with its reason, and the
    tab still said "The check did not finish (see the message above)" over nothing."""
    view = page.audit_view
    window.state.set("model.weights", str(tmp_path / "missing.weights.h5"))
    view.check_button.click()
    qtbot.waitUntil(lambda: view.job is None, timeout=30000)
    assert page.banner.isVisible() and "see the message above" in view.status.text()
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.rescan_button.click()
    assert "missing.weights.h5" not in page.banner.text()  # (it says a file was skipped)
    assert "message above" not in view.status.text()
    assert view.check_button.isEnabled()  # a new check says why again if it fails again


def test_a_check_can_be_cancelled(qtbot, page):
    view = page.audit_view
    assert view.start_check()
    view.cancel_button.click()
    qtbot.waitUntil(lambda: view.job is None, timeout=30000)
    assert "cancelled" in view.status.text() or view.outcome is not None
    assert view.check_button.isEnabled()


def test_the_map_stays_interactive_with_thousands_of_points(qtbot):
    from gui.pages.data.audit_map import MapPanel

    panel = MapPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    rng = np.random.default_rng(0)
    n = 20000
    xy = np.clip(rng.normal(0, 0.4, (n, 2)), -1, 1).astype(np.float32)
    classes = [f"class{i % 5}" for i in range(n)]
    paths = [f"/nowhere/{c}/img{i}.png" for i, c in enumerate(classes)]
    started = time.perf_counter()
    panel.set_points(xy, paths, classes, sorted(set(classes)), "/nowhere")
    qtbot.waitExposed(panel)
    panel.plot.grab()  # one real paint of every point
    drawn = time.perf_counter() - started
    started = time.perf_counter()
    for k in range(100):  # what a mouse move does: the nearest point within 8 px, shown
        i = panel.nearest(float(xy[k * 7, 0]), float(xy[k * 7, 1]))
        panel.hover(i)
    per_move = (time.perf_counter() - started) / 100
    assert per_move < 0.02, f"{per_move * 1000:.1f} ms per mouse move"
    assert drawn < 5, f"{drawn:.1f} s to draw {n} points"
    assert panel.hovered >= 0 and "class" in panel.caption.text()
    opened = []
    panel.open_files = False
    panel.opened.connect(opened.append)
    panel.open_point(panel.hovered)
    assert opened == [paths[panel.hovered]]
    assert panel.nearest(5.0, 5.0) == -1  # far from every point: nothing


def test_a_held_modifier_does_not_turn_moving_on_into_a_multi_selection(qtbot):
    """Deciding one suspect selects the next one only, even while Ctrl is held down.

    (Qt's setCurrentIndex reads the held keyboard modifiers: with Ctrl down it toggled the
    next row into the selection, so the next key press acted on two images, or on none.)
    """
    from PySide6.QtGui import QGuiApplication

    from gui.pages.data.audit_findings import Finding, FindingsPanel

    panel = FindingsPanel(with_classes=True)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.keyPress(panel, Qt.Key_Control, Qt.ControlModifier)  # Ctrl is now held
    try:
        assert QGuiApplication.keyboardModifiers() & Qt.ControlModifier
        panel.set_findings([Finding(f"/nowhere/a/{i}.png", "a", "b", 0.9 - i / 10, "a → b")
                            for i in range(3)], "", lambda _c, _p: [])
        assert [f.path for f in panel.selected()] == ["/nowhere/a/0.png"]
        panel.keep_selected()
        assert [f.path for f in panel.selected()] == ["/nowhere/a/1.png"]
        assert panel.model.mark("/nowhere/a/0.png") == "✓ kept"
        assert panel.keep_button.isEnabled()
    finally:
        qtbot.keyRelease(panel, Qt.Key_Control, Qt.NoModifier)


def test_a_narrow_check_tab_puts_the_comparison_below_the_suspects(qtbot):
    """At the window's smallest the comparison beside the suspects was cut to
    'Filed under square, looks lik'."""
    from gui.pages.data.audit_findings import FindingsPanel

    panel = FindingsPanel(with_classes=True)
    qtbot.addWidget(panel)
    panel.show()
    panel.resize(FindingsPanel.SIDE_BY_SIDE_FROM - 100, 500)
    qtbot.waitUntil(lambda: panel.split.orientation() == Qt.Vertical)
    panel.resize(FindingsPanel.SIDE_BY_SIDE_FROM + 200, 500)
    qtbot.waitUntil(lambda: panel.split.orientation() == Qt.Horizontal)


def test_a_copy_set_aside_from_another_tab_cannot_be_the_one_kept(qtbot, page, tmp_path):
    """The re-encoded copy, set aside as a wrong label, could still be "kept" in its
    near-copy group: K then set the original aside too and no copy was left."""
    view, _ = _check(qtbot, page)
    data = tmp_path / "data"
    copy, original = str(data / "bright/copy_of_dark_03.jpg"), str(data / "dark/dark_03.png")
    groups = view.groups_panel
    index = groups.group_of(copy)
    assert index >= 0 and original in groups.groups[index].paths
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        view.apply([(copy, "set_aside", "")])
    _wait_fixed(qtbot, view)
    view.sections.setCurrentWidget(groups)
    groups.list.setCurrentRow(index)
    groups.members.setCurrentIndex(groups.model.index(groups.model.row_of(copy)))
    assert groups.model.mark(copy) == "set aside"
    assert not groups.keep_one_button.isEnabled()
    groups.keep_selected()  # the K key, pressed anyway
    assert "already set aside" in groups.hint.text()
    assert os.path.isfile(original) and index not in groups.done
    groups.members.setCurrentIndex(groups.model.index(groups.model.row_of(original)))
    assert groups.keep_one_button.isEnabled()
    groups.keep_selected()  # the other copies are set aside already: nothing to move
    assert os.path.isfile(original) and groups.done[index] == "✓ kept one"


def test_another_folder_shows_no_counts_summary_or_map_of_the_last_check(qtbot, page,
                                                                         tmp_path):
    view, _ = _check(qtbot, page)
    assert view.sections.tabText(1).startswith("Near-copies (") and view.map_panel.paths
    other = tmp_path / "other"
    _make(other)
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(other))
    assert [view.sections.tabText(i) for i in range(4)] == \
        ["Likely wrong labels", "Near-copies", "Outliers", "Map"]
    assert view.summary.text().startswith("Look for images") and not view.map_panel.paths
    assert view.map_panel.xy is None


def test_a_folder_changed_by_hand_since_the_check_is_said_so(qtbot, window, page, tmp_path):
    """Files deleted and added by hand, then Scan again: the header counted 60 images, the
    check's summary still 61 and its lists the old files, with nothing to say which was right
    (a week-on-the-line review)."""
    from PIL import Image

    view, _outcome = _check(qtbot, page)
    data = tmp_path / "data"
    said = view.status.text()
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(data))  # nothing changed: nothing said
    assert view.status.text() == said
    sorted((data / "dark").iterdir())[0].unlink()
    Image.fromarray(np.random.default_rng(7).integers(0, 256, (40, 40, 3), np.uint8)).save(
        data / "bright" / "new.png")
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(data))
    assert view.status.text() == ("The folder changed since this check (1 image(s) added, 1 "
                                  "gone): these findings may be out of date. Press Check data "
                                  "again.")


def test_no_fix_or_undo_while_a_check_runs(qtbot, page, tmp_path):
    """A review: a suspect moved (M) while "Check data" ran again came back unmarked in the
    new findings, its file gone, and the app's own fix was "changed since this check"."""
    view, _ = _check(qtbot, page)
    panel = view.labels_panel
    panel.select_row(0)
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        panel.aside_button.click()
    qtbot.waitUntil(lambda: view.undo_button.isEnabled(), timeout=20000)
    with qtbot.waitSignal(view.checked, timeout=60000):
        assert view.start_check()
        assert not view.sections.isEnabled() and not view.undo_button.isEnabled()
        assert not panel.aside_button.isEnabled()  # nor its key S
    qtbot.waitUntil(lambda: view.job is None and view.undo_button.isEnabled(), timeout=20000)
    assert view.sections.isEnabled()
    assert view.start_check()
    view.cancel_button.click()
    qtbot.waitUntil(lambda: view.job is None and view.undo_button.isEnabled(), timeout=30000)
    assert view.sections.isEnabled() == (view.outcome is not None)
