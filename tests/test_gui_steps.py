"""Hints that send the user to another page name its step from the sidebar's own table."""

import re
from pathlib import Path

from gui.main_window import PAGE_CLASSES
from gui.pages.runs.rows import exports_text
from gui.steps import SIDEBAR_NAMES, step

GUI = Path(__file__).resolve().parent.parent / "gui"


def test_step_numbers_follow_the_sidebar():
    assert len(SIDEBAR_NAMES) == len(PAGE_CLASSES)
    assert step("Data") == "the Data page (step 1)"
    assert step("Export") == f"the Export page (step {SIDEBAR_NAMES.index('Export') + 1})"
    # The Runs page's hint once said "the Export page (step 7)": step 7 is Sort.
    assert "Export page (step 8)" in exports_text("run", [])


def test_no_hint_writes_a_step_number_by_hand():
    by_hand = re.compile(r"\(step \d+\)|\bon step \d")
    found = [f"{p.relative_to(GUI)}:{i}" for p in GUI.rglob("*.py") if p.name != "steps.py"
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if by_hand.search(line) and not line.lstrip().startswith("#")]
    assert found == []


def test_page_titles_carry_their_sidebar_number():
    for i, (cls, name) in enumerate(zip(PAGE_CLASSES, SIDEBAR_NAMES), 1):
        assert cls.title.startswith(f"{i} · "), (cls.title, name)


def test_page_modules_say_their_sidebar_step():
    """The Export, Network and Runs modules still said "Step 7/8/9" after Sort came in."""
    import sys

    for i, cls in enumerate(PAGE_CLASSES, 1):
        package = sys.modules[cls.__module__.rsplit(".", 1)[0]]
        for doc in (sys.modules[cls.__module__].__doc__, package.__doc__):
            said = re.match(r"Step (\d+)", doc or "")
            assert said is None or int(said.group(1)) == i, (cls.__module__, doc[:40])
