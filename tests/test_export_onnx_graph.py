"""core.export.onnx_graph: pieces of the catalogue's backbones that tf2onnx left unrunnable.

An every-backbone review: the ONNX files of EfficientNet B0-B3 and V2 (a Normalization
layer's fixed mean and variance became missing graph inputs), DenseNet121 (the app's own
"torch" Normalization) and ConvNeXtTiny (its one-group-per-channel Conv2D left as an XLA
call, its exact GELU as Erfc) would not run in onnxruntime.  This model holds all three.
"""

import numpy as np


def _model():
    import keras

    inputs = keras.Input((12, 12, 3), name="image")
    x = keras.layers.Normalization(mean=[120.0, 110.0, 100.0], variance=[900.0, 800.0, 700.0],
                                   name="norm")(inputs)
    x = keras.layers.Conv2D(6, 3, padding="same", name="widen")(x)
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", groups=6, name="depthwise")(x)
    x = keras.layers.Activation("gelu", name="gelu")(x)
    x = keras.layers.Dense(6, activation="gelu", name="dense_gelu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="scores")(x))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) if w.ndim > 1 else w
                       for w in model.get_weights()])
    return model


def test_the_onnx_file_runs_and_answers_like_the_model(tmp_path):
    import keras
    import onnxruntime as ort
    import tensorflow as tf

    from core.export.onnx_graph import onnx_traceable

    model = _model()
    images = np.random.default_rng(1).uniform(0, 255, (4, 12, 12, 3)).astype(np.float32)
    expected = model.predict(images, verbose=0)
    spec = [tf.TensorSpec([None, 12, 12, 3], tf.float32, name="image")]
    with onnx_traceable(model):
        model.export(str(tmp_path / "m.onnx"), format="onnx", input_signature=spec,
                     verbose=False)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    assert [i.name for i in session.get_inputs()] == ["image"]
    got = session.run(None, {"image": images})[0]
    assert np.abs(got - expected).max() < 1e-5

    # the model is as it was: its own mean, its own call, Keras' GELU
    assert not isinstance(model.get_layer("norm").mean, np.ndarray)
    assert "call" not in model.get_layer("depthwise").__dict__
    assert model.get_layer("gelu").activation is keras.activations.gelu
    assert model.get_layer("dense_gelu").activation is keras.activations.gelu
    assert np.allclose(model.predict(images, verbose=0), expected)
