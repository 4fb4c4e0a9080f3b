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


class TrainPage(ComingNextPage):
    key = "train"
    title = "4 · Train"
    intro = "Teach the model your classes."
    next_text = "Next: evaluate"
    what = ("<p>Training runs in two phases, as the Keras transfer-learning guide teaches: first "
            "only the new classification head learns while the pretrained backbone stays "
            "frozen, then the layers you chose on the Model page are fine-tuned with a low "
            "learning rate.</p><p>Live curves of loss and accuracy, speed and time left will be "
            "shown here, with a Stop button that keeps the best model so far.</p>")


class EvaluatePage(ComingNextPage):
    key = "evaluate"
    title = "5 · Evaluate"
    intro = "See how well the model works and where it goes wrong."
    next_text = "Next: try it on new images"
    what = ("<p>A confusion matrix, per-class precision and recall, and the validation images "
            "the model got wrong, with where it looked (a heat map).</p>")


class PredictPage(ComingNextPage):
    key = "predict"
    title = "6 · Predict"
    intro = "Drop in new images and read the model's answers."
    next_text = "Next: export"
    what = ("<p>Choose images or a folder; each gets its top classes with confidences, and the "
            "results can be saved as CSV.</p>")


class ExportPage(ComingNextPage):
    key = "export"
    title = "7 · Export"
    intro = "Take the model away in the format you need."
    next_text = ""
    what = ("<p>Keras, SavedModel and TensorFlow Lite (float and int8), each checked to give "
            "the same answers as the app on sample images.</p>")
