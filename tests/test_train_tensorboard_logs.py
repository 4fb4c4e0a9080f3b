"""TensorBoard's output file in the temp folder: gone when the server stops, or when a
killed app's file is found by the next start."""

import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.train import tensorboard as tbl


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_the_servers_output_file_does_not_outlive_it(tmp_path):
    (tmp_path / "logs").mkdir()
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho serving; sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    # the output file of an app killed while its server ran (that pid no longer exists)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = Path(tempfile.gettempdir()) / f"{tbl.LOG_PREFIX}{dead.pid}-abc.log"
    left.write_text("old output")
    server = tbl.TensorBoardServer(tmp_path / "logs", python=str(fake))
    server._launch(tbl.free_port())
    try:
        wait_until(lambda: "serving" in server.log_tail(), 20, "the fake server's output")
        log = server._log_path
        assert log.name.startswith(f"{tbl.LOG_PREFIX}{os.getpid()}-")
        assert not left.exists()  # swept by the start
    finally:
        server.stop(grace=0.5)
    assert not log.exists()
