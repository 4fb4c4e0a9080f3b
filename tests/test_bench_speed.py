"""Smoke test of bench/bench_speed.py: the whole benchmark, shrunk, runs and prints every figure.

Speed itself is never asserted here (the benchmark prints figures; tests do not time
things); what is checked is that one command still measures every section of issue 7 end to
end with the current engine -- real training, real files -- and prints each figure with a
number and the summary table with a verdict per goal.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Every figure line the benchmark prints (label -> the unit that must follow its number).
FIGURES = {
    "forward ceiling (backbone+head)": "images/s",
    "train-step ceiling, recipe fine-tune": "images/s",
    "train-step ceiling, app fine-tune": "images/s",
    "recipe head phase": "images/s",
    "app head phase, fast head (K=2)": "images/s",
    "app head phase, streaming": "images/s",
    "recipe fine-tune phase": "images/s",
    "app fine-tune phase": "images/s",
    "recipe whole train": "s",
    "app whole train, same epochs": "s",
    "app defaults": "s",
    "time to recipe accuracy": "",  # a time, or "not reached"
    "fast head speed-up": "x",
    "predict one image": "ms",
    "predict a folder": "images/s",
    "memory peak RSS": "MiB",
    "memory growth per epoch": "",  # per phase, or n/a
}
GOALS = [">= 2x", ">= 1.5x", "<= 0.5x", ">= recipe", ">= 3x less", "<= 150 ms", ">= 80%",
         "<= 3 GiB", "<= 10 MiB"]


def test_bench_speed_prints_every_figure(tmp_path):
    cmd = [sys.executable, str(ROOT / "bench" / "bench_speed.py"),
           # VGG16 at 32 px: 19 layers trace in seconds (MobileNetV3Small's ~150 layers
           # take half a minute for a fully trainable train step on 2 shared cores).
           "--backbone", "VGG16", "--memory-backbone", "VGG16", "--size", "32",
           "--data-size", "32",
           "--per-class", "4", "--test-per-class", "2", "--batch-size", "8",
           "--recipe-epochs", "1", "1", "--default-epochs", "1", "1",
           "--ceiling-seconds", "0.1", "--predict-runs", "20",
           "--memory-images", "50", "--memory-size", "32", "--memory-epochs", "2", "1",
           "--workdir", str(tmp_path / "work")]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="-1")
    env.pop("FTS_DATA_DIR", None)  # the bench must keep its runs out of the user's history
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]

    assert re.search(r"^machine: .*\d+ logical CPUs.*TensorFlow \d", out, re.M), out[:500]
    for label, unit in FIGURES.items():
        m = re.search(rf"^  {re.escape(label)}\s*: +(\S+)\s*(\S*)", out, re.M)
        assert m, f"figure {label!r} not printed:\n{out}"
        value, after = m.group(1), m.group(2)
        if unit == "x":
            assert value.endswith("x") and float(value[:-1]) > 0, m.group(0)
        elif unit:
            assert float(value) >= 0 and after == unit, m.group(0)

    # The memory figures come from the child process and its per-epoch RSS lines.
    assert len(re.findall(r"^  \| epoch end (head|fine_tune) ", out, re.M)) == 3, out
    assert re.search(r"^  memory growth per epoch\s*: head [+-]\d", out, re.M), out

    table = out[out.index("== Summary"):]
    verdicts = re.findall(r"\| (PASS|FAIL) *$", table, re.M)
    assert len(verdicts) == len(GOALS), table
    for goal in GOALS:
        assert f"| {goal} " in table, (goal, table)
    # The run's work stayed in the work folder (not the user's run history).
    assert (tmp_path / "work" / "studio-data").is_dir()
