"""The window's steps in sidebar order: one table, read by the sidebar and by every hint
that sends the user to another page ("train one on the Train page (step 4)"), so a page
added or moved cannot leave a hint pointing at the wrong step."""

from __future__ import annotations

SIDEBAR_NAMES = ("Data", "Model", "Augmentation", "Train", "Evaluate", "Predict", "Sort",
                 "Export", "Network", "Runs")


def step(name: str) -> str:
    """``"the Train page (step 4)"`` for ``"Train"``."""
    return f"the {name} page (step {SIDEBAR_NAMES.index(name) + 1})"


def get_a_model(then: str, first: bool = False) -> str:
    """How to get a model when there is none: train one, open a past run (after a restart
    the pages had said only "train one", with runs on the Runs page), or ``then``, the
    page's own way; ``first``: it starts a sentence."""
    text = f"train one on {step('Train')}, open a past run on {step('Runs')}, or {then}"
    return text[:1].upper() + text[1:] if first else text


def transform_fix(message: str) -> str:
    """A transform the augmentation cannot build, said as for a settings file ("use an
    albumentations class name such as ..."), with the window's way out added: a project's
    misspelt transform stopped the Augment page's preview and a Train start with only the
    file's advice (a review)."""
    if not message.startswith("augment.transforms["):
        return message
    return (f"{message.rstrip('.')}. On {step('Augmentation')}, untick that transform (those "
            "without controls are listed at the bottom) or choose another start in Start from")
