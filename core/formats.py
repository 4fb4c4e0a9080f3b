"""The export formats: one table from which everything else about them is derived.

The CLI's ``--format`` choices and help, the Export page's rows, the order in
which an export folder's files are tried when it is opened as a model, the
config's allowed values (:class:`core.config.ExportConfig`), the parity bounds
and the file each format lands in all come from :data:`FORMATS` below, so a
new format is added in one place (plus its builder in ``core.export``, which a
test checks covers every entry).  Plain data: importing this costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

#: The formats' names, in table order (a Literal so configs are checked against it).
FormatName = Literal["keras", "savedmodel", "tflite", "tflite-fp16", "tflite-int8", "onnx"]

#: Marks an export folder's metadata.json as written by this app.
METADATA_MARKER = "fine_tune_studio_export"
#: metadata.json's key while an export moves its files in (one killed then leaves it): the
#: folder then opens nothing (core/export/folder.py, core/infer/loaders.py).
METADATA_UNFINISHED = "unfinished"

#: Formats judged on top-1 agreement (``min_agreement`` below 1) are checked on every
#: validation image up to this many (at least ``parity_images``): a verdict on how often
#: two models agree needs a sample large enough that one flipped image does not decide.
AGREEMENT_SAMPLE_CAP = 300


@dataclass(frozen=True)
class ExportFormat:
    """One deployment format and everything the app needs to know about it."""

    name: str  # what --format and the config say
    artifact: str  # file or folder inside the export folder
    probe: str  # the runtime the parity probe loads it with
    title: str  # what the Export page calls it
    use: str  # who can run it, in a few words
    open_rank: int  # order in which an export folder's files are tried (lower first)
    # Parity bounds, each format's own: the largest |probability difference| allowed
    # (None: not judged on it), the top-1 agreement needed (1.0: every image) and the
    # accuracy drop allowed on labelled images (None: not judged on it).  Float32
    # formats must match to rounding; float16 and int8 change every weight, so they are
    # judged on what a user sees: the same top answer, and (int8) the same accuracy.
    max_diff: Optional[float] = 1e-4
    min_agreement: float = 1.0
    max_accuracy_drop: Optional[float] = None
    # A calibrated run's trust (core.trust): whether the file gives the calibrated
    # probabilities, and whether it has the unknown score as a second output (judged by
    # its largest difference, None: not judged on it, and by the "unknown" flags agreeing
    # as often as the top-1 answers must).  model.keras stays the run's own model, so it
    # can be fine-tuned further; int8 outputs are clipped to the range seen on the
    # training images, and images of other things score beyond it, so int8 has no score.
    calibrated: bool = True
    unknown_score: bool = True
    # a hundredth of a spread (of the score itself above 1): float32 rounding of features
    # whose spreads sit at their floor gave 0.0011-0.0015 with answers all agreeing
    max_score_diff: Optional[float] = 1e-2

    @property
    def judged_on_agreement(self) -> bool:
        """True when a few flipped answers are allowed (checked on a larger sample)."""
        return self.min_agreement < 1.0


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("keras", "model.keras", "keras", "Keras (.keras)",
                 "Python with Keras; can be fine-tuned further", 0, calibrated=False,
                 unknown_score=False),
    ExportFormat("savedmodel", "savedmodel", "savedmodel", "TensorFlow SavedModel",
                 "TF Serving, TensorFlow.js converter, C++", 1),
    ExportFormat("tflite", "model.tflite", "tflite", "TensorFlow Lite, float32",
                 "Android, iOS, Raspberry Pi", 3),
    ExportFormat("tflite-fp16", "model_fp16.tflite", "tflite", "TensorFlow Lite, float16",
                 "half the size, nearly the same answers", 4,
                 max_diff=0.05, min_agreement=0.99, max_score_diff=None),
    ExportFormat("tflite-int8", "model_int8.tflite", "tflite", "TensorFlow Lite, int8",
                 "smallest and fastest; microcontrollers, Edge TPU; calibrated on your "
                 "training images", 5, max_diff=None, min_agreement=0.97,
                 max_accuracy_drop=0.02, unknown_score=False, max_score_diff=None),
    ExportFormat("onnx", "model.onnx", "onnx", "ONNX",
                 "onnxruntime: C#, C++, Java, JavaScript, Python", 2),
)

BY_NAME: dict[str, ExportFormat] = {f.name: f for f in FORMATS}
NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)
#: Default formats of a new config.
DEFAULT_FORMATS: tuple[str, ...] = ("keras", "savedmodel", "tflite")
#: The order an export folder's files are tried in when it is opened as a model.
OPEN_ORDER: tuple[str, ...] = tuple(f.name for f in sorted(FORMATS, key=lambda f: f.open_rank))


def cli_help() -> str:
    """``keras, savedmodel, ... or all`` for the CLI's help text."""
    return ", ".join(NAMES[:-1]) + f", {NAMES[-1]} or all"
