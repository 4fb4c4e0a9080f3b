"""Grad-CAM finds a learned object; feature maps reach inside the nested backbone."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from core.errors import ConfigError  # noqa: E402
from core.insight.feature_maps import (FeatureMapProbe, Tap, feature_maps, listable_layers,  # noqa: E402
                               tile_maps)
from core.insight.gradcam import colormap_jet, default_layer, grad_cam, overlay  # noqa: E402

S, BOX = 32, 8


def squares(n, seed):
    """Noise images; label 1 has a bright BOX×BOX square at a random place."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 120, (n, S, S, 3)).astype(np.uint8)
    y = rng.integers(0, 2, n)
    boxes = []
    for i in range(n):
        r, c = rng.integers(0, S - BOX + 1, 2)
        boxes.append((int(r), int(c)))
        if y[i]:
            x[i, r:r + BOX, c:c + BOX] = 255
    return x, y, boxes


def app_like_tiny():
    """The app's layout with a tiny CNN as the nested backbone."""
    backbone = keras.Sequential([
        keras.Input((S, S, 3)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1"),
        keras.layers.MaxPooling2D(name="p1"),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="c2"),
    ], name="backbone")
    inp = keras.Input((S, S, 3), name="image")
    x = keras.layers.Rescaling(1 / 255.0, name="rescaling")(inp)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dropout(0.1, name="dropout")(x)
    out = keras.layers.Dense(2, activation="softmax", name="probabilities")(x)
    return keras.Model(inp, out), backbone


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model, backbone = app_like_tiny()
    x, y, _ = squares(512, seed=0)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x.astype("float32"), y, epochs=6, batch_size=32, verbose=0)
    return model, backbone


@pytest.mark.slow
def test_grad_cam_puts_its_heat_on_the_square(trained):
    model, _ = trained
    x, y, boxes = squares(64, seed=1)
    _, acc = model.evaluate(x.astype("float32"), y, verbose=0)
    assert acc > 0.9, "the tiny CNN did not learn the task, so the test below means nothing"
    pos = np.flatnonzero(y == 1)
    results = grad_cam(model, x[pos], class_index=1)
    assert len(results) == len(pos)
    ratios = []
    for i, res in zip(pos, results):
        assert res.layer_name == "backbone/c2" and res.class_index == 1
        assert res.heatmap.shape == (16, 16) and res.upsampled.shape == (S, S)
        assert 0 <= res.upsampled.min() and res.upsampled.max() <= 1
        r, c = boxes[i]
        inside = np.zeros((S, S), bool)
        inside[r:r + BOX, c:c + BOX] = True
        ratios.append(res.upsampled[inside].mean() / (res.upsampled[~inside].mean() + 1e-6))
    assert np.median(ratios) > 4 and min(ratios) > 1.5, ratios
    # Single image: predicted class by default, its probability from the model.
    one = grad_cam(model, x[pos[0]])
    probs = model.predict(x[pos[:1]].astype("float32"), verbose=0)[0]
    assert one.class_index == int(np.argmax(probs))
    assert one.probability == pytest.approx(float(probs.max()), rel=1e-5)


def test_grad_cam_on_a_plain_sequential_model_and_errors():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((S, S, 3)),
                              keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                              keras.layers.GlobalAveragePooling2D(name="gap"),
                              keras.layers.Dense(3, activation="softmax")])
    img = np.random.default_rng(0).integers(0, 256, (S, S, 3), dtype=np.uint8)
    res = grad_cam(model, img, class_index=2)
    assert res.layer_name == "conv" and res.heatmap.shape == (30, 30)
    assert res.upsampled.shape == (S, S) and res.class_index == 2
    with pytest.raises(ConfigError, match="out of range"):
        grad_cam(model, img, class_index=3)
    with pytest.raises(ConfigError, match="H×W×C maps"):
        grad_cam(model, img, layer_name="gap")


def test_default_layer_is_the_final_map_of_the_backbone():
    backbone = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                              include_top=False, weights=None, name="backbone")
    inp = keras.Input((32, 32, 3), name="image")
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(backbone(inp)))
    assert default_layer(keras.Model(inp, out)) == "backbone/out_relu"


@pytest.mark.parametrize("max_pool_last", [False, True])
def test_default_layer_is_what_the_head_pools_past_a_concatenation(max_pool_last):
    """DenseNet, Inception, NASNet, ConvNeXt: the old rule stopped at the last convolution of
    one branch (a concatenation changes the shape), not the maps the head receives.  A
    squeeze-and-excitation pooling inside the backbone is not the head's; VGG's last max
    pooling is stepped over to the finer maps before it."""
    L = keras.layers
    inp = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same")(inp)
    se = L.Reshape((1, 1, 8))(L.Dense(8, activation="sigmoid")(L.GlobalAveragePooling2D()(x)))
    x = L.Multiply()([x, se])
    x = L.Concatenate()([L.Conv2D(4, 1)(x), L.Conv2D(4, 3, padding="same", name="branch")(x)])
    x = L.Activation("relu", name="final_relu")(L.BatchNormalization()(x))
    if max_pool_last:
        x = L.MaxPooling2D(name="block_pool")(x)
    backbone = keras.Model(inp, x, name="backbone")
    image = keras.Input((16, 16, 3))
    out = L.Dense(2)(L.GlobalAveragePooling2D(name="avg_pool")(backbone(image)))
    assert default_layer(keras.Model(image, out)) == "backbone/final_relu"


def test_a_one_cell_map_is_said_not_painted_as_an_explanation():
    """At 32 px most backbones' last maps are 1x1: every overlay was one colour, unexplained."""
    from core.insight.gradcam import coarse_map_note

    def model(size):
        backbone = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=0.35,
                                                  include_top=False, weights=None,
                                                  name="backbone")
        inp = keras.Input((size, size, 3), name="image")
        out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(backbone(inp)))
        return keras.Model(inp, out)

    note = coarse_map_note(model(32))
    assert "At 32 px" in note and "1×1" in note and "96 px" in note
    assert coarse_map_note(model(96)) == ""  # 3x3 maps


def test_overlay_blends_heat_over_the_photo():
    img = np.full((20, 30, 3), 100, np.uint8)
    heat = np.zeros((5, 6), np.float32)
    heat[2, 3] = 1.0
    same = overlay(img, heat, alpha=0.0)
    assert same.dtype == np.uint8 and same.shape == (20, 30, 3) and np.all(same == 100)
    full = overlay(img, np.ones((20, 30)), alpha=1.0)
    assert np.all(full == np.rint(colormap_jet(1.0) * 255).astype(np.uint8))   # hot = red
    mixed = overlay(img, heat, alpha=0.5)
    assert not np.all(mixed == mixed[0, 0])
    assert colormap_jet(0.0).tolist() == [0.0, 0.0, 0.5]                       # cold = blue
    with pytest.raises(ConfigError, match="alpha"):
        overlay(img, heat, alpha=2)


# ---------------------------------------------------------------------------
# Feature maps
# ---------------------------------------------------------------------------

def test_feature_maps_inside_the_backbone_equal_a_direct_run():
    keras.utils.set_random_seed(2)
    model, backbone = app_like_tiny()
    img = np.random.default_rng(3).integers(0, 256, (S, S, 3), dtype=np.uint8)

    maps = feature_maps(model, img, "backbone/p1")
    assert maps.shape == (16, 16, 8) and maps.dtype == np.float32
    direct = keras.Model(backbone.inputs[0], backbone.get_layer("p1").output)
    want = direct(img[None].astype("float32") / 255.0).numpy()[0]
    assert np.allclose(maps, want, atol=1e-5)

    assert feature_maps(model, img, "c2").shape == (16, 16, 16)     # plain name works too
    assert feature_maps(model, img, "rescaling").shape == (S, S, 3)  # a top-level layer
    # A picture of another size is resized to the model's input.
    assert feature_maps(model, np.zeros((50, 40, 3), np.uint8), "c1").shape == (S, S, 8)

    # The tap also returns the full prediction, identical to the model's.
    feat, preds = Tap(model, "backbone/c1")(img[None].astype("float32"))
    assert np.allclose(preds.numpy(), model.predict(img[None].astype("float32"), verbose=0),
                       atol=1e-6)

    with pytest.raises(ConfigError, match="no layer"):
        feature_maps(model, img, "backbone/missing")
    with pytest.raises(ConfigError, match="not a stack of feature maps"):
        feature_maps(model, img, "probabilities")


def test_listable_layers_and_stepping():
    keras.utils.set_random_seed(2)
    model, _ = app_like_tiny()
    names = [n for n, _, _ in listable_layers(model)]
    assert names == ["rescaling", "backbone/c1", "backbone/p1", "backbone/c2"]
    assert listable_layers(model)[2] == ("backbone/p1", "MaxPooling2D", (None, 16, 16, 8))
    probe = FeatureMapProbe(model)
    img = np.zeros((S, S, 3), np.uint8)
    name, maps = probe.step(img, 2)
    assert name == "backbone/p1" and maps.shape == (16, 16, 8)
    assert probe.step(img, 4)[0] == "rescaling"  # wraps around
    grid = tile_maps(maps)
    assert (grid.rows, grid.cols) == (3, 3)
    assert grid.image.shape == (3 * 16 + 2, 3 * 16 + 2)
    assert grid.image.min() >= 0 and grid.image.max() <= 1


@pytest.mark.slow
def test_overlays_for_files_in_batches_match_one_by_one(trained, tmp_path):
    from PIL import Image

    from core.insight.gradcam import overlays_for_files

    model, _ = trained
    x, _y, _ = squares(5, seed=3)
    paths = []
    for i, img in enumerate(x):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(img).save(paths[-1])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    backgrounds = {p: np.full((20, 24, 3), 90, np.uint8) for p in paths[:4]}
    backgrounds[str(broken)] = np.zeros((20, 24, 3), np.uint8)
    events = []
    out = overlays_for_files(model, paths + [str(broken)], S, backgrounds, alpha=0.5,
                             batch_size=3, listener=events.append)
    # no background (the 5th image) or unreadable: left out; the rest, in the caller's size
    assert set(out) == set(paths[:4])
    for i, p in enumerate(paths[:4]):
        expected = overlay(backgrounds[p], grad_cam(model, x[i]).upsampled, 0.5)
        assert out[p].shape == (20, 24, 3) and out[p].dtype == np.uint8
        assert np.abs(out[p].astype(int) - expected.astype(int)).max() <= 1
    assert [e.done for e in events] == [3, 5]  # one progress step per batch
