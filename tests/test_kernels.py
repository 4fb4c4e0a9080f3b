"""The kernel playground (numpy) against TensorFlow, typed kernels, and learned filters."""

import numpy as np
import pytest

from core.errors import ConfigError
from core.insight.kernels import (PRESET_KERNELS, PRESET_NOTES, apply_kernel, filter_channels,
                          filter_tiles, parse_kernel)


def half_white_half_black(h=16, w=16):
    img = np.zeros((h, w))
    img[:, : w // 2] = 1.0
    return img


def test_edge_kernel_lights_only_the_boundary():
    res = apply_kernel(half_white_half_black(), PRESET_KERNELS["edge"], padding="valid")
    assert res.output_shape == (14, 14)
    assert res.formula_text == "(16 − 3 + 2·0)/1 + 1 = 14"
    lit = np.unique(np.nonzero(res.output)[1])
    # Output column j sees input columns j..j+2; only j = 6, 7 straddle the 7|8 boundary.
    assert lit.tolist() == [6, 7]
    assert np.all(res.output[:, 6] == 3) and np.all(res.output[:, 7] == -3)


def test_same_padding_adds_zeros_that_show_at_the_frame():
    """With "same" the white half meets the zero padding, so its outer frame lights too."""
    res = apply_kernel(half_white_half_black(), PRESET_KERNELS["edge"], padding="same")
    assert res.output_shape == (16, 16)
    out = res.output
    assert np.all(out[1:-1, 9:-1] == 0)                 # black interior: nothing
    assert np.all(out[1:-1, 1:6] == 0)                  # white interior: nothing
    assert np.all(out[1:-1, 7] == 3) and np.all(out[1:-1, 8] == -3)   # the boundary
    assert out[0, 0] == 8 - 3 and out[5, 0] == 8 - 5     # the frame of the white half


def test_the_formula_line_says_where_same_puts_an_odd_zero():
    """An even kernel's "P = 1.5" (or stride 2's uneven split) was left for the teacher to
    explain: the Playground now says what TensorFlow adds on each side (note 23's leftover)."""
    img = np.zeros((32, 32))
    even = apply_kernel(img, np.ones((4, 4)), padding="same")
    assert even.output_shape == (32, 32)
    assert even.formula_text == ("(32 − 4 + 2·1.5)/1 + 1 = 32 (the textbook's P; TensorFlow "
                                 "really adds 1 zero(s) at the top and left, 2 at the bottom "
                                 "and right)")
    assert "really adds 0 zero(s) at the top and left, 1 at the bottom and right" in \
        apply_kernel(img, np.ones((3, 3)), padding="same", stride=2).formula_text
    assert "really" not in apply_kernel(img, np.ones((3, 3)), padding="same").formula_text
    assert "really" not in apply_kernel(img, np.ones((4, 4)), padding="valid").formula_text


def test_width_wise_edge_and_presets():
    res = apply_kernel(half_white_half_black(8, 8), PRESET_KERNELS["width-wise edge"], "valid")
    assert res.output_shape == (8, 6)
    assert res.formula_text.startswith("H: (8 − 1 + 2·0)/1 + 1 = 8; W: (8 − 3")
    assert np.unique(np.nonzero(res.output)[1]).tolist() == [2, 3]
    assert np.all(res.output[:, 2:4] == 1)              # left (white) minus right (black)
    img = np.random.default_rng(0).random((9, 9, 3))
    assert np.allclose(apply_kernel(img, PRESET_KERNELS["identity"]).output, img)
    flat = np.full((9, 9), 0.3)
    assert np.allclose(apply_kernel(flat, PRESET_KERNELS["box blur 5×5"], "valid").output, 0.3)
    assert np.allclose(apply_kernel(flat, PRESET_KERNELS["sharpen"], "valid").output, 0.3)
    assert set(PRESET_NOTES) == set(PRESET_KERNELS)
    assert PRESET_KERNELS["box blur 5×5"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("k", [(3, 3), (2, 2), (5, 3), (1, 4)])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_playground_equals_tensorflow_convolution(k, stride, padding):
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(sum(k) * 10 + stride)
    img = rng.normal(size=(11, 13, 3))
    ker3 = rng.normal(size=k + (3,))
    res = apply_kernel(img, ker3, padding=padding, stride=stride)
    want = tf.nn.conv2d(img[None], ker3[:, :, :, None], strides=stride, padding=padding.upper())
    assert res.output.shape == tuple(want.shape[1:3])
    assert np.allclose(res.output, want.numpy()[0, :, :, 0], atol=1e-9)
    # A 2-D kernel on a colour image runs per channel.
    ker2 = ker3[:, :, 0]
    per_channel = apply_kernel(img, ker2, padding=padding, stride=stride).output
    for c in range(3):
        want_c = tf.nn.conv2d(img[None, :, :, c:c + 1], ker2[:, :, None, None], strides=stride,
                              padding=padding.upper())
        assert np.allclose(per_channel[:, :, c], want_c.numpy()[0, :, :, 0], atol=1e-9)


def test_apply_kernel_rejects_bad_input():
    with pytest.raises(ConfigError, match="does not fit"):
        apply_kernel(np.zeros((2, 2)), np.ones((3, 3)), padding="valid")
    with pytest.raises(ConfigError, match="padding"):
        apply_kernel(np.zeros((4, 4)), np.ones((3, 3)), padding="full")
    with pytest.raises(ConfigError, match="stride"):
        apply_kernel(np.zeros((4, 4)), np.ones((3, 3)), stride=0)
    with pytest.raises(ConfigError, match="3 channels"):
        apply_kernel(np.zeros((4, 4)), np.ones((3, 3, 3)))


def test_parse_kernel_forms():
    assert parse_kernel("1,0,-1; 1,0,-1").tolist() == [[1, 0, -1], [1, 0, -1]]
    assert parse_kernel("1 0 -1\n2 0 -2\n1 0 -1").shape == (3, 3)
    assert parse_kernel("[[0,-1,0],[-1,5,-1],[0,-1,0]]").tolist() == \
        PRESET_KERNELS["sharpen"].tolist()
    assert parse_kernel("[1, 0, -1]").shape == (1, 3)
    assert np.allclose(parse_kernel("1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9"),
                       PRESET_KERNELS["box blur 3×3"])
    # decimal commas between spaced numbers (a locale review: read as 0 1 0 1 0 1)
    assert parse_kernel("0,1 0,1 0,1\n0,1 0,2 0,1\n0,1 0,1 0,1").tolist()[1] == [0.1, 0.2, 0.1]
    assert parse_kernel("-0,25 0 0,25").tolist() == [[-0.25, 0, 0.25]]
    assert parse_kernel("1, 0, -1").tolist() == [[1, 0, -1]]  # commas with spaces separate
    # separators still, as before the rule (a review): two commas, a point, a sign, a fraction
    assert parse_kernel("1,0,-1 2,0,-2").shape == (1, 6)
    assert parse_kernel("0.5,0.5 0.5,0.5").tolist() == [[0.5] * 4]
    assert parse_kernel("1,-1 0,0").tolist() == [[1, -1, 0, 0]]
    assert np.allclose(parse_kernel("1/9,1/9 1/9"), [[1 / 9] * 3])


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("1,2,3; 4,5", "row 2 has 2 numbers but row 1 has 3"),
    ("1, x, 3", "'x' is not a number"),
    ("[[1, 2], [3", "not valid JSON"),
    ('[[1, "a"]]', "not a number"),
    ("1/0", "not a number"),
    (";".join(["1," * 15 + "1"] * 16), "at most 15"),
])
def test_parse_kernel_errors_say_what_to_fix(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_kernel(text)


# ---------------------------------------------------------------------------
# Learned filters
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(3)
    backbone = keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Conv2D(6, 3, padding="same", name="stem"),
        keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw"),
        keras.layers.SeparableConv2D(4, 5, padding="same", name="sep"),
        keras.layers.Conv2D(3, 1, name="mix"),
    ], name="backbone")
    inp = keras.Input((16, 16, 3), name="image")
    x = backbone(keras.layers.Rescaling(1 / 255, name="rescaling")(inp))
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inp, out), backbone


def test_filter_tiles_shape_range_and_content(tiny_model):
    model, backbone = tiny_model
    tiles = filter_tiles(model)
    assert tiles.shape == (6, 3, 3, 3) and tiles.dtype == np.float32
    assert tiles.min() >= 0 and tiles.max() <= 1
    assert np.allclose(tiles.min(axis=(1, 2, 3)), 0) and np.allclose(tiles.max(axis=(1, 2, 3)), 1)
    kernel = backbone.get_layer("stem").kernel.numpy()          # (kh, kw, in, out)
    k0 = kernel[:, :, :, 0]
    assert np.allclose(tiles[0], (k0 - k0.min()) / (k0.max() - k0.min()), atol=1e-6)
    glob = filter_tiles(model, "backbone/stem", normalize="global")
    assert glob.min() == 0 and glob.max() == 1
    grey = filter_tiles(model, "dw")  # each depthwise filter sees one channel: shown grey
    assert grey.shape == (12, 3, 3, 3) and np.all(grey[..., 0] == grey[..., 2])
    with pytest.raises(ConfigError, match="sees 4 channels"):
        filter_tiles(model, "mix")
    with pytest.raises(ConfigError, match="no layer"):
        filter_tiles(model, "nope")


def test_filter_channels_follow_keras_channel_order(tiny_model):
    """Each depthwise filter, slid over its own input channel, reproduces Keras' output."""
    model, backbone = tiny_model
    conv = filter_channels(model, "stem")
    assert conv.shape == (6, 3, 3, 3)
    dw_layer = backbone.get_layer("dw")
    dw = filter_channels(model, "dw")
    assert dw.shape == (12, 1, 3, 3)
    x = np.random.default_rng(1).normal(size=(16, 16, 6)).astype(np.float32)
    y = dw_layer(x[None]).numpy()[0] - dw_layer.bias.numpy()
    for o in range(12):
        mine = apply_kernel(x[:, :, o // 2], dw[o, 0]).output
        assert np.allclose(mine, y[:, :, o], atol=1e-4), o
    assert filter_channels(model, "sep").shape == (12, 1, 5, 5)
    with pytest.raises(ConfigError, match="not a 2-D convolution"):
        filter_channels(model, "rescaling")


def test_grouped_convolutions_say_which_channels_each_filter_sees():
    """ConvNeXt writes its depthwise convolutions as Conv2D(groups=96): the Kernels tab said
    "the layer has one input channel" of a 96-channel input, and the Layers tab's "96 filters
    of 7×7×1 weights" left 7·7·96·96 unexplained (a review)."""
    import keras

    from core.insight.layers import inspect_layers
    from gui.pages.network.kernels_tab import kernel_view

    inp = keras.Input((8, 8, 6))
    x = keras.layers.Conv2D(6, 3, groups=6, name="dw")(inp)
    x = keras.layers.Conv2D(4, 3, groups=2, name="g2")(x)
    model = keras.Model(inp, x)
    rows = {r.path: r for r in inspect_layers(model).rows}
    assert "each looking at its own one of the 6 channels (groups = 6: a depthwise " \
           "convolution, no mixing across channels)" in rows["dw"].params_note
    assert "in 2 groups: each filter sees 3 of the 6 channels of its group" \
        in rows["g2"].params_note
    dw = kernel_view(model, "dw", "channels").caption
    assert "one input channel" not in dw
    assert dw.startswith("6 filters of 3×3 each on 1 of the 6 channels: one square per "
                         "filter, each filter looking at its own one of the 6 input channels")
    g2 = kernel_view(model, "g2", "channels").caption
    assert g2.startswith("4 filters of 3×3 each on 3 of the 6 channels: one row per filter, "
                         "one square per channel of its group: the 2 groups each see 3")


def test_same_padding_split_is_given_per_axis_when_the_axes_differ():
    """A 160×120 photo, 4×4 kernel, stride 3: the line gave H's split (0 before, 1 after)
    right after the W formula, where TensorFlow adds 1 and 2 (a review)."""
    import tensorflow as tf

    from core.insight.formulas import same_padding_pixels

    img = np.random.default_rng(0).random((120, 160))
    res = apply_kernel(img, np.ones((4, 4)), padding="same", stride=3)
    assert same_padding_pixels(120, 4, 3) == (0, 1) and same_padding_pixels(160, 4, 3) == (1, 2)
    assert res.formula_text.endswith("TensorFlow really adds 0 zero(s) at the top, 1 at the "
                                     "bottom, 1 at the left and 2 at the right)")
    # the split said is TensorFlow's own: padding by hand then "valid" gives its answer
    x = tf.constant(img[None, :, :, None], tf.float32)
    k = tf.ones((4, 4, 1, 1))
    same = tf.nn.conv2d(x, k, 3, "SAME")
    by_hand = tf.nn.conv2d(tf.pad(x, [[0, 0], [0, 1], [1, 2], [0, 0]]), k, 3, "VALID")
    np.testing.assert_allclose(same.numpy(), by_hand.numpy(), rtol=1e-5)
    np.testing.assert_allclose(res.output, same.numpy()[0, :, :, 0], rtol=1e-4, atol=1e-4)


def test_the_layers_tab_gives_the_same_split_per_axis():
    """The Layers tab said "adds 0 zero(s) before and 1 after" of a 97×150 map, 4×4 kernel at
    stride 3, whose H gets 1 before and 2 after (a review)."""
    import keras

    from core.insight.layers import inspect_layers
    from gui.pages.network.layers_tab import explain_row

    inp = keras.Input((97, 150, 3))
    x = keras.layers.Conv2D(2, 4, strides=3, padding="same", name="even_k_s3")(inp)
    rows = {r.path: r for r in inspect_layers(keras.Model(inp, x)).rows}
    said = explain_row(rows["even_k_s3"], (97, 150))
    assert "“same” here adds 1 zero(s) at the top, 2 at the bottom, 0 at the left and 1 at " \
           "the right" in said


def test_same_padding_that_adds_fewer_zeros_than_the_textbook_p_says_so():
    """A 3×3 kernel at stride 4 on 160 pixels (the playground's size) gets no zeros at all
    and 5×5 at stride 3 on 12 pixels 1 on each side, where the formula's P reads 1 and 2:
    the note on where TensorFlow's zeros go came only when the two sides differed (a review)."""
    import tensorflow as tf

    from core.insight.formulas import same_padding_pixels

    img = np.random.default_rng(0).random((160, 160))
    res = apply_kernel(img, PRESET_KERNELS["edge"], padding="same", stride=4)
    assert same_padding_pixels(160, 3, 4) == (0, 0)
    assert res.formula_text == ("⌊(160 − 3 + 2·1)/4⌋ + 1 = 40 (the textbook's P; TensorFlow "
                                "really adds no zeros)")
    x = tf.constant(img[None, :, :, None], tf.float32)  # no zeros: "valid" is TensorFlow's answer
    k = tf.constant(PRESET_KERNELS["edge"][:, :, None, None], tf.float32)
    assert np.allclose(tf.nn.conv2d(x, k, 4, "SAME")[0, :, :, 0], res.output, atol=1e-3)
    assert np.allclose(tf.nn.conv2d(x, k, 4, "VALID")[0, :, :, 0], res.output, atol=1e-3)
    twelve = apply_kernel(np.zeros((12, 12)), np.ones((5, 5)), padding="same", stride=3)
    assert twelve.formula_text.endswith("(the textbook's P; TensorFlow really adds 1 zero(s) "
                                        "on every side)")
    assert "really" not in apply_kernel(img, np.ones((3, 3)), padding="same", stride=3).formula_text


def test_the_layers_tab_says_when_same_adds_fewer_zeros_than_the_formulas_p():
    """The Layers tab's sentence on where "same" puts its zeros came only for an uneven
    split: a 5×5 convolution at stride 3 on 12×12 (1 zero each side, P = 2) and a 3×3
    pooling at stride 4 on 8×8 (no cells past the edge, P = 1) had none (a review)."""
    import keras

    from core.insight.layers import inspect_layers
    from gui.pages.network.layers_tab import explain_row

    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(2, 5, strides=3, padding="same", name="conv")(inputs)
    x = keras.layers.ZeroPadding2D(2, name="pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=4, padding="same", name="pool")(x)
    rows = {r.path: r for r in inspect_layers(keras.Model(inputs, x)).rows}
    assert rows["pool"].input_shape[1:3] == (8, 8)
    assert ("“same” here adds 1 zero(s) on every side (the formula's P is the textbook's, "
            "which gives the same size).") in explain_row(rows["conv"], (12, 12))
    assert ("“same” here needs no cells past the edge at this size and stride (the formula's "
            "P is the textbook's, which gives the same size).") in explain_row(rows["pool"], (12, 12))
