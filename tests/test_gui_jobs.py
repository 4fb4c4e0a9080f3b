"""gui.jobs: events cross to the UI thread, throttled; errors and cancels are reported."""

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QThread

from core.errors import DataError
from core.events import EpochEnd, Log, Progress, emit
from gui.jobs import Job, JobRunner, cancel_all_jobs, live_jobs


def chatty(n, listener=None, cancel=None):
    """``n`` Progress events as fast as possible, an EpochEnd every n/5; (thread, seconds)."""
    t0 = time.monotonic()
    for i in range(1, n + 1):
        emit(listener, Progress(i, n, "working"))
        if i % (n // 5) == 0:
            emit(listener, EpochEnd("head", i // (n // 5), 5, {"loss": 1.0 / i}))
    emit(listener, Log("all done"))
    return threading.get_ident(), time.monotonic() - t0


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
    worker_thread, seconds = sig.args[0]
    assert worker_thread != threading.get_ident()  # the function ran in a worker
    assert all(threads)  # every signal handled on the UI thread
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5]  # never dropped, in order
    assert [l.message for l in logs] == ["all done"]
    # However fast the machine: at most max_rate progress events per second of the run
    # (plus the first one, and the newest one flushed before each of the 6 events that
    # always arrive), and the final state is never lost.
    assert 1 <= len(progress) <= seconds * 20 + 1 + 6, (len(progress), seconds)
    assert progress[-1].done == 20000
    assert job.state == "finished"


def test_throttled_events_keep_the_newest_and_arrive_before_the_next_event(qtbot):
    """With a gap no run reaches, only the newest Progress before each EpochEnd gets through."""
    job = Job(chatty, 20000, name="chatty", max_rate=1e-9)
    seen = []
    job.progress.connect(lambda ev: seen.append((type(ev).__name__, getattr(ev, "done", None))))
    with qtbot.waitSignal(job.finished, timeout=30000):
        job.start()
    assert seen == [item for k in range(1, 6)
                    for item in (("Progress", 4000 * k), ("EpochEnd", None))] + [("Log", None)]


def failing_user(listener=None, cancel=None):
    raise DataError("data folder not found: /nowhere")


def failing_bug(listener=None, cancel=None):
    return {}["missing"]


def failing_path(listener=None, cancel=None):
    raise OSError(36, "File name too long", "/data/" + "x" * 300)


def failing_os(listener=None, cancel=None):
    raise OSError("no file named")


def failing_tf(listener=None, cancel=None):
    raise ModuleNotFoundError("No module named 'tensorflow'", name="tensorflow")


@pytest.mark.parametrize("fn, start", [(failing_user, "data folder not found: /nowhere"),
                                       (failing_bug, "Something went wrong: KeyError"),
                                       # a path no check caught is named, as the CLI does
                                       (failing_path, "cannot use /data/xxx"),
                                       (failing_os, "Something went wrong: OSError"),
                                       # every page said "Something went wrong" for it
                                       (failing_tf, "TensorFlow could not be loaded")])
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


class _Payload:
    """A job's result, told apart by its type."""


def _payload(listener=None, cancel=None):
    return _Payload()


def test_finished_jobs_and_their_results_are_released(qtbot):
    """Each job's result stayed in memory for the window's life: the runner's lambda holding
    the job, kept by Qt, made a cycle Python's collector could not see (every scan of a
    20,000-image folder kept its 20,000 records, a review)."""
    import gc
    import weakref

    runner = JobRunner()
    results = []
    for _ in range(4):
        job = runner.start(_payload, name="payload")
        job.finished.connect(lambda r, j=job: results.append(weakref.ref(r)))
        with qtbot.waitSignal(runner.busy_changed, timeout=10000):
            pass
        del job
    for _ in range(3):  # the release runs once the queued slots have
        QCoreApplication.processEvents()
        gc.collect()
    alive = [r for r in results if r() is not None]
    assert len(results) == 4 and len(alive) <= 1  # the runner's current job keeps its own


def test_cancel_all_jobs_waits_for_threads(qtbot):
    jobs = [Job(until_cancelled).start() for _ in range(2)]
    assert cancel_all_jobs(10000)
    qtbot.waitUntil(lambda: all(j.state == "cancelled" for j in jobs), timeout=5000)


LEAKY_TESTS = '''
import threading

from gui.jobs import Job


def wait_for_cancel(listener=None, cancel=None):
    while not cancel.cancelled:
        threading.Event().wait(0.01)
    cancel.raise_if_cancelled()


def test_forgets_its_job(qtbot):
    Job(wait_for_cancel, name="forgotten job").start()


def test_waits_for_its_job(qtbot):
    job = Job(wait_for_cancel, name="awaited job").start()
    with qtbot.waitSignal(job.cancelled, timeout=10000):
        job.cancel()
'''


def test_a_gui_test_that_leaves_a_job_running_fails(pytester):
    """The autouse fixture in conftest.py turns a forgotten job into an error naming it."""
    root = Path(__file__).resolve().parent
    pytester.makeconftest(f'''
import importlib.util
import sys

sys.path[:0] = [{str(root.parent)!r}, {str(root)!r}]
_spec = importlib.util.spec_from_file_location("fts_conftest", {str(root / "conftest.py")!r})
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
_no_job_left_running = _mod._no_job_left_running
''')
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*job(s) still running after the test: 'forgotten job'*"])
    assert "awaited job" not in result.stdout.str()


def test_a_users_mistake_is_logged_as_one_line_a_bug_with_its_traceback(qtbot, caplog):
    for fn, traced in ((failing_user, False), (failing_bug, True)):
        caplog.clear()
        with qtbot.waitSignal(Job(fn, name="it").start().failed, timeout=10000):
            pass
        assert ("Traceback" in caplog.text) is traced, caplog.text
        assert "it failed:" in caplog.text


def test_the_newest_throttled_event_arrives_while_the_function_waits(qtbot):
    """A download that stalled after 3 MB showed 0 % for 30 s: the newest Progress waited for
    the next event to carry it (a weights review)."""
    release = threading.Event()

    def stalls(listener=None, cancel=None):
        emit(listener, Progress(0, 10, "downloading"))
        emit(listener, Progress(3, 10, "downloading"))  # within the gap: held back
        release.wait(20)

    job = Job(stalls, name="stalls", max_rate=20)
    seen = []
    job.progress.connect(lambda ev: seen.append(ev.done))
    job.start()
    try:
        qtbot.waitUntil(lambda: seen[-1:] == [3], timeout=5000)
    finally:
        release.set()
    qtbot.waitUntil(lambda: not job.is_running(), timeout=10000)
    assert seen == [0, 3] and job.state == "finished"
