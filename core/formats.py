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


@dataclass(frozen=True)
class ExportFormat:
    """One deployment format and everything the app needs to know about it."""

    name: str  # what --format and the config say
    artifact: str  # file or folder inside the export folder
    probe: str  # the runtime the parity probe loads it with
    title: str  # what the Export page calls it
    use: str  # who can run it, in a few words
    # Parity: max |probability difference| for a pass (None: judged on agreement instead).
    max_diff: Optional[float]
    needs_all_top1: bool  # a pass also needs 100% top-1 agreement
    open_rank: int  # order in which an export folder's files are tried (lower first)


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("keras", "model.keras", "keras", "Keras (.keras)",
                 "Python with Keras; can be fine-tuned further", 1e-4, True, 0),
    ExportFormat("savedmodel", "savedmodel", "savedmodel", "TensorFlow SavedModel",
                 "TF Serving, TensorFlow.js converter, C++", 1e-4, True, 1),
    ExportFormat("tflite", "model.tflite", "tflite", "TensorFlow Lite, float32",
                 "Android, iOS, Raspberry Pi", 1e-4, True, 3),
    ExportFormat("tflite-fp16", "model_fp16.tflite", "tflite", "TensorFlow Lite, float16",
                 "half the size, nearly the same answers", 1e-2, False, 4),
    ExportFormat("tflite-int8", "model_int8.tflite", "tflite", "TensorFlow Lite, int8",
                 "smallest and fastest; microcontrollers, Edge TPU; calibrated on your "
                 "training images", None, False, 5),
    ExportFormat("onnx", "model.onnx", "onnx", "ONNX",
                 "onnxruntime: C#, C++, Java, JavaScript, Python", 1e-4, True, 2),
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
