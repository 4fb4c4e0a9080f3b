"""The main window: appears without heavy imports, loads TensorFlow in the background,
navigates between pages, and closes cleanly while a job runs."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

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
    assert window.tf_label.text() == f"Ready ({sig.args[0]})"
    assert "tensorflow" in sys.modules


def test_sidebar_next_buttons_and_shortcuts(qtbot, window):
    window.show()
    assert window.sidebar.count() == len(SIDEBAR_NAMES) == 9
    for i in range(9):
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
    assert window.pages[-1].next_button is None


def wait_for_cancel(listener=None, cancel=None):
    while True:
        cancel.raise_if_cancelled()
        time.sleep(0.01)


@pytest.mark.parametrize("answer", [QMessageBox.No, QMessageBox.Yes])
def test_closing_with_a_running_job_asks_then_cancels(qtbot, window, monkeypatch, answer):
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
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
