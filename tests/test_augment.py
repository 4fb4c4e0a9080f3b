"""Augmentation: presets, building from config, previews, and plain-albumentations files."""

import inspect
import json
import random

import albumentations as A
import numpy as np
import pytest

from core.data.augment import (PRESETS, Augmenter, augment_previews, build_augmenter,
                                preset_config)
from core.data.augment_files import load_augment_file, save_albumentations, to_albumentations_dict
from core.data.augment_specs import TRANSFORMS, default_transform
from core.config import AugmentConfig, StudioConfig, TransformConfig
from core.errors import ConfigError


def _image(h=60, w=80, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    img[h // 4: h // 2, w // 4: w // 2] = (250, 30, 30)  # asymmetric content: flips show
    return img


def test_catalog_matches_albumentations_signatures():
    for name, spec in TRANSFORMS.items():
        cls = getattr(A, name)
        accepted = set(inspect.signature(cls.__init__).parameters)
        for p in spec.params:
            assert p.name in accepted, f"{name}.{p.name} is not an albumentations 2 argument"
            assert p.kind in ("float", "int", "range", "int_range", "bool", "choice")
            if p.kind == "choice":
                assert p.default in p.choices
                assert not p.choice_labels or len(p.choice_labels) == len(p.choices)
        assert 0.0 <= spec.default_p <= 1.0 and spec.description and spec.label
        # Every catalogue transform builds with its defaults and keeps the output size.
        cfg = AugmentConfig(preset="custom", transforms=[default_transform(name)], seed=1)
        cfg.transforms[0].p = 1.0
        out = build_augmenter(cfg, 48)(_image())
        assert out.shape == (48, 48, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("name", PRESETS)
def test_presets_build_and_give_the_requested_size(name):
    cfg = preset_config(name, seed=3)
    aug = build_augmenter(cfg, 40)
    if name == "none":
        assert aug is None
        return
    for seed in range(5):
        out = aug(_image(), seed=seed)
        assert out.shape == (40, 40, 3) and out.dtype == np.uint8


def test_unknown_preset_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown preset 'extreme'"):
        preset_config("extreme")


def test_default_config_means_the_light_preset():
    cfg = StudioConfig().augment
    assert cfg.preset == "light" and cfg.transforms == []
    assert build_augmenter(cfg, 32) is not None
    assert build_augmenter(AugmentConfig(preset="custom", transforms=[]), 32) is None


def test_nothing_enabled_gives_none():
    cfg = preset_config("medium")
    for t in cfg.transforms:
        t.enabled = False
    assert build_augmenter(cfg, 32) is None


def test_seeded_augmentation_is_reproducible_and_varies_with_the_seed():
    cfg = preset_config("heavy", seed=5)
    a, b = build_augmenter(cfg, 32), build_augmenter(cfg, 32)
    img = _image()
    assert np.array_equal(a(img, seed=11), b(img, seed=11))
    outs = [a(img, seed=s) for s in range(6)]
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])
    # Without per-call seeds a seeded augmenter is still reproducible as a sequence.
    c, d = build_augmenter(cfg, 32), build_augmenter(cfg, 32)
    assert all(np.array_equal(c(img), d(img)) for _ in range(4))


def test_transforms_fire_independently():
    """Two p=0.5 flips must not be coupled (albumentations' Compose(seed=) couples them)."""
    img = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    cfg = AugmentConfig(preset="custom", seed=0, transforms=[
        TransformConfig("HorizontalFlip", p=0.5), TransformConfig("VerticalFlip", p=0.5)])
    aug = build_augmenter(cfg, 4)
    seen = set()
    for s in range(60):
        out = aug(img, seed=s)
        seen.add((bool(np.array_equal(out, img[:, ::-1])), bool(np.array_equal(out, img[::-1]))))
    assert (True, False) in seen and (False, True) in seen


def test_resized_crop_produces_the_image_size_directly():
    cfg = AugmentConfig(preset="custom", transforms=[
        TransformConfig("RandomResizedCrop", p=1.0, params={"scale": [0.5, 1.0], "size": [9, 9]})])
    compose = build_augmenter(cfg, 36).compose
    assert tuple(compose.transforms[0].size) == (36, 36)  # our size wins over the config's
    assert build_augmenter(cfg, 36)(_image(100, 50)).shape == (36, 36, 3)


@pytest.mark.parametrize("transform, match", [
    (TransformConfig("Rotate", p=0.5, params={"limit": "wide"}), r"transforms\[0\] \(Rotate\)\.limit"),
    (TransformConfig("GaussNoise", p=0.5, params={"std_range": [0.5, 0.1]}),
     r"\(GaussNoise\)\.std_range"),
    (TransformConfig("Rotate", p=0.5, params={"angle": 3}), r"\(Rotate\): unknown parameter 'angle'"),
    (TransformConfig("Rotate", p=1.5), r"\(Rotate\): p must be between 0 and 1"),
    (TransformConfig("Sharpenize", p=0.5), r"unknown transform 'Sharpenize'"),
    (TransformConfig("CoarseDropout", p=0.5, params={"num_holes_range": [1, 2, 3]}),
     r"\(CoarseDropout\)\.num_holes_range: expected a \[low, high\] pair"),
    (TransformConfig("Rotate", p=0.5, params={"limit": ["a", "b"]}),
     r"\(Rotate\)\.limit: expected a \[low, high\] pair of numbers"),
])
def test_bad_settings_name_the_transform_and_parameter(transform, match):
    cfg = AugmentConfig(preset="custom", transforms=[transform])
    with pytest.raises(ConfigError, match=match):
        build_augmenter(cfg, 32)


def test_json_numbers_reach_albumentations_with_their_meaning():
    cfg = AugmentConfig(preset="custom", transforms=[
        TransformConfig("ColorJitter", p=1.0, params={"brightness": 0.2}),  # scalar: 0.8..1.2
        TransformConfig("GaussianBlur", p=1.0, params={"blur_limit": [3.0, 5.0]}),  # GUI floats
        TransformConfig("Rotate", p=1.0, params={"limit": [-7, 7]}),  # JSON ints
        TransformConfig("CoarseDropout", p=1.0, params={
            "num_holes_range": [1, 1], "hole_height_range": [0.5, 0.5],
            "hole_width_range": [0.5, 0.5], "fill": 0}),
    ])
    compose = build_augmenter(cfg, 16).compose
    jitter, blur, rotate, dropout = compose.transforms[:4]
    assert tuple(jitter.brightness) == pytest.approx((0.8, 1.2))
    assert tuple(blur.blur_limit) == (3, 5)
    assert tuple(rotate.limit) == (-7.0, 7.0)
    only_dropout = AugmentConfig(preset="custom", transforms=cfg.transforms[3:])
    out = build_augmenter(only_dropout, 16)(np.full((16, 16, 3), 200, np.uint8))
    assert int((out == 0).all(axis=2).sum()) == 8 * 8  # half the height x half the width


def test_previews_are_deterministic_for_a_seed():
    cfg = preset_config("heavy", seed=2)
    a = augment_previews(_image(), cfg, 6, 32, seed=4)
    b = augment_previews(_image(), cfg, 6, 32, seed=4)
    c = augment_previews(_image(), cfg, 6, 32, seed=5)
    assert len(a) == 6 and all(x.shape == (32, 32, 3) and x.dtype == np.uint8 for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))
    assert len({x.tobytes() for x in a}) > 1  # the previews differ from each other
    plain = augment_previews(_image(), preset_config("none"), 3, 32, seed=0)
    assert all(np.array_equal(plain[0], p) for p in plain)


def test_saved_file_loads_in_plain_albumentations_with_the_same_output(tmp_path):
    cfg = preset_config("heavy", seed=9)
    path = tmp_path / "aug.json"
    save_albumentations(cfg, 40, path)
    assert json.loads(path.read_text())["transform"]["__class_fullname__"] == "Compose"
    assert json.loads(json.dumps(to_albumentations_dict(cfg, 40))) == json.loads(path.read_text())

    plain = A.load(str(path))
    ours = build_augmenter(cfg, 40)
    img = _image(90, 70)
    for seed in (1, 2, 3):
        # The two lines a plain albumentations user runs (see core.data.augment.seed_compose).
        plain.set_random_state(np.random.default_rng(seed), random.Random(seed))
        expected = plain(image=img)["image"]
        assert np.array_equal(ours(img, seed=seed), expected)


def test_albumentations_file_maps_back_to_the_same_pipeline(tmp_path):
    cfg = preset_config("heavy", seed=0)
    path = tmp_path / "aug.json"
    save_albumentations(cfg, 40, path)
    loaded = load_augment_file(path)
    assert loaded.preset == "custom"
    assert [t.name for t in loaded.transforms] == [t.name for t in cfg.transforms]
    assert [t.p for t in loaded.transforms] == [t.p for t in cfg.transforms]
    # The Affine per-axis dicts collapse back to ranges and defaults are dropped.
    affine = next(t for t in loaded.transforms if t.name == "Affine")
    assert affine.params["scale"] == [0.8, 1.2] and "shear" in affine.params
    assert "interpolation" not in affine.params and "mask_interpolation" not in affine.params
    img = _image()
    a, b = build_augmenter(cfg, 40), build_augmenter(loaded, 40)
    for seed in range(4):
        assert np.array_equal(a(img, seed=seed), b(img, seed=seed))
    # The mapped config survives our own JSON round trip.
    studio = StudioConfig(augment=loaded)
    assert StudioConfig.from_json(studio.to_json()).augment == loaded


def test_file_written_by_plain_albumentations_is_accepted(tmp_path):
    compose = A.Compose([A.HorizontalFlip(p=0.3), A.CLAHE(p=0.2),
                         A.Rotate(limit=(-7, 7), p=0.4)])
    path = tmp_path / "theirs.json"
    A.save(compose, str(path))
    cfg = load_augment_file(path)
    assert [(t.name, t.p) for t in cfg.transforms] == [("HorizontalFlip", 0.3), ("CLAHE", 0.2),
                                                       ("Rotate", 0.4)]
    assert cfg.transforms[2].params == {"limit": [-7.0, 7.0]}
    assert build_augmenter(cfg, 32)(_image()).shape == (32, 32, 3)


def test_our_own_json_and_studio_configs_load(tmp_path):
    cfg = preset_config("medium", seed=4)
    studio = StudioConfig(augment=cfg)
    (tmp_path / "studio.json").write_text(studio.to_json())
    (tmp_path / "aug.json").write_text(json.dumps(studio.to_dict()["augment"]))
    assert load_augment_file(tmp_path / "studio.json") == cfg
    assert load_augment_file(tmp_path / "aug.json") == cfg


@pytest.mark.parametrize("text, match", [
    ("not json", "not valid JSON"),
    ('{"transform": {"__class_fullname__": "Compose", "p": 1.0, "transforms": ['
     '{"__class_fullname__": "OneOf", "p": 1.0, "transforms": []}]}}', "nested OneOf"),
    ('{"transforms": [{"name": "Rotate", "bogus": 1}]}', "unknown setting 'bogus'"),
    # found only when training began, with no file named (a message review)
    ('{"transforms": [{"name": "Blurrr", "p": 0.5}]}', r"bad.json: .*unknown transform 'Blurrr'"),
    ('{"transforms": [{"name": "RandomResizedCrop", "params": {"scale": [0.9, 0.1]}}]}',
     r"bad.json: .*RandomResizedCrop.*scale"),
])
def test_bad_augmentation_files_are_config_errors(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_augment_file(path)
    with pytest.raises(ConfigError, match="not found"):
        load_augment_file(tmp_path / "missing.json")


# -- transforms that run code -------------------------------------------------------------


def test_lambda_in_a_config_is_refused_when_built_not_mid_training():
    cfg = AugmentConfig(preset="custom", transforms=[
        TransformConfig(name="HorizontalFlip", p=0.5),
        TransformConfig(name="Lambda", p=1.0, params={"image": "os.system"})])
    for build in (lambda: build_augmenter(cfg, 32), lambda: augment_previews(_image(), cfg, 1, 32)):
        with pytest.raises(ConfigError) as info:
            build()
        message = str(info.value)
        assert message.startswith("augment.transforms[1]") and "'Lambda'" in message
        assert "runs Python code" in message


def test_a_parameter_that_takes_a_function_is_refused():
    cfg = AugmentConfig(preset="custom", transforms=[
        TransformConfig(name="Equalize", p=1.0, params={"mask": "builtins.exec"})])
    with pytest.raises(ConfigError, match=r"augment.transforms\[0\] \(Equalize\)\.mask: .*function"):
        build_augmenter(cfg, 32)
    # Without it, the same transform is an ordinary albumentations transform.
    plain = AugmentConfig(preset="custom", transforms=[TransformConfig(name="Equalize", p=1.0)])
    assert build_augmenter(plain, 32)(_image()).shape == (32, 32, 3)


@pytest.mark.parametrize("item, match", [
    ({"__class_fullname__": "Lambda", "p": 1.0, "name": "evil"}, "'Lambda' runs Python code"),
    ({"__class_fullname__": "HistogramMatching", "p": 1.0, "reference_images": ["a.png"],
      # refused before its read_fn is looked at: it needs metadata a run never gives
      "read_fn": "os.system"}, r"'HistogramMatching' needs other images"),
])
def test_albumentations_file_with_code_is_refused_on_load(tmp_path, item, match):
    path = tmp_path / "shared.json"
    path.write_text(json.dumps({"__version__": A.__version__, "transform": {
        "__class_fullname__": "Compose", "p": 1.0,
        "transforms": [{"__class_fullname__": "HorizontalFlip", "p": 0.5}, item]}}))
    with pytest.raises(ConfigError, match=match) as info:
        load_augment_file(path)
    assert str(path) in str(info.value) and "transforms[1]" in str(info.value)


@pytest.mark.parametrize("transform, words", [
    (A.Normalize(p=1.0), "turns the pixels into float32"),
    (A.ToFloat(p=1.0), "turns the pixels into float32"),
    (A.RandomCrop(64, 64, p=0.2), "fails on a 32 px image"),
    # sigma 0 to 0 (the Augment page allowed it): albumentations divides by it, all white
    (A.GaussianBlur(blur_limit=(3, 7), sigma_limit=(0, 0), p=0.2), "one flat colour"),
])
def test_transforms_that_break_the_pixels_are_refused_before_training(tmp_path, transform,
                                                                       words):
    """Normalize's floats were cast back to uint8 (an orange pixel reached the model as
    [1 0 255]); a crop larger than the image stopped training after its folder was written."""
    path = tmp_path / "theirs.json"
    A.save(A.Compose([A.HorizontalFlip(p=0.5), transform]), str(path))
    try:
        cfg = load_augment_file(path)
    except ConfigError:
        pytest.skip("refused when the file is read")
    with pytest.raises(ConfigError, match=words):
        build_augmenter(cfg, 32)


@pytest.mark.parametrize("transform", [A.PadIfNeeded(40, 40, p=1.0), A.Equalize(p=0.3)])
def test_files_albumentations_itself_loads_are_accepted(tmp_path, transform):
    """PadIfNeeded's saved "padding" (derived state) and Equalize's "mask": null (an unset
    hook) were refused as an unknown parameter and as a Python function."""
    path = tmp_path / "theirs.json"
    A.save(A.Compose([transform]), str(path))
    A.load(str(path))  # albumentations reads it
    cfg = load_augment_file(path)
    assert build_augmenter(cfg, 32)(_image()).shape == (32, 32, 3)


def test_the_augment_page_offers_no_blur_sigma_of_zero():
    from core.data.augment_specs import TRANSFORMS

    sigma = next(p for p in TRANSFORMS["GaussianBlur"].params if p.name == "sigma_limit")
    assert sigma.minimum > 0


def test_a_setting_that_blanks_images_is_refused_whatever_the_augmentation_seed():
    """Brightness at -1 was refused for some seeds and passed for others, with half the
    images black; the hint named a blur's sigma for every transform (a review)."""
    verdicts = set()
    for seed in range(6):
        cfg = AugmentConfig(preset="custom", seed=seed, transforms=[
            TransformConfig("RandomBrightnessContrast", p=0.5,
                            params={"brightness_limit": [-1.0, -1.0]})])
        with pytest.raises(ConfigError) as info:
            build_augmenter(cfg, 32)
        verdicts.add(str(info.value))
    assert len(verdicts) == 1  # the same words for every seed
    message = verdicts.pop()
    assert "one flat colour" in message and "Brightness and contrast" in message
    assert "sigma" not in message


def test_cut_out_at_its_largest_share_blanks_nearly_the_whole_image():
    """Hole height and width 1.0 of the image (the Augment page's maximum) were read by
    albumentations as 1 pixel: the cut-out all but vanished (a review)."""
    cfg = AugmentConfig(preset="custom", transforms=[
        TransformConfig("CoarseDropout", p=1.0, params={
            "num_holes_range": [1, 1], "hole_height_range": [1.0, 1.0],
            "hole_width_range": [1.0, 1.0], "fill": 0})])
    out = Augmenter(cfg, 100)(np.full((100, 100, 3), 200, np.uint8), seed=3)
    assert (out == 0).all(axis=2).mean() > 0.95


def test_an_even_blur_kernel_is_taken_as_the_next_odd_one_without_a_library_warning():
    """An even size gave albumentations' UserWarning once per pipeline (seven lines in a
    run's output) (a review); the hue shift is in OpenCV's half degrees, up to 90."""
    import warnings

    cfg = AugmentConfig(preset="custom", transforms=[
        TransformConfig("Blur", p=1.0, params={"blur_limit": [4, 6]})])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compose = build_augmenter(cfg, 32).compose
    assert tuple(compose.transforms[0].blur_limit) == (5, 7)
    hue = next(p for p in TRANSFORMS["HueSaturationValue"].params
               if p.name == "hue_shift_limit")
    assert (hue.minimum, hue.maximum) == (-90, 90) and "opposite" in hue.label


@pytest.mark.parametrize("name, params", [
    # -250 (inside the page's -255...255) left a noise image's pixels above 250, so it
    # passed, yet it turned every real image black (a review)
    ("HueSaturationValue", {"hue_shift_limit": [0, 0], "sat_shift_limit": [0, 0],
                            "val_shift_limit": [-250, -250]}),
    # -240 leaves noise at up to 15 levels: only a photo-like picture shows the blank
    ("HueSaturationValue", {"hue_shift_limit": [0, 0], "sat_shift_limit": [0, 0],
                            "val_shift_limit": [-240, -240]}),
    ("RandomBrightnessContrast", {"brightness_limit": [-0.9, -0.9],
                                  "contrast_limit": [0, 0]}),
])
def test_a_setting_that_turns_real_images_nearly_black_is_refused_by_name(name, params):
    cfg = AugmentConfig(preset="custom", transforms=[TransformConfig(name, p=1.0,
                                                                     params=params)])
    with pytest.raises(ConfigError, match=fr"augmentation .* \({name}\) turns .* nearly black"):
        build_augmenter(cfg, 32)


def test_a_blanking_setting_is_named_in_the_augment_pages_words():
    """The refusal named the albumentations class and "a noisy 64 px image", the check's own
    test image, which the page never shows (a review): the page's label, the setting to
    change by its label, and the test draws."""
    cfg = AugmentConfig(preset="custom", transforms=[TransformConfig(
        "ColorJitter", p=1.0, params={"contrast": [0.0, 0.0]})])
    with pytest.raises(ConfigError) as info:
        build_augmenter(cfg, 64)
    message = str(info.value)
    assert message.startswith("augmentation Colour jitter (ColorJitter) turns images into one "
                              "flat colour or nearly black in 16 of 16 test draws")
    assert "Brightness factor and Contrast factor well above 0" in message
    assert "noisy" not in message and "64 px" not in message


def test_the_presets_pass_the_near_blank_trial_at_every_size():
    for preset in ("light", "medium", "heavy"):
        for size in (16, 32, 224):
            assert build_augmenter(preset_config(preset), size) is not None


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_runs_its_transforms_in_the_order_the_page_lists_them(preset):
    """Heavy ran Perspective 4th, before the cut-out, while the page listed it last; README
    says ticked transforms run in the page's order (a review)."""
    listed = list(TRANSFORMS)
    names = [t.name for t in preset_config(preset).transforms]
    assert names == sorted(names, key=listed.index)
