"""gui.jobs: events cross to the UI thread, throttled; errors and cancels are reported."""

import threading
import time

import pytest
from PySide6.QtCore import QCoreApplication, QThread

from core.errors import DataError
from core.events import EpochEnd, Log, Progress, emit
from gui.jobs import Job, JobRunner, cancel_all_jobs, live_jobs


def chatty(n, listener=None, cancel=None):
    for i in range(1, n + 1):
        emit(listener, Progress(i, n, "working"))
        if i % (n // 5) == 0:
            emit(listener, EpochEnd("head", i // (n // 5), 5, {"loss": 1.0 / i}))
    emit(listener, Log("all done"))
    return threading.get_ident()


def test_events_arrive_on_ui_thread_throttled_and_complete(qtbot):
    job = Job(chatty, 20000, name="chatty", max_rate=20)
    progress, epochs, logs, threads = [], [], [], []

    def on_event(ev):
        threads.append(QThread.currentThread() is QCoreApplication.instance().thread())
        if isinstance(ev, Progress):
            progress.append(ev)
        elif isinstance(ev, EpochEnd):
            epochs.append(ev)
        elif isinstance(ev, Log):
            logs.append(ev)

    job.progress.connect(on_event)
    with qtbot.waitSignal(job.finished, timeout=30000) as sig:
        job.start()
    worker_thread = sig.args[0]
    assert worker_thread != threading.get_ident()  # the function ran in a worker
    assert all(threads)  # every signal handled on the UI thread
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5]  # never dropped, in order
    assert [l.message for l in logs] == ["all done"]
    # 20 000 progress events in a fraction of a second: only a handful get through,
    # and the final state is never lost.
    assert 1 <= len(progress) < 200
    assert progress[-1].done == 20000
    assert job.state == "finished"


def failing_user(listener=None, cancel=None):
    raise DataError("data folder not found: /nowhere")


def failing_bug(listener=None, cancel=None):
    return {}["missing"]


@pytest.mark.parametrize("fn, start", [(failing_user, "data folder not found: /nowhere"),
                                       (failing_bug, "Something went wrong: KeyError")])
def test_failures_become_readable_messages(qtbot, fn, start):
    job = Job(fn)
    with qtbot.waitSignal(job.failed, timeout=10000) as sig:
        job.start()
    message, tb = sig.args
    assert message.startswith(start)
    assert "Traceback" in tb and "Traceback" not in message


def until_cancelled(listener=None, cancel=None):
    while True:
        cancel.raise_if_cancelled()
        emit(listener, Progress(0, 0, "waiting"))
        time.sleep(0.005)


def test_runner_runs_one_long_job_and_cancels(qtbot):
    runner = JobRunner()
    job = runner.start(until_cancelled, name="forever")
    assert job is not None and runner.is_busy()
    assert runner.start(until_cancelled) is None  # one at a time
    assert job in live_jobs()
    with qtbot.waitSignals([job.cancelled, runner.busy_changed], timeout=10000):
        runner.cancel()
    assert not runner.is_busy()
    assert job.state == "cancelled"
    second = runner.start(chatty, 100)
    with qtbot.waitSignal(second.finished, timeout=10000):
        pass


def test_cancel_all_jobs_waits_for_threads(qtbot):
    jobs = [Job(until_cancelled).start() for _ in range(2)]
    assert cancel_all_jobs(10000)
    qtbot.waitUntil(lambda: all(j.state == "cancelled" for j in jobs), timeout=5000)
