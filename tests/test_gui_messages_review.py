"""The window's messages name the real file once, with one piece of advice."""

import os

import gui.window_projects as window_projects
from core.errors import DiskFullError, UserError


def test_a_banner_shows_a_name_that_is_not_utf8_as_escapes(window):
    """Qt drops the bytes: 'bad\\xff.ftsproj' read as 'bad.ftsproj', a file that is not there."""
    page = window.pages[0]
    name = os.fsdecode(b"/tmp/bad\xff.ftsproj")
    page.show_error(f"{name}: not valid JSON")
    assert page.banner.text() == "/tmp/bad\\xff.ftsproj: not valid JSON"


def test_a_full_disk_names_the_project_file_once(window, tmp_path, monkeypatch):
    target = tmp_path / "p.ftsproj"
    warned = []
    monkeypatch.setattr(type(window), "_warn", lambda self, title, text: warned.append(text))

    def full(project, path):
        raise DiskFullError(f"{path}: the disk is full (no space left to write it); free some "
                            "disk space and try again")

    monkeypatch.setattr(window_projects, "save_project", full)
    assert not window.save_project_as(str(target))
    assert warned[-1].count(str(target)) == 1

    def readonly(project, path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(window_projects, "save_project", readonly)
    assert not window.save_project_as(str(target))
    assert warned[-1] == (f"cannot write {target}: permission denied; make the folder "
                          "writable, or choose another folder")  # said once, in words

    def in_the_way(project, path):  # core's advice was followed by the window's own
        raise UserError(f"cannot write {path}: /x is a file, not a folder; choose another place")

    monkeypatch.setattr(window_projects, "save_project", in_the_way)
    assert not window.save_project_as(str(target))
    assert "Save project as" not in warned[-1] and warned[-1].count("choose") == 1


def test_a_project_named_in_capitals_is_saved_under_that_name(window, tmp_path):
    """'LAB.FTSPROJ' was saved as 'LAB.FTSPROJ.ftsproj'."""
    target = tmp_path / "LAB.FTSPROJ"
    assert window.save_project_as(str(target))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LAB.FTSPROJ"]
