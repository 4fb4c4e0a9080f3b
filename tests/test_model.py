"""The classifier: preprocessing parity, structure, mixed precision, freezing, layer table, loading."""

import numpy as np
import pytest

from core.model.backbones import CATALOG, get_backbone
from core.config import FreezeConfig, ModelConfig
from core.errors import ConfigError, ModelFileError
from core.model.build import (apply_freeze, backbone_of, build_model, param_counts,
                              preprocessing_layers)
from core.model.model_files import load_model_file
from core.model.layer_table import layer_table

pytestmark = pytest.mark.usefixtures("eager")  # bookkeeping, not the compiled graph: conftest.eager


def _images(n=2, size=32, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def _prep_model(spec, imagenet=False):
    import keras

    inputs = keras.Input((8, 8, 3), name="image")
    x = inputs
    layers = preprocessing_layers(spec, imagenet)
    for layer in layers:
        x = layer(x)
    model = keras.Model(inputs, x)
    for layer in layers:
        if layer.name == "preprocess_caffe":
            from core.model.build import _caffe_weights

            layer.set_weights(_caffe_weights())
    return model


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_preprocessing_inside_matches_keras_preprocess_input(name):
    import keras

    spec = CATALOG[name]
    module = getattr(keras.applications, spec.module)
    x = _images(3, 8, seed=1)
    want = np.asarray(module.preprocess_input(x.copy()))
    got = np.asarray(_prep_model(spec)(x))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    if spec.preprocessing == "inside":
        np.testing.assert_array_equal(want, x)  # the backbone does it itself


@pytest.mark.parametrize("name", ["MobileNetV2", "ResNet50", "DenseNet121"])
def test_preprocessing_layers_survive_a_safe_mode_round_trip(name, tmp_path):
    import keras

    model = _prep_model(get_backbone(name))
    path = tmp_path / "prep.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True, compile=False)
    x = _images(2, 8)
    np.testing.assert_allclose(again(x), model(x), rtol=1e-6)


def test_efficientnet_imagenet_weights_from_a_path_match_keras_own_loading(tmp_path, monkeypatch):
    """Keras adds a rescale to EfficientNet only when it loads ImageNet weights itself."""
    import keras
    from keras.src.utils import file_utils

    from tests.test_weights import _save_legacy_h5

    source = keras.applications.EfficientNetB0(include_top=False, weights=None,
                                               input_shape=(32, 32, 3))
    norm = next(l for l in source.layers if isinstance(l, keras.layers.Normalization))
    norm.set_weights([np.array([0.485, 0.456, 0.406], "float32"),
                      np.array([0.229, 0.224, 0.225], "float32"), np.array(0)])
    path = _save_legacy_h5(source, tmp_path / "efficientnetb0_notop.h5")
    monkeypatch.setattr(file_utils, "get_file", lambda *a, **k: str(path))
    reference = keras.applications.EfficientNetB0(include_top=False, weights="imagenet",
                                                  input_shape=(32, 32, 3))
    ours = build_model(ModelConfig(backbone="EfficientNetB0", weights="imagenet"), 2, 32, str(path))
    features = keras.Model(ours.input, ours.get_layer("avg_pool").output)
    x = _images(2, 32, seed=3)
    want = np.asarray(reference(x)).mean(axis=(1, 2))
    np.testing.assert_allclose(np.asarray(features(x)), want, rtol=1e-3, atol=1e-4)
    assert "imagenet_stddev_fix" in [l.name for l in ours.layers]
    # A user's own file was not necessarily trained with that rescale: no fix then.
    assert preprocessing_layers(get_backbone("EfficientNetB0"), imagenet=False) == []
    # Keras' own ImageNet file chosen by hand (the offline way in) is ImageNet all the same:
    # the same network, or the backbone saw inputs about twice off in scale.
    spec = get_backbone("EfficientNetB0")
    chosen = tmp_path / spec.weights_file
    chosen.write_bytes(path.read_bytes())
    by_file = build_model(ModelConfig(backbone="EfficientNetB0", weights=str(chosen)), 2, 32,
                          str(chosen))
    assert "imagenet_stddev_fix" in [l.name for l in by_file.layers]
    np.testing.assert_allclose(np.asarray(keras.Model(by_file.input, by_file.get_layer(
        "avg_pool").output)(x)), want, rtol=1e-3, atol=1e-4)
    own = tmp_path / "my_backbone.weights.h5"  # any other file: the user's own training
    own.write_bytes(b"x")
    assert "imagenet_stddev_fix" not in [l.name for l in build_model(
        ModelConfig(backbone="EfficientNetB0", weights=str(own)), 2, 32, None).layers]


def test_model_structure_and_output():
    cfg = ModelConfig(backbone="MobileNetV2", weights="none", dropout=0.3, dense_units=16)
    model = build_model(cfg, 4, 32, None)
    assert model.input.shape == (None, 32, 32, 3) and model.input.dtype == "float32"
    names = [l.name for l in model.layers]
    assert names == ["image", "preprocess_tf", "backbone", "avg_pool", "dropout", "dense",
                     "probabilities"]
    assert backbone_of(model).name == "backbone"
    assert model.get_layer("dropout").rate == 0.3
    probs = np.asarray(model(_images(3)))
    assert probs.shape == (3, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ConfigError):
        build_model(cfg, 1, 32, None)


def test_mixed_float16_keeps_preprocessing_and_output_in_float32():
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(ModelConfig(backbone="MobileNetV3Small", weights="none"), 3, 32, None)
        assert model.get_layer("probabilities").compute_dtype == "float32"
        assert backbone_of(model).compute_dtype == "float16"
        out = model(_images(2))
        assert out.dtype == "float32"
        caffe = build_model(ModelConfig(backbone="VGG16", weights="none"), 2, 32, None)
        assert caffe.get_layer("preprocess_caffe").compute_dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_seeded_builds_are_reproducible_and_layer_names_stable():
    import keras

    cfg = ModelConfig(backbone="MobileNetV3Small", weights="none")
    a = build_model(cfg, 3, 32, None, seed=7)
    keras.layers.Activation("relu")  # bump Keras' automatic name counters in between
    keras.layers.ReLU()
    b = build_model(cfg, 3, 32, None, seed=7)
    c = build_model(cfg, 3, 32, None, seed=8)
    wa, wb, wc = (m.get_layer("probabilities").get_weights()[0] for m in (a, b, c))
    np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(wa, wc)
    assert [l.name for l in backbone_of(a).layers] == [l.name for l in backbone_of(b).layers]
    assert "re_lu" in [l.name for l in backbone_of(a).layers]


# -- freezing ---------------------------------------------------------------


@pytest.fixture(scope="module")
def mnv2():
    return build_model(ModelConfig(backbone="MobileNetV2", weights="none", dense_units=8), 3, 32,
                       None)


def _size(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def _bn_layers(model):
    import keras

    return [l for l in backbone_of(model).layers if isinstance(l, keras.layers.BatchNormalization)]


def _trainable_backbone_layers(model):
    return [l.name for l in backbone_of(model).layers if l.trainable and l.trainable_weights]


def test_head_phase_trains_only_the_head(mnv2):
    trainable, total = apply_freeze(mnv2, FreezeConfig(mode="all"), "head")
    head = _size(mnv2.get_layer("dense").weights) + _size(mnv2.get_layer("probabilities").weights)
    assert trainable == head
    assert total == mnv2.count_params() == param_counts(mnv2)[0]
    assert _trainable_backbone_layers(mnv2) == []


def test_fine_tune_all_keeps_batch_norm_frozen(mnv2):
    trainable, total = apply_freeze(mnv2, FreezeConfig(mode="all"), "fine_tune")
    bn = _bn_layers(mnv2)
    assert bn and not any(l.trainable for l in bn)
    bn_params = _size([w for l in bn for w in l.weights])
    assert trainable == total - bn_params  # everything except BatchNorm and preprocessing
    assert (total, trainable) == param_counts(mnv2)


def test_fine_tune_top_n_and_from_layer(mnv2):
    layers = backbone_of(mnv2).layers
    apply_freeze(mnv2, FreezeConfig(mode="top_n", top_n=10), "fine_tune")
    last10 = [l.name for l in layers[-10:] if l.trainable_weights
              and type(l).__name__ != "BatchNormalization"]
    assert _trainable_backbone_layers(mnv2) == last10
    assert last10[-2:] == ["block_16_project", "Conv_1"]
    trainable, _ = apply_freeze(mnv2, FreezeConfig(mode="from_layer", from_layer="block_16_project"),
                                "fine_tune")
    assert _trainable_backbone_layers(mnv2) == ["block_16_project", "Conv_1"]
    head = _size(mnv2.get_layer("dense").weights) + _size(mnv2.get_layer("probabilities").weights)
    convs = _size(mnv2.get_layer("backbone").get_layer("block_16_project").weights) + \
        _size(mnv2.get_layer("backbone").get_layer("Conv_1").weights)
    assert trainable == head + convs
    trainable, _ = apply_freeze(mnv2, FreezeConfig(mode="custom", layers=["Conv1", "Conv_1"]),
                                "fine_tune")
    assert _trainable_backbone_layers(mnv2) == ["Conv1", "Conv_1"]
    apply_freeze(mnv2, FreezeConfig(mode="none"), "fine_tune")
    assert _trainable_backbone_layers(mnv2) == []


def test_unknown_layer_names_suggest_close_matches(mnv2):
    with pytest.raises(ConfigError) as err:
        apply_freeze(mnv2, FreezeConfig(mode="from_layer", from_layer="block_16_projct"),
                     "fine_tune")
    assert "block_16_projct" in str(err.value) and "block_16_project" in str(err.value)
    with pytest.raises(ConfigError) as err:
        apply_freeze(mnv2, FreezeConfig(mode="custom", layers=["Conv1", "conv_one"]), "fine_tune")
    assert "conv_one" in str(err.value)


def test_training_step_trains_the_backbone_but_not_batch_norm_statistics():
    import keras
    import tensorflow as tf

    model = build_model(ModelConfig(backbone="MobileNetV2", weights="none"), 2, 32, None, seed=1)
    apply_freeze(model, FreezeConfig(mode="all"), "fine_tune")
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    as_np = keras.ops.convert_to_numpy
    bn = _bn_layers(model)
    before = [as_np(w) for layer in bn for w in layer.weights]
    kernel = backbone_of(model).get_layer("Conv_1").kernel
    assert any(v is kernel for v in model.trainable_variables)
    x, y = _images(4, seed=5), np.eye(2, dtype="float32")[[0, 1, 0, 1]]
    with tf.GradientTape() as tape:
        loss = keras.losses.categorical_crossentropy(y, model(x, training=True))
    assert tape.gradient(loss, kernel) is not None  # the backbone is in the training graph
    model.train_on_batch(x, y)
    model(x, training=True)
    after = [as_np(w) for layer in bn for w in layer.weights]
    for b, a in zip(before, after):  # gamma, beta, moving mean and variance all unchanged
        np.testing.assert_array_equal(b, a)


# -- layer table ------------------------------------------------------------


def test_layer_table_lists_every_layer_with_blocks(mnv2):
    apply_freeze(mnv2, FreezeConfig(mode="top_n", top_n=10), "fine_tune")
    rows = layer_table(mnv2)
    backbone = backbone_of(mnv2)
    assert len(rows) == 1 + len(backbone.layers) + 4  # preprocess_tf; avg_pool, dropout, dense, probs
    by_name = {r.name: r for r in rows}
    assert by_name["preprocess_tf"].part == "preprocessing"
    assert by_name["block_13_expand"].block == "block_13"
    assert by_name["block_13_expand"].type == "Conv2D"
    assert by_name["block_13_expand"].output_shape.startswith("(None, ")
    assert by_name["Conv_1"].trainable and not by_name["block_13_expand"].trainable
    assert not by_name["Conv_1_bn"].trainable
    assert by_name["probabilities"].block == "head" and by_name["probabilities"].trainable
    assert sum(r.params for r in rows) == mnv2.count_params()
    assert {r.block for r in rows if r.part == "backbone"} >= {"input", "Conv1", "expanded_conv",
                                                              "block_1", "block_16", "Conv_1"}


def test_layer_table_groups_resnet_blocks():
    model = build_model(ModelConfig(backbone="ResNet50", weights="none"), 2, 32, None)
    rows = {r.name: r for r in layer_table(model)}
    assert rows["conv4_block2_1_conv"].block == "conv4_block2"
    assert rows["preprocess_caffe"].part == "preprocessing" and not rows["preprocess_caffe"].trainable


def test_layer_table_files_inception_s_last_block_under_its_own_name():
    """"mixed9_1", a join inside InceptionV3's last block, put that block's 6.2 M weights
    (conv2d_85 ... conv2d_93) under mixed9, so ticking mixed9 trained mixed10 too, and
    mixed10 held 3 weightless layers (an every-backbone review)."""
    model = build_model(ModelConfig(backbone="InceptionV3", weights="none"), 2, 75, None)
    rows = {r.name: r for r in layer_table(model)}
    assert rows["mixed9_0"].block == rows["mixed9"].block == "mixed9"
    assert rows["mixed9_1"].block == rows["mixed10"].block == "mixed10"
    blocks: dict[str, int] = {}
    for r in rows.values():
        blocks[r.block] = blocks.get(r.block, 0) + r.params
    assert blocks["mixed10"] > blocks["mixed9"] > 5_000_000


# -- loading ----------------------------------------------------------------


def test_saved_model_loads_safely_with_the_same_predictions(tmp_path, mnv2):
    path = tmp_path / "model.keras"
    mnv2.save(path)
    again = load_model_file(path)
    x = _images(2)
    np.testing.assert_allclose(again(x), mnv2(x), rtol=1e-5, atol=1e-6)
    assert backbone_of(again).name == "backbone"


def test_lambda_models_missing_and_non_model_files_are_refused(tmp_path):
    import keras

    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)
    lam = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(lam)
    with pytest.raises(ModelFileError) as err:
        load_model_file(lam)
    assert "Lambda" in str(err.value) and "lambda.keras" in str(err.value)
    with pytest.raises(ModelFileError) as err:
        load_model_file(tmp_path / "missing.keras")
    assert "missing.keras" in str(err.value) and "not found" in str(err.value)
    fake = tmp_path / "fake.keras"
    fake.write_text("hello")
    with pytest.raises(ModelFileError) as err:
        load_model_file(fake)
    assert "fake.keras" in str(err.value)


def test_apply_freeze_can_be_called_again_with_more_layers():
    """Regression: Keras 3 keeps inner layers frozen when backbone.trainable is already True."""
    from core.config import FreezeConfig, ModelConfig
    from core.model.build import apply_freeze, build_model

    model = build_model(ModelConfig(backbone="MobileNetV3Small", weights="none"), 2, 32, None)
    few, total = apply_freeze(model, FreezeConfig(mode="top_n", top_n=20), "fine_tune")
    more, _ = apply_freeze(model, FreezeConfig(mode="top_n", top_n=60), "fine_tune")
    again, _ = apply_freeze(model, FreezeConfig(mode="top_n", top_n=20), "fine_tune")
    assert few < more < total
    assert again == few
    head_only, _ = apply_freeze(model, FreezeConfig(mode="top_n", top_n=0), "fine_tune")
    everything, _ = apply_freeze(model, FreezeConfig(mode="all"), "fine_tune")
    assert head_only < few < everything


def test_from_scratch_trains_batchnorm_in_training_mode():
    """weights=none: BatchNorm must learn its statistics, or features vanish to ~1e-12."""
    import keras
    import numpy as np

    from core.config import FreezeConfig, ModelConfig
    from core.model.build import apply_freeze, backbone_of, build_model

    cfg = ModelConfig(backbone="MobileNetV3Small", weights="none")
    model = build_model(cfg, 2, 32, None)
    trainable, total = apply_freeze(model, FreezeConfig(mode="none"), "head", from_scratch=True)
    bns = [l for l in backbone_of(model)._flatten_layers()
           if isinstance(l, keras.layers.BatchNormalization)]
    assert bns and all(bn.trainable for bn in bns)
    before = np.array(bns[0].moving_mean)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    model.fit(x, keras.utils.to_categorical([0, 1] * 4, 2), epochs=1, verbose=0)
    assert not np.allclose(before, np.array(bns[0].moving_mean))  # statistics moved
    # and quickly: MobileNetV3's 0.999 left them near their start, so the saved model gave
    # every image the same answer (a 40-epoch run stopped early at chance)
    assert all(bn.momentum <= 0.9 for bn in bns)
    pretrained = build_model(ModelConfig(backbone="MobileNetV3Small", weights="imagenet"), 2, 32,
                             None)
    assert {bn.momentum for bn in backbone_of(pretrained)._flatten_layers()
            if isinstance(bn, keras.layers.BatchNormalization)} == {0.999}


def test_keras_imagenet_file_under_another_name_is_known_by_its_checksum(tmp_path, monkeypatch):
    """A browser's "efficientnetb0_notop (1).h5" (the same bytes as Keras' ImageNet file)
    lost the input rescaling those weights need: it is known by content, not only by name."""
    import dataclasses
    import hashlib

    from core.model import backbones
    from core.model.build import imagenet_weights

    spec = get_backbone("EfficientNetB0")
    renamed = tmp_path / "efficientnetb0_notop (1).h5"
    renamed.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 40)
    spec = dataclasses.replace(spec, weights_hash=hashlib.md5(renamed.read_bytes()).hexdigest())
    monkeypatch.setitem(backbones._BY_KEY, backbones._key("EfficientNetB0"), spec)
    assert imagenet_weights(str(renamed), spec)
    model = build_model(ModelConfig(backbone="EfficientNetB0", weights=str(renamed)), 2, 32, None)
    assert "imagenet_stddev_fix" in [l.name for l in model.layers]
    other = tmp_path / "my_backbone.h5"  # other bytes under any name: the user's own file
    other.write_bytes(renamed.read_bytes() + b"!")
    assert not imagenet_weights(str(other), spec)
    assert not imagenet_weights(str(tmp_path / "moved away.h5"), spec)
