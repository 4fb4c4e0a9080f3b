"""`python main.py` must exit cleanly after real use (regression: PySide6 abort at exit).

Destroying the main window during interpreter finalisation, after the Data page had
scanned a folder and loaded thumbnails, made PySide6 6.12 abort with "Fatal Python
error: bool_dealloc" (exit status 134).  run_app now tears the window down first.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_app_exits_cleanly_after_scanning_a_folder(tmp_path):
    from core.data.sample_data import generate_sample_dataset

    data = generate_sample_dataset(tmp_path / "data", per_class=40, size=64)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        sys.argv = ["main.py"]
        from PySide6.QtCore import QTimer
        from gui import main_window
        Original = main_window.MainWindow

        class Driven(Original):
            def __init__(self, *a, **k):
                k["load_tensorflow"] = False
                super().__init__(*a, **k)
                QTimer.singleShot(0, lambda: self.data_page.open_folder({str(data)!r}))
                self.data_page.thumbs.thumbnail_ready.connect(self._maybe_close)

            def _maybe_close(self, _row):
                # Close once the folder is scanned and thumbnails have been decoded (the
                # state that made PySide6 abort at exit), not after some guessed delay.
                if self.state.dataset_report is not None and \
                        self.data_page.thumbs.loaded_count() >= 24 and self.isVisible():
                    self.state.mark_saved()
                    self.close()

        main_window.MainWindow = Driven
        import main
        code = main.main([])
        print("exit code", code)
        sys.exit(code)
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=240, env=env, cwd=tmp_path)
    assert "bool_dealloc" not in out.stderr
    assert out.returncode == 0, out.stderr[-3000:]
    assert "exit code 0" in out.stdout


def test_a_project_file_given_alone_opens_in_the_window(tmp_path):
    """`python main.py proj.ftsproj` (what a double-click or "Open with" runs) exited with
    "invalid choice"; the window now opens it."""
    from core.project import Project, save_project

    project = save_project(Project(), tmp_path / "My Project.ftsproj")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from PySide6.QtCore import QTimer
        from gui import main_window
        Original = main_window.MainWindow

        class Driven(Original):
            def __init__(self, *a, **k):
                k["load_tensorflow"] = False
                super().__init__(*a, **k)
                QTimer.singleShot(0, self._report)

            def _report(self):
                print("opened", self.state.project_path, self.windowTitle())
                self.state.mark_saved()
                self.close()

        main_window.MainWindow = Driven
        import main
        sys.exit(main.main([{str(project)!r}]))
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=240, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"opened {project}" in out.stdout and "My Project.ftsproj" in out.stdout


@pytest.mark.parametrize("made", [None, "folder"])
def test_a_missing_project_given_alone_is_the_windows_to_name(tmp_path, monkeypatch, made):
    """`python main.py GONE.ftsproj` (a project moved or deleted since, or a folder named like
    one) printed argparse's "invalid choice" of commands (a review): the window opens and
    says "project file not found" / "is a folder, not a project file"."""
    import main
    from core.project import load_project

    path = tmp_path / "gone.ftsproj"
    if made:
        path.mkdir()
    opened = []
    monkeypatch.setattr("gui.app.run_app", lambda project=None: opened.append(project) or 0)
    assert main.main([str(path)]) == 0
    assert opened == [str(path)]
    with pytest.raises(Exception, match="is a folder, not a project file" if made
                       else "project file not found"):
        load_project(path)  # what the window's open_project says
