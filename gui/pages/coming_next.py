"""Train, Evaluate, Predict and Export: pages whose engine is still being built.

Each shows what the step will do, so the workflow is visible from the first
day, and says plainly that it is not available yet; nothing here pretends to
produce a result.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout

from gui.pages.base import Page


class ComingNextPage(Page):
    what = ""  # what the step will do, in a few lines

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        frame = QFrame()
        frame.setFrameShape(QFrame.StyledPanel)
        lay = QVBoxLayout(frame)
        lay.setContentsMargins(24, 24, 24, 24)
        text = QLabel(self.what + "<p><b>This step arrives in the next build of the app.</b> "
                      "Your settings on the earlier pages are kept in the project file.</p>")
        text.setWordWrap(True)
        text.setTextFormat(Qt.RichText)
        text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        lay.addWidget(text)
        lay.addStretch(1)
        self.body.addWidget(frame)
        self.body.addStretch(1)

