"""Whether another process still runs: the one check behind every stale lock and leftover.

Not signal 0 (``os.kill``): on Windows signal 0 is ``CTRL_C_EVENT``, so that call either
fails with an ``OSError`` (read as "alive": a killed trainer's run stayed locked for
good) or sends Ctrl+C to a process sharing the console.  psutil asks the system
(``OpenProcess`` on Windows, ``kill`` with signal 0 on POSIX).
"""

from __future__ import annotations


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    import psutil

    return pid > 0 and psutil.pid_exists(pid)
