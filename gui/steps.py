"""The window's steps in sidebar order: one table, read by the sidebar and by every hint
that sends the user to another page ("train one on the Train page (step 4)"), so a page
added or moved cannot leave a hint pointing at the wrong step."""

from __future__ import annotations

SIDEBAR_NAMES = ("Data", "Model", "Augmentation", "Train", "Evaluate", "Predict", "Sort",
                 "Export", "Network", "Runs")


def step(name: str) -> str:
    """``"the Train page (step 4)"`` for ``"Train"``."""
    return f"the {name} page (step {SIDEBAR_NAMES.index(name) + 1})"
