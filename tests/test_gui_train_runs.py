"""Train page and runs it did not just train: another run opened, a failed run, a moved data
folder, a stop asked for from the status bar, the rate finder's Stop, the epoch counts."""

import shutil

import pytest

from core.config import FreezeConfig
from core.events import BatchEnd, EpochEnd
from core.runs.folder import RunFolder
from core.train.linear_head import planned_epochs
from weights_fixture import make_bright_dark, tiny_config

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def _ready(qtbot, window, data, tiny_weights, **train):
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.state.replace_config(tiny_config(data, tiny_weights, **train))
    window.show_page(3)
    return window.pages[3]


def _run(qtbot, page, stop_after_epoch=0):
    def watch(ev):
        if stop_after_epoch and isinstance(ev, EpochEnd) and ev.epoch == stop_after_epoch:
            page.window().runner.cancel()  # the status bar's Cancel, or Esc

    page.run_started.connect(lambda job: job.progress.connect(watch))
    with qtbot.waitSignal(page.run_finished, timeout=180000) as sig:
        page.start_button.click()
    page.run_started.disconnect()
    return sig.args[0]


def test_another_run_opened_shows_its_curves_and_resumes_from_a_moved_folder(
        qtbot, window, tmp_path, tiny_weights):
    data = make_bright_dark(tmp_path / "data", per_class=12, size=32)
    page = _ready(qtbot, window, data, tiny_weights, epochs=4, fine_tune_epochs=0)
    said = []
    page.run_started.connect(lambda job: job.cancel_requested.connect(
        lambda: said.append((page.stop_button.isEnabled(), page.status_label.text()))))
    a = _run(qtbot, page, stop_after_epoch=1)
    assert a.status == "stopped"
    # Stopped from the status bar: the page said so at once ...
    assert said and not said[0][0] and said[0][1].startswith("Stopping")
    page.panel.stopping = True  # ... and a batch still on its way does not hide it
    page.status_label.setText(said[0][1])
    page.panel.show_event(BatchEnd("head", 2, 4, 1, 3, 10.0, 3.0, {"loss": 1.0}))
    assert page.status_label.text() == said[0][1]
    window.state.set("train.fine_tune_epochs", 1)
    b = _run(qtbot, page)
    assert b.status == "completed" and len(page.curves.val_x) == 5  # 4 head, 1 fine-tune

    window.state.set_run(a.run_dir)  # opened on the Runs page: A's curves, A's status
    history = RunFolder(a.run_dir).history()
    assert page.curves.val_loss == pytest.approx([r["val_loss"] for r in history])
    assert RunFolder(a.run_dir).path.name in page.status_label.text()
    assert "stopped" in page.status_label.text() and "Resume" in page.status_label.text()

    moved = shutil.move(str(data), str(tmp_path / "moved"))  # the data folder moved
    window.state.set_run(None)
    window.state.set_run(a.run_dir)  # opened again: it says so before Resume is pressed
    assert (f"Its data folder {data} no longer exists: open it where it is now on the Data "
            "step, then press Resume.") in page.status_label.text()
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.data_page.open_folder(moved)
    with qtbot.waitSignal(page.run_finished, timeout=180000) as sig:
        page.resume_button.click()
    assert sig.args[0].status == "completed" and sig.args[0].run_dir == a.run_dir
    assert RunFolder(a.run_dir).load_config().data.data_dir == moved


def test_a_failed_run_with_a_checkpoint_can_be_resumed_in_the_window(qtbot, window, tmp_path,
                                                                     tiny_weights):
    """Its validation images unplugged at the end: 'train --resume' finished it, the window's
    Resume stayed disabled."""
    data = make_bright_dark(tmp_path / "data", per_class=12, size=32)
    page = _ready(qtbot, window, data, tiny_weights, epochs=3, fine_tune_epochs=0)
    run = _run(qtbot, page, stop_after_epoch=1)
    RunFolder(run.run_dir).update_run_info(status="failed")
    window.state.set_run(None)
    window.state.set_run(run.run_dir)
    assert page.resume_button.isEnabled()
    window.state.set_run(None)  # as the run fails: the page still knows it as the live run
    page._live_run = run.run_dir
    page._on_failed("none of the 6 validation images could be read when training ended", "")
    assert page.resume_button.isEnabled() and page.resumable_run == run.run_dir


def test_stop_stops_the_learning_rate_finder(qtbot, window, tmp_path, tiny_weights):
    data = make_bright_dark(tmp_path / "data", per_class=12, size=32)
    page = _ready(qtbot, window, data, tiny_weights)
    job = page.find_learning_rate()
    assert page.stop_button.isEnabled()
    with qtbot.waitSignal(job.done, timeout=120000):
        page.stop_button.click()
    assert job.state == "cancelled" and not page.stop_button.isEnabled()


@pytest.mark.parametrize("freeze, expected", [("top_n", {"head": 1, "fine_tune": 2}),
                                              ("none", {"head": 1, "fine_tune": 0})])
def test_the_epochs_shown_are_the_epochs_trained(qtbot, window, tmp_path, freeze, expected):
    """The exact-fit head trains one epoch ('best: epoch 1 (head 1/5)' named four that never
    ran); with nothing unfrozen there is no fine-tuning ('3 epochs at most' for 1)."""
    cfg = tiny_config(tmp_path, "imagenet", epochs=5, fine_tune_epochs=2)
    cfg.model.freeze = FreezeConfig(mode=freeze, top_n=8)
    cfg.train.head_solver = "logistic"
    assert planned_epochs(cfg) == expected
    data = make_bright_dark(tmp_path / "data", per_class=6)
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.data_page.open_folder(str(data))
    for path, value in {"train.epochs": 5, "train.fine_tune_epochs": 2, "model.weights":
                        "imagenet", "train.head_solver": "logistic",
                        "model.freeze.mode": freeze}.items():
        window.state.set(path, value)
    window.pages[3].on_shown()
    total = sum(expected.values())
    assert f"{total} epoch{'s' if total != 1 else ''} at most" in window.pages[3].steps_hint.text()


def test_one_epoch_is_one_epoch_in_the_boxes(window):
    page = window.pages[3]
    window.state.set("train.epochs", 1)
    assert page.epochs_spin.suffix() == " epoch"
    window.state.set("train.epochs", 3)
    assert page.epochs_spin.suffix() == " epochs"


def test_the_curves_legend_wraps_between_its_entries_only():
    """At 900 px the orange dot ended one line and "validation images" began the next."""
    from gui.widgets.curves import LEGEND

    entries = LEGEND.split(" &nbsp; ")
    assert len(entries) == 4 and all("white-space:nowrap" in e for e in entries)
    assert all(" " not in e.split("</span>", 1)[1] for e in entries)  # words joined by &nbsp;


def test_a_run_trained_by_another_process_is_not_offered_for_resume(qtbot, window, tmp_path):
    """Opened while the command line trained it, the page said "(running). Press Resume to
    continue it." with Resume on, which the lock then refused (a review)."""
    import json
    import socket
    import subprocess
    import sys

    from core.runs.lock import MACHINE
    from test_run_history import make_run

    run = RunFolder(make_run(tmp_path / "runs" / "live1", status="running"))
    run.checkpoint_dir.mkdir()
    run.checkpoint.state.write_text(json.dumps({"version": 1, "epoch": 1, "global_epoch": 1}))
    trainer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        run.lock_path.write_text(json.dumps({"pid": trainer.pid, "host": socket.gethostname(),
                                             "machine": MACHINE, "started": 0, "token": "x"}))
        page = window.pages[3]
        window.state.set_run(str(run.path))
        text = page.status_label.text()
        assert "Press Resume" not in text
        assert f"It is being trained by process {trainer.pid} on" in text
        assert "Resume is off until that ends" in text
        assert not page.resume_button.isEnabled()
        assert f"being trained by process {trainer.pid}" in page.resume_button.toolTip()
    finally:
        trainer.kill()
        trainer.wait()
    window.state.set_run(None)
    window.state.set_run(str(run.path))  # its trainer gone: interrupted, resumable here
    assert "press Resume" in page.status_label.text() and page.resume_button.isEnabled()


def _refused_resume(qtbot, page) -> str:
    """Press Resume, wait for the job to fail; the banner's text."""
    with qtbot.waitSignal(page.run_started, timeout=5000) as sig:
        page.resume_button.click()
    with qtbot.waitSignal(sig.args[0].done, timeout=180000):
        pass
    assert page.banner.isVisible()
    return page.banner.text()


def test_a_refused_resume_is_not_said_once_another_folder_or_run_is_opened(qtbot, window,
                                                                          tmp_path):
    """The refusal of a window Resume stayed in the banner after another data folder was
    opened on the Data page, about a state the page no longer showed (a review)."""
    import json

    from test_run_history import make_run

    run = RunFolder(make_run(tmp_path / "runs" / "stopped1", status="stopped"))
    run.checkpoint_dir.mkdir()
    run.checkpoint.state.write_text(json.dumps({"version": 1, "epoch": 1, "global_epoch": 1}))
    page = window.pages[3]
    window.show_page(3)
    window.state.set_run(str(run.path))
    refusal = _refused_resume(qtbot, page)
    assert refusal.startswith(f"{run.path}: ")  # refused (here: its split.json is gone)
    assert page.status_label.text() == "Nothing was trained: see the message above."
    window.state.set("train.epochs", 2)  # a setting changed: the refusal still stands
    assert page.banner.isVisible() and page.banner.text() == refusal
    other = make_bright_dark(tmp_path / "other", per_class=4, size=32)
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.data_page.open_folder(str(other))
    assert not page.banner.isVisible()
    assert page.status_label.text().startswith("Opened run stopped1 (stopped")  # not "above"

    refusal = _refused_resume(qtbot, page)  # refused again, then another run opened
    second = make_run(tmp_path / "runs" / "done2")
    window.state.set_run(str(second))
    assert not page.banner.isVisible() and "done2" in page.status_label.text()
