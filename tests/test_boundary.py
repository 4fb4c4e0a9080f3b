"""core/ must never import Qt: the engine runs headless and in CI without a display."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BLOCK_QT = r"""
import importlib, importlib.abc, pkgutil, sys
class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'PySide2', 'shiboken6', 'pyqtgraph', 'gui'):
            raise ImportError('core must not import ' + name)
sys.meta_path.insert(0, BlockQt())
sys.path.insert(0, sys.argv[1])
import core
names = ['core'] + ['core.' + m.name for m in pkgutil.walk_packages(core.__path__)]
for name in names:
    importlib.import_module(name)
print(len(names), 'modules')
"""


def test_core_imports_without_qt():
    out = subprocess.run([sys.executable, "-c", BLOCK_QT, str(ROOT)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "modules" in out.stdout


def test_no_qt_import_in_core_sources():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("PySide6", "PyQt", "pyqtgraph", "from gui", "import gui"):
            if word in text:
                offenders.append(f"{path.relative_to(ROOT)}: {word}")
    assert not offenders, offenders
