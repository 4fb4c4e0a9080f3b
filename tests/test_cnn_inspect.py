"""Layer shapes by formula, parameter accounting and receptive fields, checked against Keras."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

from core import cli  # noqa: E402
from core.insight.formulas import (CONV_TYPES, POOL_TYPES, conv_output_size,  # noqa: E402
                                   formula_text, padding_amount, same_padding_pixels)
from core.insight.graph import find_layer  # noqa: E402
from core.insight.layers import inspect_layers  # noqa: E402
from core.errors import ConfigError, ModelFileError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def app_like(backbone, size):
    """The app's layout: raw image → rescaling → nested "backbone" → GAP → dropout → softmax."""
    inp = keras.Input((size, size, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inp)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    out = keras.layers.Dense(3, activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out)


# ---------------------------------------------------------------------------
# The formula itself
# ---------------------------------------------------------------------------

def test_formula_examples_from_the_lesson():
    assert conv_output_size(96, 3, 2, "same") == 48
    assert padding_amount(96, 3, 2, "same") == 1
    assert formula_text(96, 3, 2, "same") == "⌊(96 − 3 + 2·1)/2⌋ + 1 = 48"
    assert conv_output_size(224, 7, 2, "valid") == 109
    assert formula_text(32, 3, 1, "valid") == "(32 − 3 + 2·0)/1 + 1 = 30"
    assert conv_output_size(5, 3, 1, "valid", dilation=2) == 1   # effective K = 5
    assert "dilated K = 2·(3 − 1) + 1 = 5" in formula_text(5, 3, 1, "valid", dilation=2)
    assert conv_output_size(2, 3, 1, "valid") == 0               # window does not fit
    assert same_padding_pixels(96, 3, 2) == (0, 1)               # TF pads bottom/right
    with pytest.raises(ConfigError, match="padding"):
        conv_output_size(10, 3, 1, "full")


def test_formula_equals_keras_for_every_small_case():
    """O = ⌊(W − K + 2P)/S⌋ + 1 against Keras' own shape inference, conv and pooling."""
    checked = 0
    for w in range(1, 18):
        for k in range(1, 6):
            for s in (1, 2, 3):
                for d in (1, 2):
                    if d > 1 and s > 1:
                        continue  # Keras refuses strides > 1 with dilation > 1
                    for pad in ("same", "valid"):
                        if pad == "valid" and d * (k - 1) + 1 > w:
                            continue
                        conv = keras.layers.Conv2D(1, k, strides=s, padding=pad, dilation_rate=d)
                        want = conv.compute_output_shape((1, w, w, 1))[1]
                        assert conv_output_size(w, k, s, pad, d) == want, (w, k, s, pad, d)
                        if d == 1:
                            pool = keras.layers.MaxPooling2D(k, strides=s, padding=pad)
                            assert conv_output_size(w, k, s, pad) == \
                                pool.compute_output_shape((1, w, w, 1))[1]
                        checked += 1
    assert checked > 500


# ---------------------------------------------------------------------------
# Real backbones
# ---------------------------------------------------------------------------

BACKBONES = [
    ("MobileNetV2", 96),
    ("ResNet50", 64),
    ("EfficientNetB0", 64),
    ("VGG16", 64),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,size", BACKBONES)
def test_formula_matches_keras_for_every_conv_and_pool_layer(name, size):
    backbone = getattr(keras.applications, name)(input_shape=(size, size, 3), include_top=False,
                                                 weights=None, name="backbone")
    model = app_like(backbone, size)
    backbone.trainable = False
    info = inspect_layers(model)

    inner = [layer for layer in backbone.layers
             if type(layer).__name__ in CONV_TYPES + POOL_TYPES]
    rows = {r.path: r for r in info.rows}
    assert len(inner) > 10
    for layer in inner:
        row = rows[f"backbone/{layer.name}"]
        assert row.formula_shape == tuple(layer.output.shape[1:3]), row.path
        assert row.formula_matches is True, (row.path, row.formula_text)
        assert row.formula_text.endswith(f"= {layer.output.shape[1]}")
    assert not [r.path for r in info.rows if r.formula_matches is False]

    # Totals are Keras' own; the rows add up to them.
    assert info.total_params == model.count_params()
    assert info.trainable_params == sum(int(w.numpy().size) for w in model.trainable_weights)
    assert info.non_trainable_params == info.total_params - info.trainable_params
    assert sum(r.params for r in info.rows) == model.count_params()
    assert sum(r.trainable_params for r in info.rows) == info.trainable_params
    assert rows["probabilities"].trainable and not rows[f"backbone/{inner[0].name}"].trainable

    # The receptive field grows and ends larger than the image for these deep nets.
    rf = [r.receptive_field for r in info.rows if r.path.startswith("backbone/")]
    assert rf[-1] > size
    first_conv = rows[f"backbone/{inner[0].name}"]
    assert first_conv.receptive_field == inner[0].kernel_size[0]
    json.dumps(info.to_dict())  # JSON-ready
    assert "Total params:" in info.to_text()


@pytest.mark.slow
def test_published_receptive_fields():
    """VGG16 pool5 = 212 and ResNet-50 = 483 (Araujo et al., Distill 2019)."""
    vgg = keras.applications.VGG16(input_shape=(64, 64, 3), include_top=False, weights=None)
    rows = {r.path: r for r in inspect_layers(vgg).rows}
    assert rows["block5_conv3"].receptive_field == 196
    assert rows["block5_pool"].receptive_field == 212
    assert rows["block5_pool"].jump == 32
    resnet = keras.applications.ResNet50(input_shape=(64, 64, 3), include_top=False, weights=None)
    rows = {r.path: r for r in inspect_layers(resnet).rows}
    assert rows["conv5_block3_out"].receptive_field == 483
    assert rows["conv5_block3_out"].jump == 32


def test_tiny_cnn_rows_by_hand():
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(8, 3, padding="same", name="c1"),
        keras.layers.Conv2D(16, 3, strides=2, padding="valid", name="c2"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Conv2D(4, 3, dilation_rate=2, padding="same", use_bias=False, name="dil"),
        keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(5, name="fc"),
    ])
    info = inspect_layers(model)
    rows = {r.path: r for r in info.rows}
    assert info.rows[0].type == "InputLayer"

    c1 = rows["c1"]
    assert c1.params == 3 * 3 * 3 * 8 + 8
    assert c1.params_formula == "3·3·3·8 + 8 = 224"
    assert c1.dense_equivalent_params == (32 * 32 * 3) * (32 * 32 * 8) + 32 * 32 * 8
    assert (c1.receptive_field, c1.jump) == (3, 1)

    c2 = rows["c2"]
    assert c2.output_shape == (None, 15, 15, 16)
    assert c2.formula_text == "⌊(32 − 3 + 2·0)/2⌋ + 1 = 15"
    assert (c2.receptive_field, c2.jump) == (5, 2)
    assert (rows["pool"].receptive_field, rows["pool"].jump) == (7, 4)
    assert rows["pool"].params == 0
    assert rows["dil"].params_formula == "3·3·16·4 = 576"
    assert rows["dil"].receptive_field == 7 + (5 - 1) * 4
    assert rows["dw"].params == 3 * 3 * 4 * 2 + 4 * 2
    bn = rows["bn"]
    assert (bn.params, bn.trainable_params) == (4 * 8, 2 * 8)
    assert rows["flat"].receptive_field > rows["bn"].receptive_field   # sees the whole map
    assert rows["fc"].params == rows["fc"].dense_equivalent_params == 7 * 7 * 8 * 5 + 5
    assert info.total_params == model.count_params()
    assert info.non_trainable_params == 2 * 8


def test_a_dense_on_maps_is_a_per_position_mix_not_a_fully_connected_layer():
    """ConvNeXt's pointwise Dense (16x16x96 -> 16x16x384) said it joins every input and that
    a fully connected layer would need 64,863x more weights; the head's Dense said 1.0x fewer."""
    from gui.pages.network.layers_tab import saving_text

    model = keras.Sequential([
        keras.Input((8, 8, 4)),
        keras.layers.Dense(6, name="pointwise"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(3, name="fc"),
    ])
    rows = {r.path: r for r in inspect_layers(model).rows}
    pw = rows["pointwise"]
    assert pw.params == 4 * 6 + 6 and pw.dense_equivalent_params is None
    assert "1×1 convolution" in pw.params_note and "every input" not in pw.params_note
    assert "every input" in rows["fc"].params_note
    assert saving_text(rows["fc"]) == "the same"


def test_the_field_passes_through_operations_that_are_not_layers():
    """ConvNeXt's residual ``inputs + x`` and MobileNetV3's ``x + 3``: the next layer's
    receptive field started again from 1 pixel (ConvNeXtTiny's pool 'saw 3x3 pixels'),
    also on entering a nested model fed by such a sum."""
    inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="c1")(inp)
    y = keras.layers.Conv2D(4, 3, padding="same", name="c2")(x)
    s = x + y * (1 / 6)  # keras.ops, not layers
    inner_in = keras.Input((32, 32, 4))
    inner = keras.Model(inner_in, keras.layers.Conv2D(4, 3, padding="same", name="c3")(
        inner_in + 3.0), name="inner")
    model = keras.Model(inp, inner(s))
    rows = {r.path: r for r in inspect_layers(model).rows}
    assert (rows["c1"].receptive_field, rows["c2"].receptive_field) == (3, 5)
    assert rows["inner/c3"].receptive_field == 7


def test_find_layer_paths_and_errors():
    backbone = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(2, 3, name="conv")],
                                name="backbone")
    model = app_like(backbone, 16)
    chain, layer, path = find_layer(model, "conv")
    assert path == "backbone/conv" and chain == [backbone] and layer is backbone.layers[0]
    assert find_layer(model, "backbone/conv")[1] is layer
    with pytest.raises(ConfigError, match="no layer 'nope'"):
        find_layer(model, "nope")


def test_unbuilt_model_is_a_clear_error():
    with pytest.raises(ModelFileError, match="no defined input"):
        inspect_layers(keras.Sequential([keras.layers.Dense(2)]))


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    backbone = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                              include_top=False, weights=None, name="backbone")
    model = app_like(backbone, 32)
    for layer in backbone.layers[:-20]:
        layer.trainable = False
    run_dir = tmp_path_factory.mktemp("run")
    model.save(run_dir / "model.keras")
    return run_dir, model


@pytest.mark.slow
def test_inspect_model_json_totals_equal_keras(saved_model):
    run_dir, model = saved_model
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "inspect-model",
                          str(run_dir), "--json"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total_params"] == model.count_params()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert data["trainable_params"] == trainable
    assert data["non_trainable_params"] == model.count_params() - trainable
    conv_rows = [r for r in data["layers"] if r["type"] in CONV_TYPES]
    assert conv_rows and all(r["formula_matches"] for r in conv_rows)
    assert data["layers"][0]["output_shape"] == [None, 32, 32, 3]


def test_inspect_model_text_table(saved_model, capsys):
    run_dir, model = saved_model
    assert cli.main(["inspect-model", str(run_dir / "model.keras")]) == 0
    text = capsys.readouterr().out
    assert "backbone/Conv1" in text and "probabilities" in text
    assert f"Total params:         {model.count_params():,}" in text


@pytest.mark.parametrize("make,match", [
    (lambda p: p / "missing.keras", "no such file"),
    (lambda p: p, "no model.keras in this folder"),
    (lambda p: (p / "notes.txt").write_text("x") and p / "notes.txt", "not a Keras model file"),
    (lambda p: (p / "broken.keras").write_bytes(b"not a zip") and p / "broken.keras",
     "not a Keras model file"),
])
def test_inspect_model_bad_paths_exit_2_with_one_line(tmp_path, make, match):
    path = make(tmp_path)
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "inspect-model", str(path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 2, out.stderr
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and match in errors[0], out.stderr
    assert "Traceback" not in out.stderr


def test_inspect_model_counts_what_a_runs_training_trained(trained_run, capsys):
    """A run's model.keras is saved with every layer trainable: inspect-model called the
    whole model trainable (23.5 M where fine-tuning trained 4.46 M), where the Network page
    gives the run's own flags (a review)."""
    from core.insight.explorer import NetworkSpec, trained_as
    from core.model.model_files import load_model_file

    model = load_model_file(trained_run / "model.keras")
    loaded = sum(int(w.numpy().size) for w in model.trainable_weights)
    phase = trained_as(model, NetworkSpec(kind="file", path=str(trained_run / "model.keras")))
    trained = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert phase and trained < loaded  # the fixture's run froze part of its backbone
    assert cli.main(["inspect-model", str(trained_run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trainable_params"] == trained and data["trainable_as_in"] == phase
    assert cli.main(["inspect-model", str(trained_run)]) == 0
    assert "trainable as the run's" in capsys.readouterr().out


def test_inspect_model_text_gives_what_the_readme_promises(tmp_path, capsys):
    """The text table had no shape by the formula, no "how the parameters are counted", no
    per-layer trainable count, and a 1×7 window's receptive field read "7" (a review)."""
    inp = keras.Input((20, 30, 3))
    x = keras.layers.Conv2D(8, (1, 7), strides=(1, 2), padding="same", name="c1x7")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    model = keras.Model(inp, x)
    model.get_layer("bn").trainable = False
    path = tmp_path / "m.keras"
    model.save(path)
    assert cli.main(["inspect-model", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[1].split()
    assert header[:5] == ["layer", "type", "kernel/stride/pad", "in", "→"]
    assert "by formula" in lines[1] and "trainable" in lines[1] and "counted as" in lines[1]
    conv = next(line for line in lines if line.startswith("c1x7 "))
    assert "20×15 ✓" in conv and "1·7·3·8 + 8 = 176" in conv
    assert re.search(r"\s176\s+176\s+1×7\s", conv)  # params, trainable, RF
    bn = next(line for line in lines if line.startswith("bn "))
    assert re.search(r"\s32\s+0\s+1×7\s", bn)  # 32 parameters, none trainable
    assert bn.endswith("γ 8 + β 8 + mean 8 + variance 8 = 32")


def test_inspect_model_names_a_finished_runs_missing_model_and_weights_files(
        trained_run, tmp_path, capsys):
    """A completed run without model.keras was said not to have finished training; a
    .weights.h5 file leaked Keras' "No model config found"; a run's best.weights.npz did
    not name the run folder to give (a CLI review)."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "model.keras").unlink()
    assert cli.main(["inspect-model", str(run)]) == 2
    err = capsys.readouterr().err
    assert "missing although the run completed" in err and "finished training" not in err
    assert cli.main(["inspect-model", str(run / "best.weights.npz")]) == 2
    err = capsys.readouterr().err
    assert f"give the run folder {run} instead" in err
    weights = tmp_path / "backbone.weights.h5"
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save_weights(weights)
    assert cli.main(["inspect-model", str(weights)]) == 2
    err = capsys.readouterr().err
    assert "holds weights only, no network" in err and "No model config" not in err
