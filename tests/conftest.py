"""Shared test set-up: headless Qt, quiet TensorFlow, every write in a temp dir."""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
# Session fixtures (trained_run) run before the per-test isolation below, and training
# records every run in the app's history database: keep that in a temp dir too.
os.environ["FTS_DATA_DIR"] = tempfile.mkdtemp(prefix="fts-test-data-")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

pytest_plugins = ("pytester",)  # test_gui_jobs runs a small test session of its own


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep the Keras cache, app data and QSettings of every test in a temp dir."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KERAS_HOME", str(home / ".keras"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("FTS_DATA_DIR", str(home / "studio-data"))
    isolate_qsettings(home / ".config")
    yield


def isolate_qsettings(config_dir) -> None:
    """Point QSettings at ``config_dir``.  Qt reads XDG_CONFIG_HOME once per process, so
    the variable alone kept one settings file for all of a worker's tests: a test that left
    the Log open (test_gui_second_day) opened it in every later window, and the Predict
    page's room at 900×600 failed in CI on that worker only."""
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(config_dir))


@pytest.fixture(autouse=True)
def _no_job_left_running(request):
    """Fail a GUI test that leaves a gui.jobs Job (and its QThread) running behind it.

    Runs after the test's own fixtures are torn down (the window fixture closes the
    window, which cancels and waits for its jobs), so a job still running here was
    started and forgotten: a later test would get its signals, and at exit Qt aborts
    on a thread destroyed while running.  The leaked jobs are stopped before failing.
    """
    yield
    if "qtbot" not in request.fixturenames:
        return  # not a GUI test: no Qt event loop, no jobs
    from PySide6.QtCore import QCoreApplication

    from gui.jobs import cancel_all_jobs, live_jobs

    QCoreApplication.processEvents()  # deliver the "ended" of threads that just finished
    leaked = live_jobs()
    if not leaked:
        return
    names = ", ".join(sorted(repr(j.name) for j in leaked))
    cancel_all_jobs(30000)
    QCoreApplication.processEvents()
    pytest.fail(f"job(s) still running after the test: {names}; wait for their signal "
                "(qtbot.waitSignal(job.done)) or cancel them before the test ends",
                pytrace=False)


@pytest.fixture(autouse=True)
def _no_keyboard_modifier_held(request):
    """Start every GUI test with no Ctrl/Shift/Alt held.

    QTest's key click with a modifier ends with a release event that still carries the
    modifier, and QApplication records the modifiers of every spontaneous key event: after
    ``qtbot.keyClick(w, Qt.Key_Return, Qt.ControlModifier)`` Qt believes Ctrl is down until
    the next key event.  A later test in the same process then sees extended-selection
    views toggle instead of select (``setCurrentIndex`` reads the held modifiers).  A plain
    release resets the recorded state.
    """
    if "qtbot" in request.fixturenames:
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QGuiApplication
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QWidget

        if QGuiApplication.keyboardModifiers() != Qt.NoModifier:
            scratch = QWidget()
            QTest.keyRelease(scratch, Qt.Key_Control, Qt.NoModifier)
            scratch.deleteLater()
    yield


@pytest.fixture
def window(qtbot):
    """A fresh main window (no background TensorFlow import), closed without prompts."""
    from gui.main_window import MainWindow

    w = MainWindow(load_tensorflow=False)
    qtbot.addWidget(w, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    w.show()
    return w


@pytest.fixture
def eager():
    """Train eagerly in this test: ``pytestmark = pytest.mark.usefixtures("eager")``
    (weights_fixture.eager_functions says why and which files keep the compiled path)."""
    from weights_fixture import eager_functions

    with eager_functions():
        yield


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> str:
    """A BatchNorm-calibrated random MobileNetV3Small (32 px) weights file (see weights_fixture)."""
    from weights_fixture import calibrated_weights

    return str(calibrated_weights("MobileNetV3Small", 32,
                                  tmp_path_factory.mktemp("weights") / "mnv3s_32.weights.h5"))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_weights) -> Path:
    """One real training run shared by the tests that need a trained model (bright/dark, 2 classes).

    Treat it as read-only: copy it (shutil.copytree) before changing anything in it.
    """
    from core.train.engine import train
    from weights_fixture import eager_functions, make_bright_dark, tiny_config

    base = tmp_path_factory.mktemp("trained")
    data = make_bright_dark(base / "data")
    with eager_functions():  # its users export, serve and predict with the saved model
        result = train(tiny_config(data, tiny_weights), base / "run")
    assert result.status == "completed" and result.metrics.accuracy >= 0.8
    return Path(result.run_dir)
