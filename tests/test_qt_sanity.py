"""Guards against known-bad Qt bindings.

PySide6 6.12.0 decrements the reference count of ``True`` on every
``Signal.emit``.  On Python 3.11, where bools are not immortal, a session that
emits a few hundred signals (a scan, a training run) then aborts with "Fatal
Python error: bool_dealloc".  requirements.txt excludes that release; this test
fails on any binding that leaks the same way.
"""

import sys

from PySide6.QtCore import QObject, Qt, Signal


class _Emitter(QObject):
    number = Signal(int)
    anything = Signal(object)


def test_emitting_signals_keeps_bool_reference_counts(qapp):
    emitter = _Emitter()
    got = []
    emitter.number.connect(got.append)
    emitter.anything.connect(got.append, Qt.QueuedConnection)
    before = (sys.getrefcount(True), sys.getrefcount(False))
    for i in range(200):
        emitter.number.emit(i)
        emitter.anything.emit(None)
    qapp.processEvents()
    after = (sys.getrefcount(True), sys.getrefcount(False))
    assert len(got) == 400
    # A few references may come and go with the objects above; a leak loses 200+.
    assert abs(after[0] - before[0]) < 50 and abs(after[1] - before[1]) < 50, (before, after)
