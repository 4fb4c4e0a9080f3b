"""TensorFlow's C++ start-up lines ("failed call to cuInit", "Could not find cuda drivers")
read like a crash to a CPU user: commands are quiet by default, --verbose brings them back."""

import os
import subprocess
import sys
from pathlib import Path

from core.tfenv import filter_chatter

ROOT = Path(__file__).resolve().parent.parent

REAL_CHATTER = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796155963.750858    9925 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.\n"
    "E0000 00:00:1796155973.599959    9925 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n")


def _quiet_by_default_env() -> dict:
    """This environment without the settings that make TensorFlow quiet or verbose: the
    app's own defaults decide, as for a user."""
    return {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",
                                                              "FTS_VERBOSE")}


def test_the_filter_drops_start_up_chatter_and_keeps_everything_else():
    kept = "Traceback (most recent call last):\nImportError: libfoo.so missing\n"
    assert filter_chatter(REAL_CHATTER + kept) == kept


def test_a_command_that_starts_tensorflow_prints_only_its_own_message(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    env = _quiet_by_default_env()
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "predict",
                          str(tmp_path / "missing-model"), str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing-model'}: no such file or folder; give a run folder or an "
        "exported model"], out.stderr


def test_tensorflow_starts_in_a_process_without_a_console():
    """pythonw and Windows shortcuts give no sys.stderr and no descriptor 2: os.dup(2) failed
    and the window said TensorFlow "could not be loaded"."""
    code = ("import os, sys; os.close(2); sys.stderr = None\n"
            "from core.tfenv import start_tensorflow\n"
            "tf = start_tensorflow(verbose=False)\n"
            "print('started', tf.__name__)\n")
    env = _quiet_by_default_env()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "started tensorflow", out.stdout


def test_a_tflite_model_runs_without_the_xnnpack_line():
    """predict on an export printed "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
    (a week-on-the-line review), though the README says the start-up lines are hidden."""
    code = ("from core.tfenv import start_tensorflow\n"
            "tf = start_tensorflow()\n"
            "import keras, numpy as np, pathlib, tempfile\n"
            "m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),\n"
            "                      keras.layers.Dense(2, activation='softmax')])\n"
            "d = pathlib.Path(tempfile.mkdtemp())\n"
            "(d / 'model.tflite').write_bytes(\n"
            "    tf.lite.TFLiteConverter.from_keras_model(m).convert())\n"
            "(d / 'labels.txt').write_text('a\\nb\\n')\n"
            "from core.infer.loaders import TFLitePredictor\n"
            "p = TFLitePredictor(d / 'model.tflite')\n"
            "print(p.predict_arrays(np.zeros((1, 8, 8, 3), np.float32)).shape)\n")
    env = _quiet_by_default_env()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip().endswith("(1, 2)"), out.stderr
    assert "XNNPACK" not in out.stderr, out.stderr


RACE = r"""
import sys, threading
sys.path.insert(0, sys.argv[1])
from core.tfenv import imports_wait_for_tensorflow, start_tensorflow
if sys.argv[2] == "wait":
    imports_wait_for_tensorflow()
errors = []
def background():  # the window's loader
    try:
        start_tensorflow()
    except BaseException as exc:
        errors.append(f"loader: {type(exc).__name__}: {exc}")
def worker():  # a page's job opening a model meanwhile
    try:
        import keras
        keras.layers.Dense(2)
        import tensorflow as tf
        tf.data.Dataset.range(2)
    except BaseException as exc:
        errors.append(f"worker: {type(exc).__name__}: {exc}")
threads = [threading.Thread(target=background), threading.Thread(target=worker)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ERRORS" if errors else "OK", errors)
"""


def test_a_worker_importing_keras_while_the_window_loads_tensorflow_waits_for_it(tmp_path):
    """The window imports TensorFlow in the background; a model opened on the Predict page
    in its first seconds imported Keras in a worker at the same time, and both got a
    half-made module ("partially initialized module ..."): "TensorFlow missing" and every
    later use failed until a restart (a review)."""
    script = tmp_path / "race.py"
    script.write_text(RACE)
    out = subprocess.run([sys.executable, str(script), str(ROOT), "wait"],
                         capture_output=True, text=True, timeout=600)
    assert out.stdout.startswith("OK"), out.stdout + out.stderr[-2000:]


def test_fts_verbose_shows_the_start_up_lines_of_a_command(tmp_path, monkeypatch):
    """README: `FTS_VERBOSE=1` shows TensorFlow's start-up lines, as `-v` does. The command
    line passed its own -v (False) to start_tensorflow, which then never looked at
    FTS_VERBOSE: `FTS_VERBOSE=1 python main.py predict ...` printed none of them."""
    import core.tfenv
    from core.cli import main

    asked = []
    monkeypatch.setattr(core.tfenv, "start_tensorflow", lambda verbose=None: asked.append(verbose))
    args = ["predict", str(tmp_path / "missing-model"), str(tmp_path)]
    monkeypatch.delenv("FTS_VERBOSE", raising=False)
    assert main(args) == 2 and asked == [False]  # quiet by default
    monkeypatch.setenv("FTS_VERBOSE", "1")
    assert main(args) == 2 and asked == [False, True]
