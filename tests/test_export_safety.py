"""Model files are checked before a runtime runs them; exports respect the user's folder.

* A SavedModel, .tflite or .onnx file holding operations a classifier does not
  need (file I/O, custom ops) is refused before TensorFlow, the TFLite
  interpreter or onnxruntime sees it; each test builds a real such file and a
  control shows the runtime really would run it.
* Re-exporting into a folder replaces only the files the app writes there.
* Relative paths work; a runtime that cannot run is "not checked", not "FAILED
  parity"; float16 and int8 are judged by bounds that fit them.
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.config import ExportConfig
from core.errors import ModelFileError
from core.formats import METADATA_MARKER


# -- untrusted model files ------------------------------------------------------------


def _file_io_savedmodel(folder: Path, target: Path) -> Path:
    """A real SavedModel whose serving_default reads a file and writes it to ``target``."""
    import tensorflow as tf

    secret = folder / "secret.txt"
    secret.write_text("s3cret")

    class FileThief(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.ones([3, 2]))

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32, name="image")])
        def serve(self, image):
            tf.io.write_file(str(target), tf.io.read_file(str(secret)))
            return {"probabilities": tf.nn.softmax(tf.reduce_mean(image, [1, 2]) @ self.w)}

    module = FileThief()
    path = folder / "savedmodel"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    (folder / "labels.txt").write_text("a\nb\n")
    return path


def test_savedmodel_with_file_operations_is_refused_before_it_runs(tmp_path):
    import tensorflow as tf

    from core.infer.loaders import load_predictor

    target = tmp_path / "written_by_the_model.txt"
    model = _file_io_savedmodel(tmp_path, target)
    with pytest.raises(ModelFileError) as info:
        load_predictor(model)
    message = str(info.value)
    assert str(model) in message and "(ReadFile, WriteFile)" in message
    assert "read or write files" in message and "not opened" in message and "\n" not in message
    assert not target.exists()
    # An export folder (metadata.json of this app) routes to the same loader.
    (tmp_path / "metadata.json").write_text(json.dumps(
        {METADATA_MARKER: True, "formats": {"savedmodel": {"file": "savedmodel", "trust": True}}}))
    with pytest.raises(ModelFileError, match="WriteFile"):
        load_predictor(tmp_path)
    assert not target.exists()
    # Control: TensorFlow itself runs the author's file I/O, so the checks above can fail.
    loaded = tf.saved_model.load(str(model))
    loaded.signatures["serving_default"](image=tf.zeros([1, 8, 8, 3]))
    assert target.read_text() == "s3cret"


def test_saver_operations_outside_the_saver_are_refused(tmp_path):
    """SaveV2 belongs to the SavedModel's saver; in the serving graph it writes files."""
    import tensorflow as tf

    from core.infer.model_safety import check_savedmodel

    prefix = tmp_path / "dropped"

    class Writer(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32, name="image")])
        def serve(self, image):
            tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=["x"], shape_and_slices=[""],
                              tensors=[tf.reduce_sum(image)])
            return {"probabilities": tf.nn.softmax(tf.reduce_mean(image, [1, 2])[:, :2])}

    module = Writer()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.serve})
    with pytest.raises(ModelFileError, match=r"\(SaveV2\)"):
        check_savedmodel(tmp_path / "sm")


def test_tensorflow1_savedmodel_with_its_saver_is_accepted(tmp_path):
    """A TF1 graph keeps its saver as plain graph nodes; the saver's ops are allowed there."""
    import tensorflow as tf

    from core.infer.model_safety import check_savedmodel

    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session() as sess:
        x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 3], name="image")
        w = tf.compat.v1.get_variable("w", [3, 2])
        y = tf.nn.softmax(tf.reduce_mean(x, [1, 2]) @ w)
        sess.run(tf.compat.v1.global_variables_initializer())
        builder = tf.compat.v1.saved_model.Builder(str(tmp_path / "tf1"))
        sig = tf.compat.v1.saved_model.predict_signature_def({"image": x}, {"probabilities": y})
        builder.add_meta_graph_and_variables(sess, ["serve"],
                                             signature_def_map={"serving_default": sig})
        builder.save()
    check_savedmodel(tmp_path / "tf1")  # no error


def test_tflite_with_custom_operators_is_refused(tmp_path):
    import tensorflow as tf

    from core.infer.loaders import load_predictor

    target = tmp_path / "written.txt"

    class Flex(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
        def serve(self, image):
            tf.io.write_file(str(target), tf.strings.as_string(tf.reduce_sum(image)))
            return {"probabilities": tf.nn.softmax(tf.reduce_mean(image, [1, 2])[:, :2])}

    module = Flex()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([module.serve.get_concrete_function()],
                                                           module)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                      tf.lite.OpsSet.SELECT_TF_OPS]
    path = tmp_path / "model.tflite"
    path.write_bytes(conv.convert())
    with pytest.raises(ModelFileError) as info:
        load_predictor(path)
    message = str(info.value)
    assert str(path) in message and "FlexWriteFile" in message and "custom" in message
    assert "\n" not in message and not target.exists()


def _onnx_model(path: Path, custom: bool) -> Path:
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2], keepdims=0)]
    last = "mean"
    if custom:
        nodes.append(helper.make_node("Exfiltrate", ["mean"], ["sent"], domain="com.evil"))
        last = "sent"
    nodes.append(helper.make_node("Softmax", [last], ["probabilities"], axis=-1))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 8, 8, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 3])])
    opsets = [helper.make_opsetid("", 13)] + ([helper.make_opsetid("com.evil", 1)] if custom
                                              else [])
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    onnx.save(model, str(path))
    (path.parent / "labels.txt").write_text("a\nb\nc\n")
    return path


def test_onnx_with_operators_outside_the_standard_is_refused(tmp_path):
    from core.infer.loaders import load_predictor

    (tmp_path / "custom").mkdir()
    bad = _onnx_model(tmp_path / "custom" / "model.onnx", custom=True)
    with pytest.raises(ModelFileError) as info:
        load_predictor(bad)
    assert str(bad) in str(info.value) and "com.evil.Exfiltrate" in str(info.value)
    # Control: the same graph with standard operators only opens and answers.
    good = load_predictor(_onnx_model(tmp_path / "model.onnx", custom=False))
    probs = good.predict_arrays(np.full((2, 8, 8, 3), 100, np.uint8))
    assert probs.shape == (2, 3) and np.allclose(probs.sum(1), 1.0)


# -- the export folder --------------------------------------------------------------------


def _other_model(run_dir: Path, folder: Path) -> Path:
    """The run's model saved again elsewhere: the same network, another model file."""
    import keras

    folder.mkdir()
    model = keras.saving.load_model(str(run_dir / "model.keras"), safe_mode=True)
    model.save(str(folder / "model.keras"))
    shutil.copy(run_dir / "labels.json", folder / "labels.json")
    return folder / "model.keras"


@pytest.fixture(scope="module")
def keras_export(trained_run, tmp_path_factory) -> Path:
    """A Keras export of the shared run, the earlier export the tests below export into again
    (made once; each test works on its own copy)."""
    from core.export.exporter import export_model

    out = tmp_path_factory.mktemp("keras-export") / "out"
    assert export_model(trained_run, ["keras"], out, ExportConfig(parity_images=4),
                        latency_runs=1).ok
    return out


def test_reexport_keeps_the_users_files_and_earlier_formats(trained_run, keras_export, tmp_path):
    from core.export.exporter import export_model
    from core.infer.loaders import load_predictor
    from core.runs.folder import RunFolder

    out = tmp_path / "out"
    cfg = ExportConfig(parity_images=4)
    shutil.copytree(keras_export, out)
    (out / "deploy.py").write_text("print('mine')")
    (out / "testimgs").mkdir()
    (out / "testimgs" / "cat.png").write_bytes(b"not really a png")
    keras_bytes = (out / "model.keras").read_bytes()

    second = export_model(trained_run, ["tflite-fp16"], out, cfg, latency_runs=1)
    assert second.ok and second.kept_formats == ["keras"], second.to_text()
    assert (out / "deploy.py").read_text() == "print('mine')"
    assert (out / "testimgs" / "cat.png").read_bytes() == b"not really a png"
    assert (out / "model.keras").read_bytes() == keras_bytes
    assert (out / "model_fp16.tflite").is_file()
    meta = json.loads((out / "metadata.json").read_text())
    assert list(meta["formats"]) == ["keras", "tflite-fp16"]
    assert meta["formats"]["keras"]["trust"] and meta["formats"]["tflite-fp16"]["trust"]
    assert "model.keras, model_fp16.tflite" in (out / "README.txt").read_text()
    # float16 is judged on every validation image (up to 300), not on parity_images
    n_val = len(RunFolder(trained_run).read_json("split.json")["val"])
    assert second.result("tflite-fp16").parity["n_images"] == n_val > 4
    # opened as a model: a calibrated run's folder answers with a file that has its score
    calibrated = RunFolder(trained_run).calibration_path.exists()
    assert load_predictor(out).kind == ("tflite" if calibrated else "keras")
    opened = load_predictor(out / "model_fp16.tflite")  # as the Predict page or serve holds it
    maps = Path("/proc/self/maps")
    if maps.exists():  # read whole, not mapped: Windows replaces no mapped file on re-export
        assert str((out / "model_fp16.tflite").resolve()) not in maps.read_text(), opened.kind

    # An export of another model: the earlier model's files go, the user's stay.
    third = export_model(_other_model(trained_run, tmp_path / "other"), ["tflite"], out, cfg,
                         latency_runs=1)
    assert third.ok and third.kept_formats == []
    assert sorted(p.name for p in out.iterdir()) == [
        "README.txt", "deploy.py", "labels.txt", "metadata.json", "model.tflite", "testimgs"]
    assert list(json.loads((out / "metadata.json").read_text())["formats"]) == ["tflite"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no stage left


def test_an_export_killed_between_its_moves_leaves_a_folder_that_opens_nothing(
        trained_run, keras_export, tmp_path, monkeypatch):
    """Killed after the new model.keras was moved in but before metadata.json: the folder
    must not open the new file under the old export's classes and parity verdict; the next
    export into it finishes the job."""
    from core.export import folder
    from core.export.exporter import export_model
    from core.infer.loaders import load_predictor

    out = tmp_path / "out"
    cfg = ExportConfig(parity_images=4)
    shutil.copytree(keras_export, out)
    real_move = folder.move_into_place
    moved = []

    def killed_after_first(src, dst):
        if moved:
            raise KeyboardInterrupt  # the process dies here
        moved.append(dst.name)
        real_move(src, dst)

    monkeypatch.setattr(folder, "move_into_place", killed_after_first)
    other = _other_model(trained_run, tmp_path / "other")
    with pytest.raises(KeyboardInterrupt):
        export_model(other, ["keras"], out, cfg, latency_runs=1)
    assert moved == ["model.keras"]
    with pytest.raises(ModelFileError, match="did not finish.*export again"):
        load_predictor(out)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta[METADATA_MARKER] and not any(e["trust"] for e in meta["formats"].values())

    monkeypatch.setattr(folder, "move_into_place", real_move)
    again = export_model(trained_run, ["tflite"], out, cfg, latency_runs=1)
    assert again.ok and again.kept_formats == []  # the half-moved model.keras is not kept
    assert sorted(p.name for p in out.iterdir()) == [
        "README.txt", "labels.txt", "metadata.json", "model.tflite"]
    assert load_predictor(out).kind == "tflite"


def test_relative_out_through_the_cli(trained_run, tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["export", os.path.relpath(trained_run, tmp_path), "--format", "keras,tflite",
                 "--out", "exports/x", "--parity-images", "4", "--latency-runs", "1"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert (tmp_path / "exports" / "x" / "model.tflite").is_file()
    assert "FAILED" not in printed and f"wrote {tmp_path / 'exports' / 'x'}" in printed


def test_a_runtime_that_cannot_run_is_not_checked_rather_than_failed(trained_run, tmp_path,
                                                                     monkeypatch):
    from core.export.exporter import export_model

    broken = tmp_path / "broken_runtime"  # the probe's Python finds this onnxruntime first
    broken.mkdir()
    (broken / "onnxruntime.py").write_text("raise ImportError('onnxruntime is broken here')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        str(broken), os.environ.get("PYTHONPATH")])))
    report = export_model(trained_run, ["onnx"], tmp_path / "out", ExportConfig(parity_images=4),
                          latency_runs=1)
    r = report.result("onnx")
    assert r.status == "not_checked" and not r.ok and report.written
    reason = r.parity["reason"]
    assert reason.startswith("could not run: ") and "onnxruntime is broken here" in reason
    assert "\n" not in reason and "Traceback" not in reason and "|" not in reason
    text = report.to_text()
    assert "not checked" in text and "could not run: " in text
    assert "FAILED parity" not in text and "differ" not in text
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta["formats"]["onnx"]["status"] == "not_checked"
    assert meta["formats"]["onnx"]["trust"] is False and (tmp_path / "out" / "model.onnx").is_file()


# -- bounds that fit each format -----------------------------------------------------------


def _answers(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    top = rng.uniform(0.6, 0.9, n)
    labels = np.arange(n) % 2
    ref = np.where(labels[:, None] == 0, np.stack([top, 1 - top], 1),
                   np.stack([1 - top, top], 1)).astype(np.float32)
    return ref, labels


def _flip(ref: np.ndarray, k: int) -> np.ndarray:
    out = ref.copy()
    out[:k] = out[:k, ::-1]
    return out


def test_float16_is_judged_by_agreement_and_a_looser_bound():
    from core.export.parity import judge
    from core.export.report import FormatResult, parity_text

    ref, labels = _answers(32)
    probs = ref.copy()
    probs[0] += np.array([-0.0102, 0.0102], np.float32)
    result = judge("tflite-fp16", ref, {"probs": probs}, labels)
    assert result["passed"] and result["max_abs_diff"] == pytest.approx(0.0102, abs=1e-6)
    text = parity_text(FormatResult("tflite-fp16", "ok", parity=result))
    assert "max |Δp| 0.0102 (bound 0.05)" in text and "32/32 (100.0%)" in text
    assert not judge("tflite-fp16", ref, {"probs": ref + 0.06}, labels)["passed"]
    assert not judge("tflite", ref, {"probs": probs}, labels)["passed"]  # float32 stays strict


def test_int8_is_judged_on_agreement_and_accuracy_and_one_flip_in_32_does_not_decide():
    from core.export.parity import judge
    from core.export.report import FormatResult, parity_text

    ref, labels = _answers(32)
    one = judge("tflite-int8", ref, {"probs": _flip(ref, 1)}, labels)
    assert one["passed"], one
    assert "top-1 31/32 (96.9%" in parity_text(FormatResult("tflite-int8", "ok", parity=one))
    assert not judge("tflite-int8", ref, {"probs": _flip(ref, 2)}, labels)["passed"]
    ref, labels = _answers(300)
    assert judge("tflite-int8", ref, {"probs": _flip(ref, 6)}, labels)["passed"]
    seven = judge("tflite-int8", ref, {"probs": _flip(ref, 7)}, labels)
    assert not seven["passed"] and "accuracy drops 2.3 points (7 of 300 images)" in seven["reason"]


def test_a_second_export_into_a_folder_being_exported_to_is_refused(trained_run, tmp_path):
    """Two exports into one folder both said "wrote" and left one's model.keras beside the
    other's labels.txt and metadata.json (a crash-safety review)."""
    from core.errors import UserError
    from core.export.exporter import export_model
    from core.export.folder_lock import lock_path, one_export_at_a_time

    cfg = ExportConfig(parity_images=4)
    out = tmp_path / "exp"
    with one_export_at_a_time(out):  # another export, under way
        with pytest.raises(UserError, match="another export into this folder is under way"):
            export_model(trained_run, ["keras"], out, cfg, latency_runs=1)
    assert not out.exists()
    assert export_model(trained_run, ["keras"], out, cfg, latency_runs=1).ok
    assert not lock_path(out).exists()  # nothing left beside the folder
    lock_path(out).write_bytes(b"")  # one left by a killed export: taken over
    assert export_model(trained_run, ["keras"], out, cfg, latency_runs=1).ok


def test_an_export_folder_whose_parent_takes_no_file_is_exported_to_unlocked(tmp_path,
                                                                              monkeypatch):
    """The root of a USB stick is in a folder of root's: the lock file beside it could not be
    made, and the export was refused naming a hidden file the user never chose."""
    import core.export.folder_lock as folder_lock

    out = tmp_path / "stick"
    out.mkdir()
    monkeypatch.setattr(folder_lock.os, "access", lambda _p, _mode: False)
    with folder_lock.one_export_at_a_time(out):
        assert not folder_lock.lock_path(out).exists()
