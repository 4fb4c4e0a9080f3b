"""The app works offline: importing its augmentation code asks no server anything."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import socket, urllib.request
asked = []
def refuse(*args, **kwargs):
    asked.append(args[:1])
    raise OSError("no network in this test")
socket.create_connection = refuse
urllib.request.urlopen = refuse
import core.data.augment, core.data.augment_trial, core.data.augment_files  # noqa
print("ASKED", len(asked))
"""


def test_albumentations_does_not_look_for_updates(tmp_path):
    """albumentations fetched pypi.org/pypi/albumentations/json on import, on the UI
    thread at the first visit to the Augment page (a review)."""
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ASKED 0" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert "Error fetching version info" not in proc.stderr
