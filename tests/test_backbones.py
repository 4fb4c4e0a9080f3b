"""The backbone catalog: names, sizes, stored numbers, agreement with installed Keras, CLI."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.model.backbones import (CATALOG, MAX_IMAGE_SIZE, PREPROCESSING_MODES, get_backbone,
                            recommend_backbone, recommendation, resolve_image_size)
from core.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parent.parent

REQUIRED = ["MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "EfficientNetB0",
            "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetV2B0",
            "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2S", "ResNet50", "ResNet50V2",
            "DenseNet121", "Xception", "InceptionV3", "ConvNeXtTiny", "NASNetMobile", "VGG16"]


def test_catalog_has_the_required_backbones_with_sane_fields():
    assert set(REQUIRED) <= set(CATALOG)
    for name, spec in CATALOG.items():
        assert spec.name == name
        assert spec.preprocessing in PREPROCESSING_MODES
        assert spec.min_size <= spec.default_size <= (spec.max_size or MAX_IMAGE_SIZE)
        assert 60 < spec.top1 < 90 and spec.params > 500_000
        assert spec.cpu_images_per_sec > 0, f"{name}: run bench/bench_backbones.py"
        assert spec.weights_url.startswith("https://storage.googleapis.com/")
        assert "keras-applications/" in spec.weights_url
        assert spec.weights_hash is None or len(spec.weights_hash) in (32, 64)
        assert spec.weights_file.endswith(".h5")


def test_get_backbone_accepts_any_spelling_and_lists_names_when_unknown():
    assert get_backbone("mobilenetv2").name == "MobileNetV2"
    assert get_backbone("EfficientNet-B0").name == "EfficientNetB0"
    assert get_backbone("efficientnet_v2_s").name == "EfficientNetV2S"
    with pytest.raises(UserError) as err:
        get_backbone("ResNet9000")
    assert "ResNet9000" in str(err.value) and "MobileNetV2" in str(err.value)
    assert "VGG16" in str(err.value)


def test_recommendation_grows_with_the_data():
    small, medium, large = recommendation(200), recommendation(3000), recommendation(50000)
    assert small.name == recommend_backbone(200) == "MobileNetV2"
    assert medium.name == "EfficientNetB0"
    assert large.name in CATALOG and CATALOG[large.name].params > CATALOG[medium.name].params
    assert "200 images" in small.reason


def test_resolve_image_size_defaults_and_ranges():
    mnv2, xception, nasnet = (get_backbone(n) for n in ("MobileNetV2", "Xception", "NASNetMobile"))
    assert resolve_image_size(mnv2, 0, "imagenet") == 224
    assert resolve_image_size(xception, 0, "none") == 299
    assert resolve_image_size(mnv2, 96, "imagenet") == 96
    with pytest.raises(ConfigError) as err:
        resolve_image_size(xception, 64, "imagenet")
    assert "71-1024" in str(err.value) and "model.image_size" in str(err.value)
    assert "use 71 px or more, or 0 for its default 299 px" in str(err.value)
    with pytest.raises(ConfigError):
        resolve_image_size(mnv2, 2048, "none")
    # NASNetMobile's ImageNet file takes any size, as the same file chosen by hand does
    # (it was refused at 96 px as "ImageNet weights need 224 px": a review).
    assert resolve_image_size(nasnet, 0, "ImageNet") == 224
    assert resolve_image_size(nasnet, 96, "imagenet") == 96
    assert resolve_image_size(nasnet, 160, "none") == 160
    fixed = dataclasses.replace(nasnet, imagenet_fixed_size=224)  # the rule, kept for one
    with pytest.raises(ConfigError, match="224"):
        resolve_image_size(fixed, 160, "imagenet")


def test_mobilenet_v2_has_one_imagenet_file_per_training_size():
    spec = get_backbone("MobileNetV2")
    assert spec.imagenet_file(None)[0] == spec.weights_file
    assert spec.imagenet_file(300)[0] == spec.weights_file  # Keras falls back to 224
    name, url, _ = spec.imagenet_file(128)
    assert "_1.0_128_no_top" in name and url.endswith(name)


@pytest.mark.parametrize("name,size", [("MobileNetV3Small", 96), ("MobileNetV2", 96),
                                       ("VGG16", 32)])
def test_stored_parameter_counts_match_keras(name, size):
    import keras

    model = getattr(keras.applications, name)(include_top=False, weights=None,
                                              input_shape=(size, size, 3))
    assert model.count_params() == CATALOG[name].params


@pytest.mark.parametrize("name,size", [("MobileNetV3Small", 32), ("EfficientNetB0", 32),
                                       ("MobileNetV2", 96)])
def test_stored_weights_file_url_and_hash_are_what_keras_downloads(name, size, monkeypatch):
    """Ask installed Keras which file it would fetch, without fetching it."""
    import keras
    from keras.src.utils import file_utils

    asked = {}

    class Stop(Exception):
        pass

    def fake_get_file(fname=None, origin=None, **kwargs):
        asked.update(fname=fname, origin=origin, file_hash=kwargs.get("file_hash"))
        raise Stop

    monkeypatch.setattr(file_utils, "get_file", fake_get_file)
    with pytest.raises(Stop):
        getattr(keras.applications, name)(include_top=False, weights="imagenet",
                                          input_shape=(size, size, 3))
    file_name, url, file_hash = CATALOG[name].imagenet_file(size)
    assert (asked["fname"], asked["origin"], asked["file_hash"]) == (file_name, url, file_hash)


def test_backbones_command_json_lists_the_catalog():
    out = subprocess.run([sys.executable, "main.py", "backbones", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) >= 19
    names = [r["name"] for r in rows]
    assert set(REQUIRED) <= set(names)
    first = rows[names.index("MobileNetV2")]
    assert first["params"] == 2_257_984 and first["preprocessing"] == "tf"
    assert first["default_size"] == 224 and first["cpu_images_per_sec"] > 0


def test_backbones_command_table_and_no_tensorflow():
    code = ("import sys, argparse; sys.path.insert(0, '.');"
            "from core.cli.commands import backbones;"
            "p = argparse.ArgumentParser(); s = p.add_subparsers(); backbones.register(s);"
            "a = p.parse_args(['backbones']); rc = a.func(a);"
            "assert rc == 0;"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import'")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[0] == "backbone"
    assert not any("only" in line for line in lines)  # NASNetMobile has no ImageNet size
    assert len(lines) == 1 + len(CATALOG)
