"""README.txt of an export folder: how to run each format without this app."""

from __future__ import annotations

from core import __version__

README_TEMPLATE = """\
{title}
{underline}

Image classifier exported by Fine-Tune Studio {version} on {date}.
Backbone {backbone}; classes (labels.txt, output order): {classes}.

Input contract (every format): one RGB image, decoded, EXIF-rotated, squashed to
{size} x {size} pixels with bilinear resizing (aspect ratio NOT kept), raw pixel
values 0-255, shape (1, {size}, {size}, 3) NHWC.  Do NOT normalise: preprocessing
is inside the model.  Output: {n} softmax probabilities in labels.txt order.

Files: {files}
metadata.json holds the parity check (answers compared with the app's on
validation images), file sizes and single-image CPU latencies.

Common decoding (Pillow + NumPy):

    import numpy as np
    from PIL import Image, ImageOps
    labels = open("labels.txt", encoding="utf-8").read().splitlines()
    img = ImageOps.exif_transpose(Image.open("photo.jpg")).convert("RGB")
    x = np.asarray(img.resize(({size}, {size}), Image.BILINEAR), np.float32)[None]

TensorFlow, SavedModel (savedmodel/):

    import tensorflow as tf
    m = tf.saved_model.load("savedmodel")
    p = m.signatures["serving_default"](image=tf.constant(x))["probabilities"].numpy()[0]
    # uint8 pixels: m.signatures["serving_uint8"](image=tf.constant(x.astype("uint8")))
    print(labels[p.argmax()], p.max())

Keras (model.keras):

    import keras
    m = keras.saving.load_model("model.keras")
    p = m.predict(x)[0]; print(labels[p.argmax()], p.max())

TFLite (model.tflite, model_fp16.tflite: float32 input; model_int8.tflite: uint8):

    import tensorflow as tf   # or: from ai_edge_litert.interpreter import Interpreter
    it = tf.lite.Interpreter(model_path="model.tflite"); it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    xin = x
    if i["dtype"] != np.float32:          # int8 model: quantize the pixels
        s, z = i["quantization"]; xin = np.clip(np.round(x / s + z), 0, 255).astype(i["dtype"])
    it.set_tensor(i["index"], xin); it.invoke()
    p = it.get_tensor(o["index"])[0].astype(np.float32)
    if o["dtype"] != np.float32:
        s, z = o["quantization"]; p = (p - z) * s
    print(labels[p.argmax()], p.max())

onnxruntime (model.onnx):

    import onnxruntime as ort
    s = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    p = s.run(None, {{s.get_inputs()[0].name: x}})[0][0]
    print(labels[p.argmax()], p.max())
"""


def readme(backbone: str, classes: list[str], size: int, files: list[str], date: str) -> str:
    """The README text for an export folder holding ``files`` (artifact names)."""
    title = f"{backbone} classifier ({len(classes)} classes)"
    return README_TEMPLATE.format(title=title, underline="=" * len(title), version=__version__,
                                  date=date, backbone=backbone, classes=", ".join(classes),
                                  size=size, n=len(classes), files=", ".join(files))
