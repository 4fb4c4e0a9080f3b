"""The main window: appears without heavy imports, loads TensorFlow in the background,
navigates between pages, and closes cleanly while a job runs."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from gui import plain_text
from gui.jobs import live_jobs
from gui.main_window import SIDEBAR_NAMES, MainWindow

ROOT = Path(__file__).resolve().parent.parent

NOTHING_HEAVY = r"""
import sys
sys.path.insert(0, sys.argv[1])
from gui.app import create_app
app = create_app([])
from gui.main_window import MainWindow
w = MainWindow(load_tensorflow=False)
w.show()
app.processEvents()
heavy = [m for m in ("tensorflow", "keras", "albumentations", "cv2", "pyqtgraph")
         if m in sys.modules]
print("HEAVY", heavy)
w.shutdown()
"""


def test_window_shows_before_anything_heavy_is_imported():
    out = subprocess.run([sys.executable, "-c", NOTHING_HEAVY, str(ROOT)], capture_output=True,
                         text=True, timeout=120, env={**__import__("os").environ,
                                                       "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout


QUIET_START = r"""
import sys
sys.path.insert(0, sys.argv[1])
from gui.app import create_app
app = create_app([])
from gui import tf_loader
loader = tf_loader.start_loading()
assert tf_loader.wait_loaded(300000)
print("OUTCOME", tf_loader.outcome()[:2])
"""


def test_the_window_starts_tensorflow_without_its_cuda_chatter():
    """Issue 15.7: the window's background import goes through core.tfenv.start_tensorflow, so
    TensorFlow's C++ start-up lines ("failed call to cuInit", "absl::InitializeLog") stay out
    of the terminal the app was started from."""
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "FTS_VERBOSE")}
    out = subprocess.run([sys.executable, "-c", QUIET_START, str(ROOT)], capture_output=True,
                         text=True, timeout=600, env={**env, "QT_QPA_PLATFORM": "offscreen"})
    assert "OUTCOME ('ready'" in out.stdout, out.stdout + out.stderr
    for chatter in ("absl::InitializeLog", "cuInit", "cudart_stub", "cpu_feature_guard"):
        assert chatter not in out.stderr, out.stderr


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    return w


def test_tensorflow_loads_in_background(qtbot, window):
    assert window.tf_device is None
    with qtbot.waitSignal(window.tensorflow_ready, timeout=180000) as sig:
        window.show()
        assert window.tf_label.text() in ("Starting…", "Loading TensorFlow…")
    assert sig.args[0] == "CPU" or sig.args[0].startswith("GPU")
    # the device, not "Ready (CPU)", which read as idle beside a running job
    assert window.tf_label.text() == f"TensorFlow on {sig.args[0]}"
    assert "tensorflow" in sys.modules


def test_sidebar_next_buttons_and_shortcuts(qtbot, window):
    window.show()
    assert window.sidebar.count() == len(SIDEBAR_NAMES) == 10
    for i in range(10):
        window.sidebar.setCurrentRow(i)
        assert window.stack.currentWidget() is window.pages[i]
        assert window.pages[i].title.startswith(f"{i + 1} ")
    window.show_page(1)
    window.pages[1].next_button.click()
    assert window.current_page() is window.augment_page
    go_train = [a for a in window.actions() if a.shortcut().toString() == "Ctrl+4"]
    assert go_train
    go_train[0].trigger()
    assert window.current_page().key == "train"
    go_tenth = [a for a in window.actions() if a.shortcut().toString() == "Ctrl+0"]
    go_tenth[0].trigger()  # ten steps: Ctrl+0 is the tenth
    assert window.current_page() is window.pages[9]
    assert window.pages[-1].next_button is None


def wait_for_cancel(listener=None, cancel=None):
    while True:
        cancel.raise_if_cancelled()
        time.sleep(0.01)


@pytest.mark.parametrize("answer", [QMessageBox.No, QMessageBox.Yes])
def test_closing_with_a_running_job_asks_then_cancels(qtbot, window, monkeypatch, answer):
    asked = []
    monkeypatch.setattr(plain_text, "question",
                        lambda *a, **k: asked.append(a[2]) or answer)
    window.show()
    job = window.runner.start(wait_for_cancel, name="Long work")
    assert window.job_cancel.isVisible()
    window.close()
    assert asked and "Long work" in asked[0]
    if answer == QMessageBox.No:
        assert window.isVisible() and job.is_running()
        with qtbot.waitSignal(job.cancelled, timeout=10000):
            window.job_cancel.click()
    else:
        assert not window.isVisible()
        assert job.wait(1000)
        qtbot.waitUntil(lambda: job.state == "cancelled", timeout=5000)


def squeezed(content) -> list:
    """Buttons and boxes of ``content`` made smaller than a layout may make them."""
    from PySide6.QtWidgets import QAbstractButton, QGroupBox

    out = []
    for widget in content.findChildren(QAbstractButton) + content.findChildren(QGroupBox):
        hint = widget.minimumSizeHint().boundedTo(widget.sizeHint())
        if widget.isVisible() and (widget.width() < hint.width() or widget.height() < hint.height()):
            out.append((type(widget).__name__, getattr(widget, "text", lambda: "")(),
                        widget.size().toTuple(), hint.toTuple()))
    return out


def test_every_page_is_usable_at_the_minimum_size(qtbot, tmp_path):
    """Issue 15.12: at 900×600 boxes collapsed into slivers and "Start training" read
    "rt trair".  Every page's content now keeps its minimum size inside a scroll area, and that
    minimum fits the page's width (no sideways scrolling), with a real folder opened."""
    from core.data.sample_data import generate_sample_dataset

    w = MainWindow(load_tensorflow=False)
    qtbot.addWidget(w, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    w.show()
    w.resize(w.minimumSize())
    assert (w.minimumSize().width(), w.minimumSize().height()) == (900, 600)
    root = generate_sample_dataset(tmp_path / "shapes", per_class=12, size=32, seed=1)
    with qtbot.waitSignal(w.data_page.scan_finished, timeout=60000):
        w.data_page.open_folder(str(root))
    qtbot.waitUntil(lambda: w.size().width() == 900 and w.size().height() == 600)
    for i, page in enumerate(w.pages):
        w.show_page(i)
        qtbot.waitUntil(lambda: page.scroll.viewport().width() > 0)
        content = page.scroll.widget()
        fits = lambda: content.minimumSizeHint().width() <= page.scroll.viewport().width()  # noqa
        qtbot.waitUntil(fits, timeout=3000)  # once the layouts have settled
        try:  # once the layouts have settled, nothing is below the smaller of its hints
            qtbot.waitUntil(lambda: not squeezed(content), timeout=3000)
        except AssertionError:
            raise AssertionError(f"{page.key}: squeezed {squeezed(content)}") from None
    train = w.pages[3]
    w.show_page(3)
    button = train.start_button
    assert button.width() >= button.fontMetrics().horizontalAdvance("Start training")
    w.model_page.work.shutdown()  # the layer list it started building (TensorFlow) is not needed
    # Showing every page started their background work (TensorFlow loads on a busy machine can
    # outlast the window's close): stop it and wait, so nothing outlives the test.
    for job in live_jobs():
        job.cancel()
    qtbot.waitUntil(lambda: not live_jobs(), timeout=180000)


def test_progress_in_bytes_beyond_qt_s_int_range_is_shown(qtbot, window):
    """A download claiming 10 TB (its Content-Length) raised OverflowError in the status bar."""
    from core.events import Progress

    window._on_job_event(Progress(5 * 2**40, 10 * 2**40, "downloading weights"))
    bar = window.job_progress
    assert bar.maximum() > 0 and bar.value() == bar.maximum() // 2
    window._on_job_event(Progress(3, 10, "counting"))
    assert (bar.maximum(), bar.value()) == (10, 3)


def test_a_long_warning_is_cut_with_an_ellipsis_in_the_status_bar(qtbot, window):
    """It ran into "TensorFlow on CPU", cut mid-word; the whole line stays in the log."""
    from core.events import FileSkipped

    window.resize(900, 600)
    path = "/data/" + "a_very_long_folder_name/" * 12 + "image.jpg"
    window._on_job_event(FileSkipped(path, "the JPEG is cut off", "prediction"))
    shown = window.statusBar().currentMessage()
    assert "…" in shown and shown.endswith("cut off")
    assert window.statusBar().fontMetrics().horizontalAdvance(shown) < window.width() - 100


def test_the_data_page_stands_its_classes_above_the_tabs_when_narrow(qtbot, window, tmp_path):
    """At 900 x 600 the classes column was squeezed to 120 px: "bri…", a chart with no bars."""
    from PySide6.QtCore import Qt

    from gui.widgets.turning_splitter import TurningSplitter

    split = window.data_page.findChild(TurningSplitter)
    window.show()
    window.show_page(0)
    window.resize(900, 600)
    qtbot.waitUntil(lambda: split.orientation() == Qt.Vertical, timeout=3000)
    assert window.data_page.class_table.width() > 400
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: split.orientation() == Qt.Horizontal, timeout=3000)


def test_the_data_page_s_classes_column_takes_its_share_of_a_wide_window(qtbot, window):
    """A UI review: at 1600 px the classes column stayed the ~215 px its contents asked for,
    though the splitter shares the width 2:3 with the tabs; class names and bars had room to
    spare beside it.  Side by side, the column starts at two fifths of the width."""
    from PySide6.QtCore import Qt

    from gui.widgets.turning_splitter import TurningSplitter

    split = window.data_page.findChild(TurningSplitter)
    window.show()
    window.show_page(0)
    window.resize(1600, 1000)
    share = lambda: split.widget(0).width() / max(1, sum(split.sizes()))  # noqa: E731
    qtbot.waitUntil(lambda: split.orientation() == Qt.Horizontal and abs(share() - 0.4) < 0.03,
                    timeout=3000)
    window.resize(900, 600)  # stood one above the other, and side by side again
    qtbot.waitUntil(lambda: split.orientation() == Qt.Vertical, timeout=3000)
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: split.orientation() == Qt.Horizontal and abs(share() - 0.4) < 0.03,
                    timeout=3000)


def test_the_light_theme_is_light_whatever_the_desktop(qapp, monkeypatch):
    """FTS_THEME=light kept the system's palette: on a dark desktop the light sidebar had white
    page names on it (a locale/theme review)."""
    from PySide6.QtGui import QColor, QPalette

    from gui.theme import apply_theme

    dark = QPalette()
    for role in (QPalette.Window, QPalette.Base):
        dark.setColor(role, QColor("#202020"))
    for role in (QPalette.WindowText, QPalette.Text):
        dark.setColor(role, QColor("#ffffff"))
    before, sheet, style = qapp.palette(), qapp.styleSheet(), qapp.style().name()
    try:
        qapp.setPalette(dark)  # what a dark desktop gives Qt
        monkeypatch.setenv("FTS_THEME", "light")
        apply_theme(qapp)
        pal = qapp.palette()
        assert pal.color(QPalette.Window).lightness() > 200
        assert pal.color(QPalette.Text).lightness() < 60
    finally:  # the other tests' application as it was
        qapp.setStyle(style)
        qapp.setStyleSheet(sheet)
        qapp.setPalette(before)


def test_logs_and_the_kernel_box_use_the_systems_fixed_width_font(qapp):
    """QFont("monospace") is no family on macOS or Windows (a slow lookup, then a
    proportional fallback there); the system's fixed font is asked for by role."""
    from PySide6.QtGui import QFontDatabase

    from gui.widgets.following_log import FollowingLog

    log = FollowingLog()
    assert log.font() == QFontDatabase.systemFont(QFontDatabase.FixedFont)


def test_help_user_manual_opens_the_readme_beside_the_app(qtbot, window, monkeypatch):
    """The Help menu had only About: nothing pointed a newcomer to the manual (a review)."""
    from PySide6.QtGui import QDesktopServices, QKeySequence

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    action = window.action_manual
    assert action in window.menuBar().actions()[-1].menu().actions()  # the Help menu
    assert action.shortcut() == QKeySequence(QKeySequence.HelpContents)
    action.trigger()
    path = Path(opened[0].toLocalFile())
    assert path.name == "README.md" and path.is_file()
    assert "Fine-Tune Studio" in path.read_text(encoding="utf-8")[:200]


def test_the_first_window_fits_a_small_screen(window):
    """A UI review: the window opened at 1280x820 whatever the screen, so on a 2560x1600
    laptop at 200 % (1280x800, less the task bar) the Next button and the status bar began
    below the screen.  The offscreen test screen is 800x800: the window is as tall as it."""
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QApplication

    free = QApplication.primaryScreen().availableGeometry().size()
    assert window.height() <= max(free.height(), window.minimumHeight())
    assert window.width() <= max(free.width(), window.minimumWidth())
    from gui.main_window import first_size

    minimum = QSize(900, 600)
    assert first_size(QSize(1280, 752), minimum) == QSize(1280, 752)
    assert first_size(QSize(2560, 1400), minimum) == QSize(1280, 820)  # a big screen: as before
    assert first_size(QSize(960, 500), minimum) == QSize(960, 600)  # never under the minimum
