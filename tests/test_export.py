"""Export: every format answers like the app, checked in a fresh process by its own runtime.

One small run folder is made once (MobileNetV3Small at 32 px, random weights,
BatchNorm statistics measured on the training images so the network is not
degenerate, head trained on bright-vs-dark images) and exported once in
every format; the other tests reuse both.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.config import ExportConfig, FreezeConfig, StudioConfig
from core.events import CancelToken, Cancelled, Log
from weights_fixture import calibrate_batchnorm

ROOT = Path(__file__).resolve().parent.parent
SIZE = 32


def make_bright_dark(root: Path, per_class: int = 16, size: int = 40) -> Path:
    """Bright vs dark images; each image has its own level and tint, plus pixel noise."""
    rng = np.random.default_rng(0)
    for name, base in (("bright", 205), ("dark", 50)):
        d = root / name
        d.mkdir(parents=True)
        for i in range(per_class):
            level = base + rng.uniform(-35, 35) + rng.uniform(-10, 10, 3)
            arr = np.clip(level + rng.normal(0, 8, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(d / f"{name}_{i}.png")
    return root


def make_run(root: Path) -> Path:
    """A complete run folder written with the app's own building blocks."""
    import keras

    from core.data.dataset import scan_dataset, split_dataset
    from core.data.imageio import load_rgb
    from core.infer.metrics import compute_metrics
    from core.model.build import apply_freeze, backbone_of, build_model
    from core.infer.predictor import KerasPredictor
    from core.runs.folder import RunFolder

    data = make_bright_dark(root / "data")
    cfg = StudioConfig()
    cfg.data.data_dir = str(data)
    cfg.data.val_split = 0.25
    cfg.model.backbone = "MobileNetV3Small"
    cfg.model.weights = "none"
    cfg.model.image_size = SIZE
    report = scan_dataset(data)
    split = split_dataset(report, cfg.data.val_split, seed=1)
    run = RunFolder(root / "run")
    run.path.mkdir()
    run.save_config(cfg)
    run.write_json("split.json", split.to_dict())
    run.write_json("labels.json", list(report.classes))

    model = build_model(cfg.model, 2, SIZE, None, seed=0)
    x = np.stack([load_rgb(r.path, SIZE) for r in split.train]).astype(np.float32)
    y = np.array([r.label for r in split.train])
    # Random weights shrink the signal layer after layer; measuring each BatchNorm's
    # statistics on real images (momentum 0 = take this batch's) keeps it alive and
    # gives the folding non-trivial mean/variance to absorb.
    backbone = backbone_of(model)
    prep = x  # what the backbone sees: the output of any preprocessing layers before it
    for layer in model.layers[1:model.layers.index(backbone)]:
        prep = layer(prep)
    calibrate_batchnorm(backbone, prep)
    # Training every layer (BatchNorm stays frozen, as in the app) turns the random,
    # chaotic network into a smooth classifier that tolerates float16/int8 rounding.
    apply_freeze(model, FreezeConfig(mode="all"), "fine_tune")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    # Temperature-scale the head so probabilities are informative (not all 0/1):
    # the float parity checks then compare values that can actually differ.
    head = model.get_layer("probabilities")
    logits = keras.Model(model.inputs, head.input)(x).numpy() @ head.kernel.numpy() + \
        head.bias.numpy()
    t = float(np.median(np.abs(logits[:, 0] - logits[:, 1]))) / 4.0
    head.set_weights([w / t for w in head.get_weights()])
    model.save(str(run.model_path))

    val_paths = [r.path for r in split.val]
    probs, ok, _ = KerasPredictor(model, report.classes, "m").predict_files(val_paths)
    metrics = compute_metrics([r.label for r in split.val], probs, report.classes, ok)
    run.write_json("metrics.json", metrics.to_dict())
    return run.path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module")
def run_dir(workdir):
    return make_run(workdir)


@pytest.fixture(scope="module")
def export_all(run_dir, workdir):
    from core.export.exporter import export_model

    events = []
    cfg = ExportConfig(int8_calibration_images=24, parity_images=12)
    report = export_model(run_dir, "all", workdir / "out", cfg, listener=events.append,
                          latency_runs=3)
    return report, workdir / "out", events


def app_reference(run_dir):
    """The app's own answers on the run's validation images."""
    from core.data.dataset import Split
    from core.infer.loaders import load_predictor
    from core.runs.folder import RunFolder

    run = RunFolder(run_dir)
    split = Split.from_dict(run.read_json("split.json"), run.load_config().data.data_dir)
    paths = [r.path for r in split.val]
    probs, ok, _ = load_predictor(run_dir).predict_files(paths)
    return paths, probs, np.array([r.label for r in split.val])


# -- Conv+BN folding --------------------------------------------------------------


def _small_net():
    import keras
    from keras import layers

    rng = np.random.default_rng(3)
    inner_in = keras.Input((8, 8, 6))
    h = layers.Conv2D(5, 3, padding="same", use_bias=False, name="inner_conv")(inner_in)
    h = layers.BatchNormalization(name="inner_bn")(h)
    inner = keras.Model(inner_in, layers.ReLU()(h), name="inner")

    inp = keras.Input((16, 16, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1)(inp)
    x = layers.Conv2D(6, 3, strides=2, padding="same", use_bias=False, name="c1")(x)
    x = layers.BatchNormalization(epsilon=1e-3, name="bn1")(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=1, name="dw")(x)
    x = layers.BatchNormalization(name="bn2")(x)
    branch = layers.Conv2D(6, 1, name="shared")(x)  # two consumers: must NOT be folded
    a = layers.BatchNormalization(name="bn3")(branch)
    x = layers.Add()([a, branch])
    x = layers.Conv2D(6, 1, activation="relu", name="act_conv")(x)  # activation: not folded
    x = layers.BatchNormalization(name="bn4")(x)
    x = inner(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(3, name="logits")(x)  # no softmax: compare raw, unsaturated values
    model = keras.Model(inp, out)

    def randomize(m):
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                randomize(layer)
            elif isinstance(layer, layers.BatchNormalization):
                c = layer.moving_mean.shape[0]
                layer.moving_mean.assign(rng.normal(0, 1.0, c))
                layer.moving_variance.assign(rng.uniform(0.2, 3.0, c))
                layer.gamma.assign(rng.uniform(0.5, 2.0, c))
                layer.beta.assign(rng.normal(0, 0.5, c))
            elif layer.weights:
                layer.set_weights([rng.normal(0, 0.3, w.shape) for w in layer.get_weights()])

    randomize(model)
    return model


def test_bn_fold_gives_the_same_outputs_with_fewer_layers(tmp_path):
    import keras

    from core.model.bn_fold import count_layers, fold_batchnorm, fold_if_equal

    model = _small_net()
    x = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype(np.float32)
    res = fold_batchnorm(model)
    # bn1 (Conv2D), bn2 (Depthwise) and inner_bn (nested model) fold; bn3 (shared
    # conv output) and bn4 (after an activation) must stay.
    assert res.folded == 3
    assert res.layers_after == res.layers_before - 3 == count_layers(res.model)
    names = {layer.name for layer in res.model.layers}
    assert {"bn3", "bn4"} <= names and not {"bn1", "bn2"} & names
    assert "inner_bn" not in {layer.name for layer in res.model.get_layer("inner").layers}
    ref = model(x, training=False).numpy()
    out = res.model(x, training=False).numpy()
    assert np.abs(ref).max() > 0 and np.std(ref[:, 0]) > 1e-3  # a non-trivial output
    assert np.max(np.abs(out - ref)) <= 1e-5
    # the folded model is plain Keras: saves and loads with safe_mode, same answers
    res.model.save(tmp_path / "folded.keras")
    again = keras.saving.load_model(tmp_path / "folded.keras", safe_mode=True)
    assert np.max(np.abs(again(x).numpy() - ref)) <= 1e-5
    folded, info = fold_if_equal(model, x)
    assert info["applied"] and folded is not model and info["max_abs_difference"] <= 1e-5


def test_fold_if_equal_refuses_a_fold_that_changes_outputs(monkeypatch):
    from core.model import bn_fold

    model = _small_net()
    x = np.random.default_rng(1).uniform(0, 255, (4, 16, 16, 3)).astype(np.float32)
    real = bn_fold._bn_scale_shift
    monkeypatch.setattr(bn_fold, "_bn_scale_shift", lambda bn: (real(bn)[0] * 1.5, real(bn)[1]))
    kept, info = bn_fold.fold_if_equal(model, x)
    assert kept is model and not info["applied"] and "differ" in info["reason"]


# -- parity judgement ---------------------------------------------------------------


def test_parity_bounds():
    from core.export.parity import judge

    ref = np.array([[0.9, 0.1], [0.2, 0.8]] * 50, np.float32)
    labels = np.array([0, 1] * 50)
    ok = judge("tflite", ref, {"probs": ref + 5e-5}, labels)
    assert ok["passed"] and ok["top1_agreement"] == 1.0
    bad = judge("onnx", ref, {"probs": ref + 2e-4}, labels)
    assert not bad["passed"] and "max |Δp| 0.0002 > 0.0001" in bad["reason"]
    assert judge("tflite-fp16", ref, {"probs": ref + 5e-3}, labels)["passed"]
    # a second output (SavedModel's uint8 signature) is judged too
    assert not judge("savedmodel", ref, {"probs": ref, "probs_uint8": ref + 1e-3},
                     labels)["passed"]
    flipped = ref.copy()
    flipped[:3] = flipped[:3, ::-1]  # 3 of 100 disagree: 97% agreement, accuracy -3 points
    int8 = judge("tflite-int8", ref, {"probs": flipped}, labels)
    assert int8["top1_agreement"] == pytest.approx(0.97) and int8["top1_agree_count"] == 97
    assert not int8["passed"] and "accuracy drops 3.0 points" in int8["reason"]
    flipped2 = ref.copy()
    flipped2[:2] = flipped2[:2, ::-1]
    assert judge("tflite-int8", ref, {"probs": flipped2}, labels)["passed"]


def test_every_format_of_the_table_has_a_builder():
    from core.export.builders import BUILDERS
    from core.formats import NAMES

    assert tuple(BUILDERS) == NAMES


# -- the real export ------------------------------------------------------------------


def test_every_format_exports_and_matches_the_app(export_all):
    from core.formats import BY_NAME, NAMES

    report, out, events = export_all
    assert [r.format for r in report.results] == list(NAMES)
    for r in report.results:
        # int8 of this tiny random-backbone model is built, run in its runtime and judged;
        # whether it meets its bound depends on the model (selective quantization keeps at
        # most int8_max_float_layers float), so only its verdict's consistency is asserted.
        int8 = r.format == "tflite-int8"
        assert r.status == "ok" or (int8 and r.status == "parity_failed"), \
            (r.format, r.error, r.parity)
        assert (out / BY_NAME[r.format].artifact).exists()
        assert r.size_bytes > 0 and r.latency_ms and r.latency_ms > 0
        p = r.parity
        assert p["n_images"] == 8 and (p["passed"] or int8)
        runtime = r.details["runtime"]
        assert runtime["app_modules_loaded"] == [], r.format  # its own runtime only
        if int8:
            assert runtime["input_dtype"] == "uint8"
            assert p["passed"] == (p["top1_agree_count"] >= 7
                                   and p["accuracy_drop"] <= 1 / 8 + 1e-9)
        else:
            assert p["max_abs_diff"] <= BY_NAME[r.format].max_diff
            assert p["top1_agreement"] >= BY_NAME[r.format].min_agreement
    assert report.written and all(r.ok for r in report.results if r.format != "tflite-int8")
    # the model is not degenerate: the check compared real, varied answers
    assert report.result("keras").parity["accuracy_app"] >= 0.75
    # BN folding was applied (and verified) for the formats whose converter does not fold
    for fmt in ("savedmodel", "onnx"):
        fold = report.result(fmt).details["batchnorm_folding"]
        assert fold["applied"] and fold["layers_after"] < fold["layers_before"]
    assert any(isinstance(e, Log) and "onnx: ok" in e.message for e in events)
    text = report.to_text()
    assert "tflite-int8" in text
    assert ("FAILED" in text) == (not report.result("tflite-int8").ok)


def test_export_folder_has_labels_metadata_readme(export_all, run_dir):
    report, out, _ = export_all
    assert (out / "labels.txt").read_text().splitlines() == ["bright", "dark"]
    assert (out / "savedmodel" / "labels.txt").exists()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["input"]["height"] == meta["input"]["width"] == SIZE
    assert meta["input"]["value_range"] == [0, 255] and meta["input"]["channel_order"] == "RGB"
    assert meta["input"]["layout"] == "NHWC" and meta["input"]["preprocessing_inside"] is True
    assert meta["backbone"] == "MobileNetV3Small" and meta["classes"] == ["bright", "dark"]
    assert meta["training_metrics"]["accuracy"] == json.loads(
        (run_dir / "metrics.json").read_text())["accuracy"]
    assert meta["app_version"] and meta["date"]
    int8 = meta["formats"]["tflite-int8"]
    assert int8["details"]["input_dtype"] == "uint8"
    assert int8["details"]["calibration_images"] == 24
    for fmt, entry in meta["formats"].items():
        assert entry["size_bytes"] > 0 and entry["latency_ms_cpu_1_image"] > 0
        assert entry["parity"]["passed"] and entry["trust"]
    readme = (out / "README.txt").read_text()
    for needle in ("onnxruntime", "tf.lite.Interpreter", "tf.saved_model.load", "BILINEAR",
                   f"({SIZE}, {SIZE})"):
        assert needle in readme
    assert not [p for p in out.parent.iterdir() if p.name.endswith((".partial", ".old"))]


def test_predict_and_evaluate_accept_every_exported_format(export_all, run_dir):
    from core.formats import BY_NAME
    from core.infer.evaluation import evaluate_folder
    from core.infer.loaders import load_predictor
    from core.runs.folder import RunFolder

    _, out, _ = export_all
    paths, ref, labels = app_reference(run_dir)
    data_dir = RunFolder(run_dir).load_config().data.data_dir
    kinds = {}
    for fmt, name in ((f, spec.artifact) for f, spec in BY_NAME.items()):
        predictor = load_predictor(out / name)
        kinds[fmt] = predictor.kind
        trusted = json.loads((out / "metadata.json").read_text())["formats"][fmt]["trust"]
        assert (predictor.caution == "") == trusted, fmt  # a file that passed: no warning
        assert predictor.classes == ["bright", "dark"] and predictor.image_size == SIZE
        probs, ok, skipped = predictor.predict_files(paths, batch_size=5)
        assert ok == paths and not skipped
        if fmt == "tflite-int8":  # see test_every_format_exports_and_matches_the_app
            assert probs.shape == ref.shape and np.allclose(probs.sum(1), 1.0, atol=0.02)
            continue
        bound = 1e-2 if fmt == "tflite-fp16" else 1e-4
        assert np.max(np.abs(probs - ref)) <= bound, fmt
        rows = predictor.predict_paths(paths[:2], top_k=2)
        assert [r.label for r in rows] == [predictor.classes[i] for i in ref[:2].argmax(1)]
        if fmt == "onnx":
            metrics = evaluate_folder(predictor, data_dir)
            assert metrics.n_images == 32 and metrics.accuracy >= 0.75
    assert kinds == {"keras": "keras", "savedmodel": "savedmodel", "tflite": "tflite",
                     "tflite-fp16": "tflite", "tflite-int8": "tflite", "onnx": "onnx"}
    # the export folder itself opens too (its trusted Keras model)
    assert load_predictor(out).kind == "keras"


def test_a_failing_format_does_not_stop_the_others(run_dir, tmp_path, monkeypatch):
    from core.export import builders, exporter

    def broken(build, work):
        (work / "model.keras").write_bytes(b"half-written junk")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(builders.BUILDERS, "keras", broken)  # the first format fails...
    cfg = ExportConfig(parity_images=4)
    report = exporter.export_model(run_dir, ["onnx", "keras"], tmp_path / "out", cfg,
                                 latency_runs=2)
    assert [r.format for r in report.results] == ["keras", "onnx"]
    assert report.result("keras").status == "failed"
    assert "disk on fire" in report.result("keras").error
    assert report.result("onnx").status == "ok"  # ...and the next one still completes
    assert not report.ok and report.written
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "README.txt", "labels.txt", "metadata.json", "model.onnx"]
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta["formats"]["keras"]["status"] == "failed" and meta["formats"]["keras"]["file"] is None
    assert "disk on fire" in meta["formats"]["keras"]["error"]
    assert "keras: not exported: RuntimeError: disk on fire" in report.to_text()


def test_a_format_that_misses_its_bound_is_written_but_flagged(run_dir, tmp_path, monkeypatch):
    import keras

    from core.export import builders, exporter

    def perturbed(build, work):
        model = keras.saving.load_model(build.src.model_path, safe_mode=True)
        dense = model.get_layer("probabilities")
        w, b = dense.get_weights()
        dense.set_weights([w * 0.5, b])  # answers move by more than 1e-4
        model.save(work / "model.keras")
        return work / "model.keras", {}

    monkeypatch.setitem(builders.BUILDERS, "keras", perturbed)
    report = exporter.export_model(run_dir, "keras", tmp_path / "out",
                                 ExportConfig(parity_images=4), latency_runs=2)
    r = report.result("keras")
    assert r.status == "parity_failed" and not r.parity["passed"]
    assert r.parity["max_abs_diff"] > 1e-4
    assert (tmp_path / "out" / "model.keras").exists()
    assert "do not trust" in report.to_text()
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta["formats"]["keras"]["trust"] is False
    from core.errors import ModelFileError
    from core.infer.loaders import load_predictor

    with pytest.raises(ModelFileError, match="passed its parity"):
        load_predictor(tmp_path / "out")
    # the file itself still opens, but says it failed (it had answered without a word)
    predictor = load_predictor(tmp_path / "out" / "model.keras")
    assert predictor.caution.startswith("model.keras failed its parity check")
    assert "export again" in predictor.caution
    image = tmp_path / "one.png"
    Image.new("RGB", (40, 40), (200, 30, 30)).save(image)
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "predict",
                          str(tmp_path / "out" / "model.keras"), str(image)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "warning: model.keras failed its parity check" in out.stderr


@pytest.mark.parametrize("how", ["cancel", "crash"])
def test_interrupted_reexport_keeps_the_old_export(export_all, run_dir, tmp_path, monkeypatch,
                                                   how):
    from core.export import exporter

    _, original, _ = export_all
    out = tmp_path / "out"
    shutil.copytree(original, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    cancel = CancelToken()
    seen = []

    def listener(event):
        seen.append(event)
        if isinstance(event, Log) and event.message.startswith("keras: checking parity"):
            cancel.cancel()  # the new model.keras is already staged; the probe is running

    if how == "crash":
        def crash(*args, **kwargs):
            raise KeyboardInterrupt  # e.g. Ctrl+C while the staged model is being checked
        monkeypatch.setattr(exporter, "run_probe", crash)
        expected = KeyboardInterrupt
    else:
        expected = Cancelled
    with pytest.raises(expected):
        exporter.export_model(run_dir, ["keras"], out, ExportConfig(parity_images=4),
                            listener=listener if how == "cancel" else seen.append,
                            cancel=cancel, latency_runs=2)
    assert any(isinstance(e, Log) and "checking parity" in e.message for e in seen)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folders left


def test_out_dir_with_foreign_files_is_refused(run_dir, tmp_path):
    from core.errors import UserError
    from core.export.exporter import export_model

    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.txt").write_text("precious")
    with pytest.raises(UserError, match="not a Fine-Tune Studio export"):
        export_model(run_dir, "keras", out)
    assert (out / "thesis.txt").read_text() == "precious"


def test_cli_user_mistakes_exit_2(run_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def cli(*args):
        return subprocess.run([sys.executable, str(ROOT / "main.py"), "export", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)

    bad = cli(str(run_dir), "--format", "coreml", "--out", str(tmp_path / "o"))
    assert bad.returncode == 2 and "unknown export format 'coreml'" in bad.stderr
    missing = cli(str(tmp_path / "nope"), "--format", "keras", "--out", str(tmp_path / "o"))
    assert missing.returncode == 2 and "nope" in missing.stderr
    assert not (tmp_path / "o").exists()


def test_cli_exports_with_json_report(run_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "export", str(run_dir),
                           "--format", "keras", "--out", str(tmp_path / "o"), "--json",
                           "--parity-images", "4", "--latency-runs", "2"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    assert data["ok"] and data["results"][0]["format"] == "keras"
    assert data["results"][0]["parity"]["n_images"] == 4


def test_the_agreement_shown_is_exact_and_says_which_flips_were_forgiven():
    """A near-tie flip does not fail an int8 file, but the figure shown is the exact count
    (it said 24/24 while two answers differed and the accuracy moved)."""
    from core.export.parity import judge
    from core.export.report import agreement_text

    ref = np.array([[0.9, 0.1]] * 20 + [[0.52, 0.48]] * 4, np.float32)
    got = ref.copy()
    got[-2:] = got[-2:, ::-1]  # two images the app itself hesitates over come out the other way
    p = judge("tflite-int8", ref, {"probs": got}, None)
    assert p["passed"] and p["near_tie_flips"] == 2 and p["top1_exact_count"] == 22
    assert agreement_text(p) == "22/24 (91.7%); 2 near ties forgiven"
    same = judge("tflite", ref, {"probs": ref}, None)
    assert agreement_text(same) == "24/24 (100.0%)"


def test_the_one_line_parity_text_shows_the_exact_and_the_judged_agreement():
    from core.export.parity import judge
    from core.export.report import FormatResult, parity_text

    ref = np.array([[0.9, 0.1]] * 20 + [[0.52, 0.48]] * 4, np.float32)
    got = ref.copy()
    got[-3:] = got[-3:, ::-1]
    p = judge("tflite-int8", ref, {"probs": got}, None)
    r = FormatResult("tflite-int8", "ok", parity=p)
    assert "top-1 21/24 (87.5%), 24/24 with 3 near tie(s) forgiven (needs 97%)" in parity_text(r)


def test_parity_written_before_the_exact_count_existed_still_reads():
    """metadata.json of an earlier export has near_tie_flips but no top1_exact_count."""
    from core.export.report import FormatResult, agreement_text, parity_text

    old = {"checked": True, "n_images": 24, "top1_agree_count": 24, "near_tie_flips": 3,
           "min_agreement": 0.97}
    assert agreement_text(old) == "21/24 (87.5%); 3 near ties forgiven"
    assert "top-1 21/24 (87.5%), 24/24 with 3 near tie(s) forgiven" in \
        parity_text(FormatResult("tflite-int8", "ok", parity=old))
