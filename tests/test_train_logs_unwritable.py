"""TensorBoard logs that cannot be written do not end the run, nor the app.

A run folder turned read-only (or a full disk) mid-run made Keras' TensorBoard callback
raise TensorFlow's raw ``FlushSummaryWriter`` error, and in the window the failed summary
writer, freed in the training thread, aborted the whole process when that thread ended
("Fatal Python error: PyEval_SaveThread", a review).  The test runs the callback in a real
``gui.jobs.Job`` in a child process (an abort there is its exit code) and makes the log
file's next write fail with a file-size limit, which fails writes as a full disk does and
binds root too.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import resource, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gui.jobs import Job

def train(listener=None, cancel=None):
    import keras
    import numpy as np
    from core.train.callbacks import tensorboard_callback

    class FillTheDisk(keras.callbacks.Callback):  # after epoch 1's logs are written
        def on_epoch_end(self, epoch, logs=None):
            resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.random.rand(16, 4).astype("float32"), np.arange(16) % 2
    model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0,
              callbacks=[tensorboard_callback(sys.argv[1], listener), FillTheDisk()])
    return "trained"

job = Job(train, name="train")
job.progress.connect(lambda e: print("LOG", getattr(e, "level", ""), getattr(e, "message", e),
                                     flush=True))
job.finished.connect(lambda r: print("FINISHED", r, flush=True))
job.failed.connect(lambda m, tb: print("FAILED", m, flush=True))
job.done.connect(lambda: QTimer.singleShot(0, app.quit))
job.start()
app.exec()
print("EXITED", flush=True)
"""


def test_logs_that_cannot_be_written_are_given_up_with_a_warning(tmp_path):
    logs = tmp_path / "run" / "logs" / "head"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(logs)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr[-3000:]  # -6: the process aborted
    assert "FINISHED trained" in out and "EXITED" in out, out + proc.stderr[-3000:]
    (warning,) = [line for line in out.splitlines() if line.startswith("LOG warning")]
    assert f"TensorBoard logs in {logs} could not be written" in warning
    assert "training goes on without them" in warning
    assert list(logs.rglob("events.out.tfevents*"))  # epoch 1's logs are kept


def test_a_log_folder_whose_name_is_not_utf8_is_given_up_with_a_warning(tmp_path):
    """TensorFlow cannot take a path that is not UTF-8: the run failed at its first epoch
    with "ValueError: Error converting unicode string" (a review)."""
    import keras
    import numpy as np

    from core.events import Log
    from core.train.callbacks import tensorboard_callback

    logs = os.fsdecode(os.fsencode(str(tmp_path)) + b"/bad\xffname/logs")
    events = []
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = np.random.rand(8, 4).astype("float32"), np.arange(8) % 2
    model.fit(x, y, epochs=2, verbose=0, callbacks=[tensorboard_callback(logs, events.append)])
    (warning,) = [e for e in events if isinstance(e, Log) and e.level == "warning"]
    assert "could not be written" in warning.message
