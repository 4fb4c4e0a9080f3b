"""pid_alive: the one liveness check behind stale locks and leftovers (a portability review)."""

import os
import re
import subprocess
import sys
from pathlib import Path

from core.processes import pid_alive

ROOT = Path(__file__).resolve().parent.parent


def test_a_finished_process_is_not_alive_and_this_one_is():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    assert pid_alive(os.getpid())
    assert not pid_alive(0) and not pid_alive(-1)


def test_no_module_probes_a_process_with_signal_zero():
    """On Windows os.kill(pid, 0) sends Ctrl+C or fails with an OSError read as "alive": a
    killed trainer's run stayed locked for good."""
    calls = [f"{p.relative_to(ROOT)}" for top in ("core", "gui") for p in (ROOT / top).rglob("*.py")
             if re.search(r"os\.kill\([^)]*,\s*0\)", p.read_text(encoding="utf-8"))]
    assert calls == []
