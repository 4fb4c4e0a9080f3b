"""int8 selective quantization (core.export.int8): the least exact layers stay float until
the file agrees with the app, the metadata names them, and a denylist is honoured.

The run folder is test_export's tiny MobileNetV3Small (32 px); its int8 file is built
from the same float SavedModel the exporter hands the TFLite converter.
"""

import json

import numpy as np
import pytest

from core.config import ExportConfig
from test_export import make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("int8"))


@pytest.fixture(scope="module")
def converter_and_images(run_dir, tmp_path_factory):
    """A fresh TFLite converter factory for the run's float model, and its training images."""
    import tensorflow as tf

    from core.export.builders import write_savedmodel
    from core.export.source import decode_records, open_source

    src = open_source(run_dir)
    sm = tmp_path_factory.mktemp("sm") / "sm"
    write_savedmodel(src.model, sm, src.image_size, uint8=False)
    images, _ = decode_records(src.train_records[:12], src.image_size, None)

    def converter():
        return tf.lite.TFLiteConverter.from_saved_model(str(sm),
                                                        signature_keys=["serving_default"])
    return converter, images


def _float_nodes(content: bytes) -> set[str]:
    """Names of the tensors that a float op writes in a TFLite file."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_content=content)
    return {t["name"] for t in interp.get_tensor_details() if t["dtype"] == np.float32}


def test_worst_layers_stay_float_until_the_limit_and_the_file_works(converter_and_images):
    from core.export.int8 import quantize_selectively, run_tflite

    converter, images = converter_and_images
    # An agreement no file can reach: every step is tried, up to the limit of 2 float layers.
    result = quantize_selectively(converter(), images, max_float=2, min_agreement=1.01)
    assert not result.reached
    assert [t["float_layers"] for t in result.tried] == [0, 1, 2]
    best = next(t for t in result.tried if t["agreement"] == round(result.agreement, 4))
    assert len(result.float_layers) == best["float_layers"]
    assert result.float_layers == result.ranked[:len(result.float_layers)]
    probs = run_tflite(result.content, images)
    assert probs.shape == (len(images), 2) and np.allclose(probs.sum(1), 1, atol=0.05)
    details = result.details()
    assert details["float_layer_nodes"] == result.float_layers
    assert details["fully_integer_size_bytes"] > 0 and details["latency_ms_in_export"] > 0


def test_a_denylist_is_honoured(converter_and_images):
    from core.export.int8 import quantize_selectively

    converter, images = converter_and_images
    plain = quantize_selectively(converter(), images, max_float=0, min_agreement=0.5)
    assert plain.float_layers == [] and [t["float_layers"] for t in plain.tried] == [0]
    node = plain.ranked[0]  # the least exact layer, by the debugger
    assert node not in _float_nodes(plain.content)
    kept = quantize_selectively(converter(), images, max_float=0, min_agreement=0.5,
                                denylist=[node])
    assert kept.float_layers == [node] and node not in kept.ranked
    assert node in _float_nodes(kept.content)
    assert len(kept.content) > len(plain.content)  # its weights are float32 now


def test_export_metadata_and_report_name_the_float_layers(run_dir, tmp_path):
    from core.events import Log
    from core.export.exporter import export_model

    events = []
    cfg = ExportConfig(int8_calibration_images=12, parity_images=8, int8_max_float_layers=1,
                       int8_min_agreement=1.0)
    report = export_model(run_dir, ["tflite-int8"], tmp_path / "out", cfg,
                          listener=events.append, latency_runs=2)
    r = report.result("tflite-int8")
    assert r.written, r.error
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    sel = meta["formats"]["tflite-int8"]["details"]["selective_quantization"]
    assert meta["export_config"]["int8_max_float_layers"] == 1
    assert sel["check_images"] == 12 and sel["selection"][0]["float_layers"] == 0
    assert len(sel["float_layers"]) == len(sel["float_layer_nodes"]) <= 1
    assert any(isinstance(e, Log) and "kept in float" in e.message for e in events)
    correction = sel["bias_correction"]  # kept only when it helped (correct_if_better)
    assert correction["applied"] is False or correction["layers"] > 5
    assert meta["export_config"]["int8_bias_correction"] is True
    if sel["float_layers"]:
        assert sel["float_layers"][0] in report.to_text()


def test_no_float_layers_allowed_writes_the_all_int8_file(run_dir, tmp_path):
    from core.export.exporter import export_model

    plain = export_model(run_dir, ["tflite-int8"], tmp_path / "plain",
                         ExportConfig(int8_calibration_images=12, parity_images=8,
                                      int8_max_float_layers=0), latency_runs=2)
    details = plain.result("tflite-int8").details
    assert details["selective_quantization"]["float_layers"] == []
    applied = details["selective_quantization"]["bias_correction"]["applied"]
    assert details["runtime"]["input_dtype"] == "uint8"
    off = export_model(run_dir, ["tflite-int8"], tmp_path / "off",
                       ExportConfig(int8_calibration_images=12, parity_images=8,
                                    int8_max_float_layers=0, int8_bias_correction=False),
                       latency_runs=2)
    assert "bias_correction" not in off.result("tflite-int8").details["selective_quantization"]
    corrected = (tmp_path / "plain" / "model_int8.tflite").read_bytes()
    converters = (tmp_path / "off" / "model_int8.tflite").read_bytes()
    assert len(corrected) == len(converters)  # biases only
    assert (corrected != converters) == applied


def test_shifts_measured_on_the_all_int8_file_move_the_int8_layers_of_another(
        converter_and_images):
    """A file with a layer kept float gets the all-int8 file's corrections on its int8
    layers, without running the model again; the float layer is left as it is."""
    from core.export.bias_correction import _biases, correct_biases, shift_biases
    from core.export.int8 import quantize_selectively

    converter, images = converter_and_images
    reference = converter().convert()
    plain = quantize_selectively(converter(), images, max_float=0, min_agreement=0.5,
                                 correct=False)
    _, shifts = correct_biases(plain.content, reference, images)
    kept = quantize_selectively(converter(), images, max_float=0, min_agreement=0.5,
                                denylist=[plain.ranked[0]], correct=False)
    moved, n = shift_biases(kept.content, shifts)
    integer = [b for b in _biases(bytearray(kept.content)) if b.integer]
    assert n == len(integer) == len(shifts) - 1 and moved != kept.content
    assert len(moved) == len(kept.content)


def test_two_float_nodes_of_one_layer_get_distinct_names():
    """The calibration's Log and truediv are both in layer trust_1: the metadata showed
    ``trust_1, trust_1``; the op now tells them apart, other names stay short."""
    from core.export.int8 import short_names

    nodes = ["m_trusted_1/trust_1/Log",
             "m_trusted_1/trust_1/truediv;m_trusted_1/trust_1/truediv/y1",
             "m_trusted_1/backbone_1/block_13_project_1/BiasAdd;m_trusted_1/backbone_1/"
             "block_13_project_1/convolution"]
    assert short_names(nodes) == ["trust_1 (Log)", "trust_1 (truediv)",
                                  "backbone_1/block_13_project_1"]
    assert short_names([]) == []


def _full_integer(converter, images) -> bytes:
    import tensorflow as tf

    def data():
        for img in images:
            yield [img[None].astype(np.float32)]
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = data
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    return converter.convert()


def test_bias_correction_moves_each_layer_mean_to_the_float_model_and_keeps_every_op(
        converter_and_images):
    """Rounding to 8 bits shifts each layer's mean output; the correction folds the shift
    into the int32 biases, layer after layer, so the shifts no longer add up.  Nothing
    else in the file changes: the same ops, the same size, still fully integer."""
    from core.export.bias_correction import (_biases, _tensor_names, channel_means,
                                             correct_biases)

    converter, images = converter_and_images
    reference = converter().convert()
    plain = _full_integer(converter(), images)
    fixed, shifts = correct_biases(plain, reference, images)
    assert len(shifts) == len(_biases(bytearray(plain))) > 5
    assert len(fixed) == len(plain) and fixed != plain
    assert _float_nodes(fixed) == _float_nodes(plain)  # no op turned float
    theirs = _tensor_names(reference)
    outs = [b.output for b in _biases(bytearray(plain))]
    names = [b.name for b in _biases(bytearray(plain))]
    want = channel_means(reference, [theirs[n] for n in names], images)
    before = channel_means(plain, outs, images)
    after = channel_means(fixed, outs, images)
    shift_before = [np.abs(b - w).mean() for b, w in zip(before, want)]
    shift_after = [np.abs(a - w).mean() for a, w in zip(after, want)]
    # The last layers (where the shifts have added up) lose most of theirs.
    assert sum(shift_after[-3:]) < 0.5 * sum(shift_before[-3:]), (shift_before, shift_after)
    assert sum(shift_after) < sum(shift_before)


def test_a_float_layer_is_kept_only_for_a_clear_gain():
    """After the bias correction a step of float layers gained two images on the check
    images (and lost as many on held-out ones) and was kept, doubling the file."""
    from core.export.int8 import clear_gain

    best = np.array([True] * 189 + [False] * 11)
    two_more = best.copy()
    two_more[189:191] = True
    assert not clear_gain(two_more, best)  # 2 wins, 0 losses out of 200: luck
    ten_more = best.copy()
    ten_more[189:199] = True
    assert clear_gain(ten_more, best)
    swapped = ten_more.copy()
    swapped[:8] = False  # 10 wins, 8 losses: a gain of 2 is noise
    assert not clear_gain(swapped, best)


def test_a_correction_that_answers_less_like_the_float_model_is_not_kept(converter_and_images,
                                                                        monkeypatch):
    """Matching each layer's mean is not matching the answers: on the tests' small model the
    corrected file's probabilities moved further from the float model's, and it was kept."""
    import core.export.bias_correction as bc
    from core.events import Log
    from core.export.int8 import run_tflite

    converter, images = converter_and_images
    reference = converter().convert()
    plain = _full_integer(converter(), images)
    want = run_tflite(reference, images)

    def score(content):
        probs = run_tflite(content, images)
        return (np.mean(probs.argmax(1) == want.argmax(1)), -np.mean(np.abs(probs - want)))

    kept, _ = bc.correct_if_better(plain, reference, images)
    assert score(kept) >= score(plain)  # whichever it returns, never the worse one
    real = bc.correct_biases

    def ruinous(content, ref, imgs, cancel=None):  # every bias pushed far off
        _, shifts = real(content, ref, imgs, cancel)
        return bc.shift_biases(content, {k: v + 50.0 for k, v in shifts.items()})[0], shifts

    monkeypatch.setattr(bc, "correct_biases", ruinous)
    events = []
    back, shifts = bc.correct_if_better(plain, reference, images, listener=events.append)
    assert back == plain and shifts == {}
    assert any(isinstance(e, Log) and "was not kept" in e.message for e in events)
