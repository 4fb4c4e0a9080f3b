"""Activation curves: values equal Keras', derivatives equal finite differences."""

import numpy as np
import pytest

from core.insight.activations import ACTIVATIONS, activations_in, curve
from core.errors import ConfigError

# Points away from the kinks (0, ±3, 6) where one-sided slopes differ.
X = np.concatenate([np.linspace(-7.9, -3.1, 9), np.linspace(-2.9, -0.1, 9),
                    np.linspace(0.1, 2.9, 9), np.linspace(3.1, 5.9, 9), np.linspace(6.1, 8, 5)])


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_derivative_matches_finite_differences(name):
    h = 1e-5
    y, dy = curve(name, X)
    numeric = (curve(name, X + h)[0] - curve(name, X - h)[0]) / (2 * h)
    assert y.shape == dy.shape == X.shape
    assert np.allclose(dy, numeric, atol=1e-6), name


KERAS_NAME = {"swish": "silu", "hard_swish": "hard_silu"}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_values_match_keras(name):
    keras = pytest.importorskip("keras")
    fn = getattr(keras.activations, KERAS_NAME.get(name, name))
    want = keras.ops.convert_to_numpy(fn(X.astype("float32")))
    assert np.allclose(curve(name, X)[0], want, atol=1e-5), name


def test_the_vanishing_gradient_lesson():
    x = np.array([-6.0, 6.0])
    assert np.all(curve("sigmoid", x)[1] < 0.003) and np.all(curve("tanh", x)[1] < 0.0001)
    assert curve("sigmoid", np.array([0.0]))[1][0] == pytest.approx(0.25)
    assert curve("relu", np.array([6.0]))[1][0] == 1.0
    assert curve("silu", np.array([1.0]))[0][0] == curve("swish", np.array([1.0]))[0][0]
    with pytest.raises(ConfigError, match="unknown activation"):
        curve("softsign2", X)


def test_activations_in_reads_layer_configs():
    keras = pytest.importorskip("keras")
    inner = keras.Sequential([keras.Input((8, 8, 3)),
                              keras.layers.Conv2D(2, 3, activation="swish"),
                              keras.layers.ReLU(max_value=6.0),
                              keras.layers.LeakyReLU(),
                              keras.layers.Activation("gelu"),
                              keras.layers.Conv2D(2, 1)], name="backbone")
    inp = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(inner(inp))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(x))
    assert activations_in(model) == ["swish", "relu6", "leaky_relu", "gelu"]
    assert activations_in(model, include_other=True)[-1] == "softmax"


@pytest.mark.slow
def test_activations_of_real_backbones():
    keras = pytest.importorskip("keras")
    mobilenet = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                               include_top=False, weights=None)
    assert activations_in(mobilenet) == ["relu6"]
    efficientnet = keras.applications.EfficientNetB0(input_shape=(32, 32, 3), include_top=False,
                                                     weights=None)
    assert "swish" in activations_in(efficientnet) and "sigmoid" in activations_in(efficientnet)
