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
