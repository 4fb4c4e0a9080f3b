"""SIGTERM and SIGHUP end a command as Ctrl+C does, so it cleans up after itself.

``timeout``, a CI job's cancel, ``docker stop`` and systemd send SIGTERM: ``export`` so
ended left its parity process running (reparented to init, for up to 10 minutes), a
``/tmp/fts-probe-*`` folder, and a half-made export folder with its lock (a scripting
review).  Ctrl+C cleaned all of it up; now SIGTERM takes the same path (exit 130).
"""

import os
import signal
import time
import subprocess

import pytest

from core.cli import main
from core.cli.interrupt import termination_as_interrupt


def test_sigterm_and_sighup_raise_keyboard_interrupt_and_the_handlers_come_back():
    # A test run started under `nohup` (as a CI job may be) inherits SIGHUP ignored, and the
    # handler rightly leaves an ignored signal alone (the next test): this one failed in two
    # clean CI runs started that way.  It is about the handler, so it starts from the default.
    inherited = {sig: signal.signal(sig, signal.SIG_DFL) for sig in (signal.SIGTERM,
                                                                      signal.SIGHUP)}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with pytest.raises(KeyboardInterrupt):
                with termination_as_interrupt():
                    os.kill(os.getpid(), sig)
                    # another thread (TensorFlow's) may take the signal: Python runs the
                    # handler in the main thread at its next check, so give it a second
                    for _ in range(100):
                        time.sleep(0.01)
                    pytest.fail(f"{signal.Signals(sig).name} did not interrupt")
            assert signal.getsignal(sig) is signal.SIG_DFL
    finally:
        for sig, before in inherited.items():
            signal.signal(sig, before)


def test_a_signal_ignored_at_the_start_stays_ignored():
    """`nohup python main.py export ...` ignores SIGHUP so that logging out does not end it;
    the handler that turns SIGHUP into Ctrl+C must not undo that."""
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with termination_as_interrupt():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)  # ignored: nothing happens
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def test_export_ended_by_sigterm_leaves_no_process_and_no_half_export(trained_run, tmp_path,
                                                                      monkeypatch, capsys):
    import tempfile

    from core.export import parity

    started: list[subprocess.Popen] = []
    wait = parity._wait

    def terminated(proc, *args):
        """The parity probe running, then SIGTERM to the exporting process."""
        started.append(proc)
        os.kill(os.getpid(), signal.SIGTERM)
        return wait(proc, *args)

    monkeypatch.setattr(parity, "_wait", terminated)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "exports" / "model"
    assert main(["export", str(trained_run), "--format", "keras", "--out", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert started and all(p.poll() is not None for p in started)  # the probe is gone
    assert not [n for n in os.listdir(tmp_path / "tmp") if n.startswith("fts-probe-")]
    assert not out.exists() and os.listdir(out.parent) == []      # no half export, no lock
