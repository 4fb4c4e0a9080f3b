"""Run one exported model with its OWN runtime, in a fresh process, for the parity check.

This file is a standalone script, never imported by the app::

    python core/export/probe.py FORMAT MODEL_PATH IMAGES.npy OUT_DIR [--latency-runs N]

It imports only numpy and the runtime a user of that format would use
(``keras.saving.load_model``, ``tf.saved_model.load``, ``tf.lite.Interpreter``,
``onnxruntime``) -- none of the app's code -- so when its answers match the
app's, the exported file really stands on its own: no custom layers, no app
preprocessing, nothing that only worked because the app was loaded.

Input: ``IMAGES.npy``, uint8 (N, S, S, 3) raw RGB pixels, already decoded and
resized by the app.  Output in ``OUT_DIR``: ``probs.npy`` (N, C) float32 from
the default entry point, for SavedModel also ``probs_uint8.npy`` from the
uint8 signature, ``score.npy`` (and ``score_uint8.npy``), (N,) float32, when the
model has an unknown score as a second output, and ``probe.json`` with the
single-image latency (median of ``N`` warm runs, milliseconds), the
input/output details the runtime reports and the runtime's version.

Outputs are told apart the way a user would: SavedModel's by name
(``probabilities``, ``unknown_score``), TFLite's and ONNX's by shape (the
probabilities have a class axis, the score does not).
"""

import json
import os
import sys
import time

# Run as a script, Python puts this folder (the app's core/) first on sys.path,
# where names like imageio.py or metrics.py would shadow real packages.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import numpy as np  # noqa: E402


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up (graph building, allocations)
    fn()
    times = []
    for _ in range(max(1, runs)):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return float(np.median(times))


def _tensorflow():
    """TensorFlow limited to one thread, like the other runtimes here (comparable latency)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised
        pass
    return tf


def probe_keras(path, images, runs):
    tf = _tensorflow()
    import keras

    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    x = images.astype(np.float32)
    probs = np.asarray(model(x, training=False), np.float32)
    one = x[:1]
    # predict_on_batch runs Keras' compiled predict step: how a Keras user serves one image.
    latency = _median_ms(lambda: model.predict_on_batch(one), runs)
    return {"probs.npy": probs}, {"latency_ms": latency,
                                  "runtime": f"keras {keras.__version__} (tensorflow "
                                             f"{tf.__version__}), 1 thread",
                                  "input_dtype": "float32"}


def _named(result, suffix, out):
    """A SavedModel signature's dict of outputs into ``out`` (probabilities by name)."""
    probs = result["probabilities"] if "probabilities" in result else list(result.values())[0]
    out[f"probs{suffix}.npy"] = np.asarray(probs, np.float32)
    if "unknown_score" in result:
        out[f"score{suffix}.npy"] = np.asarray(result["unknown_score"], np.float32)


def _by_rank(arrays, out):
    """Outputs told apart by shape: (N, C) probabilities, (N,) unknown score."""
    for y in arrays:
        y = np.asarray(y, np.float32)
        out["probs.npy" if y.ndim == 2 else "score.npy"] = y


def probe_savedmodel(path, images, runs):
    tf = _tensorflow()

    loaded = tf.saved_model.load(path)
    sigs = dict(loaded.signatures)
    out = {}
    fn = sigs["serving_default"]
    name = list(fn.structured_input_signature[1].keys())[0]
    _named(fn(**{name: tf.constant(images.astype(np.float32))}), "", out)
    if "serving_uint8" in sigs:
        fn8 = sigs["serving_uint8"]
        name8 = list(fn8.structured_input_signature[1].keys())[0]
        _named(fn8(**{name8: tf.constant(images.astype(np.uint8))}), "_uint8", out)
    one = tf.constant(images[:1].astype(np.float32))
    latency = _median_ms(lambda: fn(**{name: one}), runs)
    return out, {"latency_ms": latency, "runtime": f"tensorflow {tf.__version__}, 1 thread",
                 "signatures": sorted(sigs), "input_dtype": "float32 (serving_default)"}


def _quantize(x, detail):
    scale, zero = detail["quantization"]
    dtype = detail["dtype"]
    if scale == 0:  # not quantized
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def _dequantize(y, detail):
    scale, zero = detail["quantization"]
    if scale == 0:
        return y.astype(np.float32)
    return ((y.astype(np.float32) - zero) * scale).astype(np.float32)


def probe_tflite(path, images, runs):
    tf = _tensorflow()

    try:  # LiteRT is TFLite's successor package; tf.lite.Interpreter is the same engine
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    interp = Interpreter(model_path=path, num_threads=1)
    inp = interp.get_input_details()[0]
    outs = interp.get_output_details()
    out = next(o for o in outs if len(o["shape"]) == 2)  # the probabilities
    n = images.shape[0]
    interp.resize_tensor_input(inp["index"], [n] + list(images.shape[1:]))
    interp.allocate_tensors()
    x = images.astype(np.float32)
    interp.set_tensor(inp["index"], _quantize(x, inp))
    interp.invoke()
    arrays = {}
    _by_rank([_dequantize(interp.get_tensor(o["index"]), o) for o in outs], arrays)

    interp.resize_tensor_input(inp["index"], [1] + list(images.shape[1:]))
    interp.allocate_tensors()
    one = _quantize(x[:1], inp)

    def run_one():
        interp.set_tensor(inp["index"], one)
        interp.invoke()
        interp.get_tensor(out["index"])

    latency = _median_ms(run_one, runs)
    details = {"input_dtype": np.dtype(inp["dtype"]).name,
               "input_quantization": [float(v) for v in inp["quantization"]],
               "output_dtype": np.dtype(out["dtype"]).name,
               "output_quantization": [float(v) for v in out["quantization"]]}
    return arrays, {"latency_ms": latency, "runtime": f"tflite (tensorflow {tf.__version__}), "
                                                      "1 thread", **details}


def probe_onnx(path, images, runs):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = images.astype(np.float32)
    arrays = {}
    _by_rank(sess.run(None, {inp.name: x}), arrays)
    one = x[:1]
    latency = _median_ms(lambda: sess.run(None, {inp.name: one}), runs)
    return arrays, {"latency_ms": latency,
                                  "runtime": f"onnxruntime {ort.__version__}, 1 thread",
                                  "input_name": inp.name, "input_dtype": inp.type}


PROBES = {"keras": probe_keras, "savedmodel": probe_savedmodel, "tflite": probe_tflite,
          "onnx": probe_onnx}


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    kind, model_path, images_path, out_dir = argv[:4]
    runs = 20
    if "--latency-runs" in argv:
        runs = int(argv[argv.index("--latency-runs") + 1])
    images = np.load(images_path)
    arrays, info = PROBES[kind](model_path, images, runs)
    for name, arr in arrays.items():
        np.save(os.path.join(out_dir, name), arr)
    info["latency_runs"] = runs
    # Proof for the tests that nothing of the app was loaded alongside the runtime.
    info["app_modules_loaded"] = sorted(m for m in sys.modules if m == "core" or
                                        m.startswith("core.") or m == "gui" or
                                        m.startswith("gui."))
    with open(os.path.join(out_dir, "probe.json"), "w", encoding="utf-8") as fh:
        json.dump(info, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
