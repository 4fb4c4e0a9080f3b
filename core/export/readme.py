"""README.txt of an export folder: how to run each format without this app.

For a calibrated run (:mod:`core.trust`) the snippets give the calibrated
probabilities and say "unknown" when the unknown score passes the threshold,
as the app does; model.keras, the run's own model, gets the temperature applied.
"""

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

{trust}Common decoding (Pillow + NumPy), as the app decodes: a big JPEG read at a reduced
scale, transparency laid over white, 16-bit and 0-1 float pixels scaled (not clipped),
resized as stored, then EXIF-rotated (rotating first is a grey level off: other answers).
A plain .convert("RGB") turns a transparent background black and a 16-bit image white.

    import numpy as np
    from PIL import Image
    labels = open("labels.txt", encoding="utf-8").read().splitlines()
    img = Image.open("photo.jpg")
    img.draft(img.mode, ({size}, {size}))  # a JPEG decoded at a reduced scale, as the app does
    img.load()  # a TIFF is turned upright here (its orientation then reads 1)
    turn = img.getexif().get(0x0112, 1)  # EXIF orientation, applied after the resize
    if img.mode.startswith("I") or img.mode == "F":      # 16-bit, 32-bit, float
        a = np.nan_to_num(np.asarray(img, np.float64), nan=0, posinf=0, neginf=0)
        lo, hi = a.min(), a.max()
        if img.mode == "F" and 0 <= lo and hi <= 1:
            a = a * 255
        elif img.mode != "F" and (img.mode.startswith("I;16") or 0 <= lo <= hi <= 65535):
            a = a / 257 if img.mode.startswith("I;16") or hi > 255 else a
        else:                                            # other ranges: stretched
            a = (a - lo) * (255 / (hi - lo)) if hi > lo else a * 0
        img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.getchannel("A"))
    img = img.convert("RGB").resize(({size}, {size}), Image.BILINEAR, reducing_gap=3.0)
    flip = {{2: Image.FLIP_LEFT_RIGHT, 3: Image.ROTATE_180, 4: Image.FLIP_TOP_BOTTOM,
            5: Image.TRANSPOSE, 6: Image.ROTATE_270, 7: Image.TRANSVERSE, 8: Image.ROTATE_90}}
    img = img.transpose(flip[turn]) if turn in flip else img
    x = np.asarray(img, np.float32)[None]
{constants}
TIFFs Pillow cannot open (Image.open raises UnidentifiedImageError), such as float
colour, 16-bit grey with alpha or CIELab, the app reads with libvips.  With pyvips
(pip install "pyvips[binary]"): v = pyvips.Image.new_from_file(path); CIELab:
v = v.colourspace("srgb"); lay a 16-bit alpha over white (v.flatten(background=[65535],
max_alpha=65535); a float image's alpha is dropped); a = v.numpy(); scale as above
(16-bit / 257, 0-1 float x 255, other ranges stretched), round to uint8 RGB, resize
as above, then turn it by its "orientation".

"""

TFLITE = ("model.tflite", "model_fp16.tflite", "model_int8.tflite")
#: How to run each format, by the artifacts it is for: README.txt carries only those of the
#: files in its folder (it had the SavedModel and ONNX snippets for any export: a review).
SNIPPETS = (
    (("savedmodel",), """\
TensorFlow, SavedModel (savedmodel/):

    import tensorflow as tf
    m = tf.saved_model.load("savedmodel")
    out = m.signatures["serving_default"](image=tf.constant(x))
    p = out["probabilities"].numpy()[0]
    # uint8 pixels: m.signatures["serving_uint8"](image=tf.constant(x.astype("uint8")))
{sm_answer}
"""),
    (("model.keras",), """\
Keras (model.keras):

    import keras
    m = keras.saving.load_model("model.keras")
    p = m.predict(x, verbose=0)[0]
{keras_answer}
"""),
    (TFLITE, """\
TFLite ({tflite_files}):

    import tensorflow as tf   # or: from ai_edge_litert.interpreter import Interpreter
    it = tf.lite.Interpreter(model_path="{tflite_path}"); it.allocate_tensors()
    i = it.get_input_details()[0]
    o = next(d for d in it.get_output_details() if len(d["shape"]) == 2)   # probabilities
    xin = x
    if i["dtype"] != np.float32:          # int8 model: quantize the pixels
        s, z = i["quantization"]; xin = np.clip(np.round(x / s + z), 0, 255).astype(i["dtype"])
    it.set_tensor(i["index"], xin); it.invoke()
    p = it.get_tensor(o["index"])[0].astype(np.float32)
    if o["dtype"] != np.float32:
        s, z = o["quantization"]; p = (p - z) * s
{tflite_answer}
"""),
    (("model.onnx",), """\
onnxruntime (model.onnx):

    import onnxruntime as ort
    s = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    outs = s.run(None, {{s.get_inputs()[0].name: x}})
    p = next(o for o in outs if o.ndim == 2)[0]
{onnx_answer}
"""),
)


PLAIN = "    print(labels[p.argmax()], p.max())\n"

TRUST_TEXT = """\
Calibrated, with "unknown": the probabilities were calibrated on the run's
validation images (temperature {temperature:.4g}), so "90%" is right about 90%
of the time.  Every format but model.keras gives them as they are, and every
one but model.keras and model_int8.tflite has a second output, unknown_score:
higher means less like the training images; {above}.  metadata.json
("calibration") says how the score is computed.

"""

CONSTANTS = """\
    THRESHOLD = {threshold}   # unknown_score above it: "unknown"
    T = {temperature!r}   # the temperature (model.keras only; the others apply it)
"""

SCORED = """\
    score = float(out["unknown_score"].numpy()[0])
    print("unknown" if THRESHOLD is not None and score > THRESHOLD else labels[p.argmax()],
          p.max())
"""

KERAS_CALIBRATED = """\
    p = np.exp(np.log(np.clip(p, 1e-12, 1)) / T); p /= p.sum()   # calibrate
    print(labels[p.argmax()], p.max())   # no unknown_score: use another format for it
"""

TFLITE_SCORED = """\
    score = [float(it.get_tensor(d["index"])[0]) for d in it.get_output_details()
             if len(d["shape"]) == 1]   # [] for model_int8.tflite: it has no unknown_score
    print("unknown" if score and THRESHOLD is not None and score[0] > THRESHOLD
          else labels[p.argmax()], p.max())
"""

ONNX_SCORED = """\
    score = float(next(o for o in outs if o.ndim == 1)[0])
    print("unknown" if THRESHOLD is not None and score > THRESHOLD else labels[p.argmax()],
          p.max())
"""


def readme(backbone: str, classes: list[str], size: int, files: list[str], date: str,
           trust=None) -> str:
    """The README text for an export folder holding ``files`` (artifact names).

    ``trust``: the run's :class:`core.trust.unknown.TrustModel` (None: not calibrated).
    """
    title = f"{backbone} classifier ({len(classes)} classes)"
    parts = dict(trust="", constants="", sm_answer=PLAIN, keras_answer=PLAIN,
                 tflite_answer=PLAIN, onnx_answer=PLAIN)
    if trust is not None:
        threshold = "None" if trust.threshold is None else repr(float(trust.threshold))
        values = dict(threshold=threshold, temperature=float(trust.temperature))
        # "above THRESHOLD (None) the answer is unknown" was said of an export whose run had
        # "Say unknown" switched off (a review)
        above = (f'above THRESHOLD ({threshold}) the\nanswer is "unknown" (the image fits none '
                 'of the classes)' if trust.threshold is not None else
                 'THRESHOLD is None: "Say unknown" was\nswitched off on the run when this was '
                 'exported, so no answer is "unknown"')
        parts.update(trust=TRUST_TEXT.format(above=above, **values),
                     constants=CONSTANTS.format(**values), sm_answer=SCORED,
                     keras_answer=KERAS_CALIBRATED, tflite_answer=TFLITE_SCORED,
                     onnx_answer=ONNX_SCORED)
    template = (README_TEMPLATE + "".join(  # each ends in its answer's line
        text for artifacts, text in SNIPPETS if any(a in files for a in artifacts))).rstrip("\n")
    return template.format(title=title, underline="=" * len(title), version=__version__,
                           date=date, backbone=backbone, classes=", ".join(classes),
                           size=size, n=len(classes), files=", ".join(files),
                           tflite_files=tflite_files(files),
                           tflite_path=next((f for f in TFLITE if f in files), TFLITE[0]), **parts)


def tflite_files(files: list[str]) -> str:
    """The TFLite section's heading: the TFLite files there and the input each takes."""
    floats = [f for f in TFLITE[:2] if f in files]
    said = [", ".join(floats) + ": float32 input"] if floats else []
    return "; ".join(said + (["model_int8.tflite: uint8"] if "model_int8.tflite" in files
                              else []))
