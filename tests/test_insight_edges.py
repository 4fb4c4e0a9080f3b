"""Models the Network page meets beyond the app's own: grayscale inputs, and backbones whose
preprocessing turns RGB into BGR (VGG16, ResNet50) ahead of the first convolution."""

import numpy as np


def _gray_model():
    import keras

    inp = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, name="c1")(inp)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inp, out)


def test_a_grayscale_model_gets_grey_pixels_from_a_colour_image():
    """A 1-channel model failed with a raw Keras error: colour images were never made grey."""
    from core.insight.feature_maps import prepare_images

    rgb = np.zeros((28, 28, 3), np.uint8)
    rgb[..., 1] = 200  # pure green
    x = prepare_images(_gray_model(), rgb)
    assert x.shape == (1, 28, 28, 1)
    np.testing.assert_allclose(x[0, 0, 0, 0], 0.587 * 200, rtol=1e-5)


def test_the_first_filters_behind_caffe_preprocessing_are_shown_in_rgb_order():
    """VGG16 and ResNet50 turn RGB into BGR first: a filter that weighs the blue input was
    drawn (and labelled, and used by the playground) as red."""
    import keras

    from core.insight.kernels import filter_channels, filter_tiles

    inp = keras.Input((8, 8, 3))
    bgr = keras.layers.Dense(3, name="preprocess_caffe", trainable=False)(inp)
    conv = keras.layers.Conv2D(2, 3, name="block1_conv1")
    model = keras.Model(inp, conv(bgr))
    bgr_layer = model.get_layer("preprocess_caffe")
    bgr_layer.set_weights([np.eye(3)[::-1].astype(np.float32), np.zeros(3, np.float32)])
    k = np.zeros((3, 3, 3, 2), np.float32)
    k[1, 1, 0, 0] = 1.0  # filter 0 weighs input channel 0, which is blue after the swap
    conv.set_weights([k, np.zeros(2, np.float32)])
    blue = np.zeros((1, 8, 8, 3), np.float32)
    blue[..., 2] = 1.0
    assert model(blue).numpy()[0, 3, 3, 0] == 1.0  # the filter answers to blue pixels ...
    ch = filter_channels(model)
    assert ch[0, 2, 1, 1] == 1.0 and ch[0, 0, 1, 1] == 0.0  # ... and is shown as blue
    tile = filter_tiles(model)[0, 1, 1]
    assert tile[2] == 1.0 and tile[0] == 0.0

    plain = keras.Model(inp, keras.layers.Conv2D(2, 3, name="c")(inp))  # no swap, no change
    plain.get_layer("c").set_weights([k, np.zeros(2, np.float32)])
    assert filter_channels(plain)[0, 0, 1, 1] == 1.0


def _measured_field(model, size=32):
    """The widest input window a central output of ``model`` depends on, by its gradient
    (after a stride-2 transposed convolution, odd and even positions see different spans)."""
    import tensorflow as tf

    extent = [0, 0]
    for dh in (0, 1):
        for dw in (0, 1):
            x = tf.Variable(tf.random.normal((1, size, size, 1)))
            with tf.GradientTape() as tape:
                y = model(x)
                target = tf.reduce_sum(y[0, y.shape[1] // 2 + dh, y.shape[2] // 2 + dw])
            g = np.abs(tape.gradient(target, x).numpy()[0, :, :, 0]) > 0
            rows, cols = np.flatnonzero(g.any(axis=1)), np.flatnonzero(g.any(axis=0))
            extent = [max(extent[0], int(rows[-1] - rows[0] + 1)),
                      max(extent[1], int(cols[-1] - cols[0] + 1))]
    return tuple(extent)


def test_receptive_fields_per_axis_and_through_a_transposed_convolution():
    """A 1×7 kernel was said to see 7×7 pixels; a transposed convolution's kernel was left
    out of the field (5 where the gradient says 7)."""
    import keras

    from core.insight.layers import inspect_layers

    def ones(shape, dtype=None):
        return keras.ops.ones(shape, dtype)

    inp = keras.Input((32, 32, 1))
    a = keras.layers.Conv2D(1, (1, 7), padding="same", kernel_initializer=ones, name="wide")(inp)
    b = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", kernel_initializer=ones,
                                     name="up")(keras.layers.Conv2D(1, 3, name="c",
                                                                    kernel_initializer=ones)(a))
    out = keras.layers.Conv2D(1, 3, kernel_initializer=ones, name="after")(b)
    rows = {r.name: r for r in inspect_layers(keras.Model(inp, out)).rows}
    assert rows["wide"].receptive_size == _measured_field(keras.Model(inp, a)) == (1, 7)
    assert rows["after"].receptive_size == _measured_field(keras.Model(inp, out))


def test_a_saved_sequential_model_is_walked_on_its_own_graph(tmp_path):
    """Keras rebuilds a loaded Sequential model, so its layers carry stale calls: the first
    was taken, giving receptive fields of 2 where 4 is right, and Grad-CAM and the feature
    maps failed ("Attempt to convert a value (None)", "not connected to inputs")."""
    import keras

    from core.insight.feature_maps import Tap, listable_layers
    from core.insight.gradcam import default_layer, grad_cam
    from core.insight.layers import inspect_layers

    inner = keras.Sequential([keras.layers.RandomFlip("horizontal", name="flip")],
                             name="augment")
    model = keras.Sequential([keras.Input((32, 32, 3)), inner,
                              keras.layers.Conv2D(4, 3, name="c1"),
                              keras.layers.AveragePooling2D(2, name="p1"),
                              keras.layers.Conv2D(4, 3, strides=2, padding="same", name="c2"),
                              keras.layers.GlobalAveragePooling2D(name="gap"),
                              keras.layers.Dense(2, activation="softmax", name="out")])
    model.save(tmp_path / "seq.keras")
    loaded = keras.saving.load_model(tmp_path / "seq.keras", compile=False)
    fields = {r.name: r.receptive_field for r in inspect_layers(loaded).rows}
    assert (fields["c1"], fields["p1"], fields["c2"]) == (3, 4, 8)
    image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    assert default_layer(loaded) == "c2"
    assert grad_cam(loaded, image).heatmap.shape == (8, 8)
    for path, _kind, _shape in listable_layers(loaded):
        feat, _out = Tap(loaded, path)(image[None].astype(np.float32))
        assert feat.shape[0] == 1


def test_a_plain_convolution_on_one_channel_is_not_called_depthwise():
    """The caption said "depthwise: no mixing across channels" for any layer whose filters
    had one input channel, such as a Conv2D on a greyscale image."""
    from gui.pages.network.kernels_tab import kernel_view

    caption = kernel_view(_gray_model(), "c1", "channels").caption
    assert "depthwise" not in caption and "one square per filter" in caption


def test_a_model_of_any_input_size_says_so_and_at_what_size_maps_are_drawn(tmp_path):
    """The page said "input None×None" and drew the maps at 224 px without a word."""
    import keras

    from core.insight.explorer import NetworkSpec
    from gui.pages.network.page import ModelSource

    inp = keras.Input((None, None, 3))
    out = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inp))
    source = ModelSource(NetworkSpec("file", path=str(tmp_path / "m.keras")), ("x",))
    text = source.describe(keras.Model(inp, out))
    assert "None" not in text and "any size (the maps are drawn at 224×224)" in text


def test_zeros_in_feature_maps_are_put_down_to_their_real_cause():
    """"x % are exactly 0 (switched off by the activation)" stood under ResNet50's padding
    layer and linear convolutions, which have no activation (a Network page review)."""
    import keras

    from core.insight.feature_maps import zeros_cause

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.ZeroPadding2D(name="pad")(inputs)
    x = keras.layers.Conv2D(4, 3, name="linear")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_relu")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    model = keras.Model(inputs, x)
    assert zeros_cause(model, "pad", "ZeroPadding2D").startswith(
        "the zeros added around the border")
    assert zeros_cause(model, "linear", "Conv2D") == "already 0 in this layer's input"
    assert zeros_cause(model, "relu", "ReLU") == "switched off by the activation"
    assert zeros_cause(model, "conv_relu", "Conv2D") == "switched off by the activation"
    assert zeros_cause(model, "pool", "MaxPooling2D") == "already 0 in this layer's input"


def test_layer_sentences_a_teacher_can_say_aloud():
    """Pooling rows read "would need 86,973,235,200 weights ()"; a batch norm without γ
    (InceptionV3) was said to learn γ; the class scores "see a 619×619 window" of a 160 px
    image, "neighbouring outputs 32 pixels apart" (a Network page review)."""
    import keras

    from core.insight.layers import inspect_layers
    from gui.pages.network.layers_tab import explain_row, input_size

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(scale=False, name="bn")(x)
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Conv2D(8, 7, padding="same", dilation_rate=3, name="wide")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(3, activation="softmax", name="scores")(x)
    rows = {r.path: r for r in inspect_layers(keras.Model(inputs, x)).rows}
    size = input_size(list(rows.values()))
    assert size == (32, 32)
    pool = explain_row(rows["pool"], size)
    assert "Parameters: none (no weights: a fixed max/average over each window)." in pool
    assert "()" not in pool and "this one needs none." in pool
    assert rows["bn"].params_formula == "β 8 + mean 8 + variance 8 = 24"
    assert "β (offset) can be learned" in explain_row(rows["bn"], size)
    assert "γ" not in explain_row(rows["bn"], size)
    scores = explain_row(rows["scores"], size)
    assert "wider than the 32×32 image: every output sees all of it" in scores
    assert "neighbouring" not in scores
    conv = explain_row(rows["conv"], size)
    assert "neighbouring outputs are 2 pixel(s) apart" in conv
    # "same" at stride 2 on 32 px: 0 zeros before, 1 after, not "P = ½ on each side"
    assert "“same” here adds 0 zero(s) at the top and left, 1 at the bottom and right" in conv


def test_a_window_past_a_squeeze_and_excitation_gate_says_what_it_leaves_out():
    """EfficientNet's block2a_se_excite "sees an 11×11 window" one row under its gate's
    "135×135", with no word that the gate (the whole image) is left out (a review)."""
    import keras

    from core.insight.layers import inspect_layers
    from gui.pages.network.layers_tab import explain_row

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    s = keras.layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(x)
    s = keras.layers.Conv2D(4, 1, activation="sigmoid", name="gate")(s)
    x = keras.layers.Multiply(name="excite")([x, s])
    x = keras.layers.Conv2D(4, 3, padding="same", name="after")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    rows = {r.path: r for r in inspect_layers(keras.Model(inputs, x)).rows}
    assert not rows["conv"].gate_left_out and not rows["squeeze"].gate_left_out
    assert rows["excite"].gate_left_out and rows["after"].gate_left_out
    assert rows["excite"].receptive_field == 3 and rows["after"].receptive_field == 5
    assert not rows["pool"].gate_left_out  # the whole map: nothing left unsaid
    said = explain_row(rows["excite"], 16)
    assert "the squeeze-and-excitation gate of this or an earlier block averages the whole "\
           "image" in said
    assert "squeeze-and-excitation" not in explain_row(rows["conv"], 16)


def test_flat_feature_maps_are_drawn_apart_and_counted():
    """A channel with one value everywhere (0.899, or a dead 0) was drawn dark purple, as
    "its lowest", the same as a quiet channel (a Network page review)."""
    import numpy as np

    from core.insight.feature_maps import tile_maps
    from gui.pages.network.maps_tab import FLAT, MapView
    from gui.pages.network.tile_grid import TileLayout

    maps = np.random.default_rng(0).random((4, 4, 4)).astype(np.float32)
    maps[:, :, 1] = 0.899
    maps[:, :, 3] = 0.0
    grid = tile_maps(maps)
    assert grid.flat == [1, 3]
    layout = TileLayout(count=4, rows=2, cols=2, tile_h=4, tile_w=4)
    view = MapView("relu", "ReLU", 0, 1, "x.png", np.zeros((4, 4, 3), np.uint8), maps,
                   np.zeros((9, 9, 3), np.uint8), layout, flat=grid.flat)
    assert view.caption().endswith(
        "2 of the channels shown are flat, one value everywhere (drawn grey), 1 of them 0.")
    assert FLAT == (128, 128, 128)


def test_the_preprocessing_layers_say_what_they_do():
    """ResNet50's preprocess_caffe read "3 outputs at every position, each joining the 3
    channels there (a 1×1 convolution)", never that it swaps RGB to BGR (a review)."""
    from core.config import StudioConfig
    from core.insight.architecture import build_untrained
    from core.insight.layers import inspect_layers

    cfg = StudioConfig().model
    cfg.backbone, cfg.image_size, cfg.weights = "ResNet50", 32, "none"
    rows = {r.path.rsplit("/", 1)[-1]: r for r in inspect_layers(build_untrained(cfg, 2)).rows}
    assert rows["preprocess_caffe"].params_note.startswith(
        "the pixels as the backbone was trained on them: RGB turned to BGR (so channel 1 is blue)")


def test_layer_names_from_a_model_file_are_shown_as_written(qtbot):
    """A model file's layer names are the file author's: "<b>conv&amp;1" was shown in bold as
    "conv&1" by the Network page's row sentence and map caption, and the Model page's layer
    tooltip and "From layer:" read it as HTML (note 23's leftover)."""
    import keras
    import numpy as np
    from PySide6.QtGui import QTextDocument

    from core.insight.layers import inspect_layers
    from core.model.layer_table import LayerRow
    from gui.pages.model.layer_tree import LayerTree
    from gui.pages.network.layers_tab import explain_row
    from gui.pages.network.maps_tab import MapView
    from gui.pages.network.tile_grid import TileLayout

    def shown(rich: str) -> str:
        doc = QTextDocument()
        doc.setHtml(rich)
        return doc.toPlainText()

    name = "<b>conv&amp;1"
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, name=name)(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="scores")(x))
    row = {r.path: r for r in inspect_layers(model).rows}[name]
    assert shown(explain_row(row, 8)).startswith(f"{name} (Conv2D).")
    view = MapView(name, "Conv2D", 1, 4, "x.png", np.zeros((8, 8, 3), np.uint8),
                   np.ones((6, 6, 2), np.float32), np.zeros((6, 6, 3), np.uint8),
                   TileLayout(2, 1, 2, 6, 6))
    assert f"Layer 2 of 4: {name} (Conv2D) gives 6×6×2" in shown(view.caption())
    tree = LayerTree()
    qtbot.addWidget(tree)
    tree.build([LayerRow(name, "Conv2D", "(None, 6, 6, 2)", 56, True, "block_1")],
               frozenset({name}))
    item = next(i for i in tree.layer_items() if i.text(0) == name)
    assert shown(item.toolTip(0)).startswith(name + "\n")


def _support(model, at, size):
    """The image rows and columns (first, last) the value at ``at`` of ``model``'s output
    depends on, by its gradient."""
    import tensorflow as tf

    x = tf.Variable(tf.random.normal((1,) + size + (1,)))
    with tf.GradientTape() as tape:
        y = model(x)
        target = tf.reduce_sum(y[(0,) + at] if at else y[0])
    g = np.abs(tape.gradient(target, x).numpy()[0, :, :, 0]) > 0
    rows, cols = np.flatnonzero(g.any(axis=1)), np.flatnonzero(g.any(axis=0))
    return (int(rows[0]), int(rows[-1])), (int(cols[0]), int(cols[-1]))


def test_a_window_wider_than_the_image_is_not_said_to_see_all_of_it():
    """"Larger than the 97×97 image: it sees all of it" of MobileNetV2's block_7_depthwise,
    whose corner output sees rows and columns 0–53 only; and of a "valid" network's pooled
    output that never sees the image's last 2 rows and columns (a review)."""
    import keras

    from core.insight.layers import inspect_layers
    from gui.pages.network.layers_tab import explain_row, input_size

    inp = keras.Input((20, 20, 1))
    x = inp
    for i in range(4):
        x = keras.layers.Conv2D(1, 7, padding="same", name=f"c{i}")(x)
    model = keras.Model(inp, x)
    rows = {r.path: r for r in inspect_layers(model).rows}
    last = rows["c3"]
    assert last.receptive_size == (25, 25)
    assert last.seen_first == _support(model, (0, 0), (20, 20)) == ((0, 12), (0, 12))
    assert last.seen_last == _support(model, (19, 19), (20, 20))
    said = explain_row(last, input_size(list(rows.values())))
    assert "it sees all of it" not in said and "every output sees" not in said
    assert "only outputs near the centre see all of it: the top-left one sees rows and " \
           "columns 0–12" in said

    seq = keras.Sequential([keras.Input((61, 61, 1)), keras.layers.Conv2D(4, 5, strides=2),
                            keras.layers.AveragePooling2D(2),  # a max's gradient: one cell
                            keras.layers.Conv2D(6, 3, padding="same"),
                            keras.layers.GlobalAveragePooling2D(name="d")])
    rows = inspect_layers(seq).rows
    pooled = next(r for r in rows if r.name == "d")
    assert pooled.seen_any == pooled.seen_first == _support(seq, (), (61, 61)) \
        == ((0, 58), (0, 58))
    said = explain_row(pooled, input_size(rows))
    assert "every output sees every pixel any output sees" in said
    assert "no output depends on image rows 59–60 or columns 59–60" in said


def test_an_any_size_models_global_pooling_sees_the_whole_image():
    """Input None×None: the global pooling and the classifier "saw a 5×5 pixel window" (the
    layer before's), and an up-sampling kept neighbours 1 pixel apart, not ½ (a review)."""
    import keras

    from core.insight.layers import inspect_layers
    from gui.pages.network.layers_tab import explain_row, input_size, receptive_text

    i = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(2, 3, strides=2, padding="same", name="down")(i)
    x = keras.layers.UpSampling2D(2, name="ups")(x)
    x = keras.layers.Conv2D(2, 1, name="pw")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    info = inspect_layers(keras.Model(i, keras.layers.Dense(3, name="out")(x)))
    rows = {r.path: r for r in info.rows}
    assert rows["ups"].jump_size == (1, 1) and rows["pw"].receptive_size == (3, 3)
    for name in ("gap", "out"):
        row = rows[name]
        assert row.receptive_whole and row.receptive_field is None
        assert receptive_text(row) == "the whole image"
        said = explain_row(row, input_size(info.rows))
        assert "depends on every pixel of the image, whatever its size" in said
        assert "5×5" not in said and "3×3" not in said
    gap_line = next(line for line in info.to_text().splitlines() if line.startswith("gap "))
    assert gap_line.split()[-1] == "all"


def test_same_pooling_is_not_said_to_add_zeros():
    """Xception's block2_pool (max 3×3/2 "same" after a batch norm, often negative) read
    "“same” here adds 0 zero(s) before and 1 after": TensorFlow leaves the cells past the
    edge out of the max (and out of an average), it adds no zeros (a review)."""
    import keras
    import tensorflow as tf

    from core.insight.layers import inspect_layers
    from gui.pages.network.layers_tab import explain_row

    inp = keras.Input((46, 46, 1))
    mx = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="mp")(inp)
    av = keras.layers.AveragePooling2D(3, strides=2, padding="same", name="ap")(inp)
    model = keras.Model(inp, [mx, av])
    low = -np.ones((1, 46, 46, 1), np.float32)
    got_max, got_avg = (t.numpy() for t in model(tf.constant(low)))
    assert np.all(got_max == -1) and np.allclose(got_avg, -1)  # no zero reached either
    rows = {r.path: r for r in inspect_layers(model).rows}
    for name, what in (("mp", "max"), ("ap", "average")):
        said = explain_row(rows[name], (46, 46))
        assert "adds" not in said
        assert ("“same” here lets the window run past the edge by 0 cell(s) at the top and "
                f"left, 1 at the bottom and right: those cells are left out of the {what}, "
                "not counted as zeros") in said


def test_a_padding_layers_zeros_are_split_between_its_border_and_its_input(tmp_path):
    """MobileNetV2's block_1_pad: "63% are exactly 0 (the zeros added around the border)"
    where the border is 8% and the rest were already 0 after the ReLU before (a review)."""
    import keras
    from PIL import Image

    from core.insight.feature_maps import FeatureMapProbe
    from gui.pages.network.maps_tab import feature_map_view

    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 1, activation="relu", name="conv")
    x = keras.layers.ZeroPadding2D(1, name="pad")(conv(inputs))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    kernel = np.zeros((1, 1, 3, 4), np.float32)
    kernel[..., :2], kernel[..., 2:] = 1.0, -1.0  # channels 2 and 3: 0 after the ReLU
    conv.set_weights([kernel, np.zeros(4, np.float32)])
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((8, 8, 3), 120, np.uint8)).save(path)
    probe = FeatureMapProbe(model)
    index = next(i for i, (name, _k, _s) in enumerate(probe.layers) if name == "pad")
    view = feature_map_view(probe, str(path), index)
    assert float(np.mean(view.maps == 0)) == 0.68  # 36 of 100 border, 64·½ of 100 inside
    assert "68% are exactly 0: 36% are the zeros added around the border, 32% were " \
           "already 0 in its input" in view.caption()


def test_a_model_with_a_non_square_input(tmp_path):
    """A 97×150 model: "larger than the 97×97 image", neighbours "24 pixels apart" where they
    are 12 down, and its feature maps were of a picture resized to 97×97 and then stretched
    to 97×150 (a review)."""
    import keras
    from PIL import Image

    from core.data.imageio import load_rgb
    from core.insight.feature_maps import FeatureMapProbe
    from core.insight.layers import inspect_layers
    from gui.pages.network.layers_tab import explain_row, input_size
    from gui.pages.network.maps_tab import feature_map_view

    inputs = keras.Input((12, 20, 3))
    x = keras.layers.Conv2D(2, 3, strides=(1, 2), padding="same", name="wide")(inputs)
    x = keras.layers.Conv2D(2, 11, strides=2, padding="same", name="deep")(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="gap")(x))
    info = inspect_layers(model)
    rows = {r.path: r for r in info.rows}
    assert input_size(info.rows) == (12, 20)
    said = explain_row(rows["deep"], input_size(info.rows))
    assert "wider than the 12×20 image" in said and "12×12" not in said
    assert rows["deep"].jump_size == (2, 4)
    assert "neighbouring outputs are 2 pixel(s) apart down and 4 across" in said

    picture = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    path = tmp_path / "wide.png"
    Image.fromarray(picture).save(path)
    probe = FeatureMapProbe(model)
    index = next(i for i, (name, _k, _s) in enumerate(probe.layers) if name == "wide")
    view = feature_map_view(probe, str(path), index)
    once = load_rgb(path, (20, 12))  # (width, height): resized once, to the model's size
    assert view.image.shape == (12, 20, 3) and np.array_equal(view.image, once)
    np.testing.assert_allclose(view.maps, probe.maps(once, "wide"), rtol=1e-5, atol=1e-5)
