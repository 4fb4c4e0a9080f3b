"""Opening a model file the user gives, and checking that it is a classifier the app can use.

A model file is a program: a ``.keras`` archive is vetted before Keras reads it and
loaded in safe mode (no stored Python code).  The checks name the file and say what
the app needs instead of letting a shape error surface later.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ModelFileError
from core.model.keras_archive import check_keras_archive
from core.model.weights_only import not_a_model_text, weights_layout


def classifier_outputs(model, path) -> int:
    """The number of classes of a classifier model; ModelFileError naming ``path`` when the
    model is not one (a backbone without its head gives a feature map, a binary model one
    number, and a model with several inputs or outputs is not what the app trains)."""
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError):
        inputs, outputs = [], []
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[-1] != 3:
        shape = [tuple(t.shape) for t in inputs]
        raise ModelFileError(f"{path} takes {shape or 'no fixed input'}, not one batch of RGB "
                             "images (N, H, W, 3); give an image classifier trained by this app "
                             "or shaped like one")
    height, width = inputs[0].shape[1:3]
    if not height or height != width:  # it raised int(None), or a Keras shape error
        raise ModelFileError(f"{path} takes images of {height or 'any'} × {width or 'any'} "
                             "pixels; the app needs a model of one fixed square size: save it "
                             "with a fixed input, e.g. keras.Input((224, 224, 3))")
    shape = tuple(outputs[0].shape) if len(outputs) == 1 else None
    if shape is None or len(shape) != 2 or not shape[-1] or shape[-1] < 2:
        shown = shape if shape is not None else [tuple(t.shape) for t in outputs]
        raise ModelFileError(f"{path} outputs {shown}, not one probability per class (N, "
                             "classes >= 2); a backbone without its classification head, or a "
                             "model with one sigmoid output, cannot be used here: give a "
                             "classifier trained by this app or shaped like one")
    return int(shape[-1])


def ends_in_softmax(model) -> bool:
    """Whether the model's output is made by a softmax (probabilities), not raw scores: a
    notebook's classifier often ends in a plain Dense layer (trained with from_logits), and
    its scores were shown as confidences of 33.281."""
    try:
        layer = model.outputs[0]._keras_history[0]
        while getattr(layer, "outputs", None):  # a nested model as the head: its last layer
            layer = layer.outputs[0]._keras_history[0]
    except (AttributeError, IndexError):
        return True  # not a graph to look into: taken as it says it is
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", "") or type(layer).__name__
    return "softmax" in name.lower() or type(layer).__name__ == "Softmax"


def load_model_file(path: str | Path):
    """Open a saved model (.keras, or legacy .h5) safely, without its training setup.

    ``safe_mode=True`` refuses Lambda layers and other stored Python code, which
    could run anything on this machine; the message says so instead of
    showing Keras' traceback.  A ``.keras`` archive is vetted first
    (:func:`core.model.keras_archive.check_keras_archive`): not a zip, or
    a zip bomb, is refused before Keras reads a byte of it.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelFileError(f"model file {path} not found")
    if path.suffix.lower() == ".keras":
        check_keras_archive(path)
    elif layout := weights_layout(path):  # Keras said "No model config found" (a review)
        raise ModelFileError(not_a_model_text(path, layout))
    import keras

    try:
        return keras.saving.load_model(str(path), safe_mode=True, compile=False)
    except Exception as exc:
        text = str(exc)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        if "safe_mode" in text or "Lambda" in text or "unsafe" in text.lower():
            raise ModelFileError(
                f"{path} contains a Lambda layer or other stored Python code, which could run "
                "anything on this computer; it is not opened. Rebuild the model without Lambda "
                "layers (Fine-Tune Studio's own exports have none)") from None
        raise ModelFileError(f"{path} cannot be opened as a Keras model "
                             f"({type(exc).__name__}: {first[:300]})") from None
