"""The backbones the app offers: a static catalog of keras.applications models.

Everything here is plain data so that listing backbones (the GUI's picker,
``python main.py backbones``) never imports TensorFlow.  The numbers come from
three places, each named so they can be re-checked when Keras changes:

* ``params``: parameters of the backbone without its classifier
  (``include_top=False``), counted by building it with ``weights=None``
  (``tests/test_backbones.py`` re-counts a few);
* ``top1``: ImageNet top-1 accuracy from the table at keras.io/api/applications
  (MobileNetV3: the table in the docstring of keras' ``mobilenet_v3.py``);
* ``weights_*``: the no-top ImageNet file exactly as
  ``keras/src/applications/<module>.py`` fetches it (file name in the Keras
  cache, URL, md5/sha256; Keras publishes no hash for MobileNetV2), so a file
  downloaded by Keras itself is found and reused, and vice versa;
* ``cpu_images_per_sec``: measured on the development machine (2 CPU cores)
  by ``bench/bench_backbones.py``; read its docstring for the method.  That
  machine was shared with other work, so expect +-50% per entry: it is a relative
  guide (MobileNetV2 is ~25x faster than VGG16), not a promise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

from core.errors import ConfigError, UserError

# Same ceiling as StudioConfig.validate(): above this a single image no longer fits
# comfortably in memory for most backbones, and nobody fine-tunes at such sizes.
MAX_IMAGE_SIZE = 1024

# Keras' two download roots; both end in "keras-applications/", which is what lets
# one mirror folder (FTS_WEIGHTS_BASE_URL) stand in for either (see weights.py).
_TF_ROOT = "https://storage.googleapis.com/tensorflow/keras-applications/"
_EFFNET_ROOT = "https://storage.googleapis.com/keras-applications/"

PREPROCESSING_MODES = ("tf", "torch", "caffe", "inside")


@dataclass(frozen=True)
class BackboneSpec:
    """One keras.applications backbone and what the app needs to know about it."""

    name: str  # keras.applications attribute, e.g. "MobileNetV2"
    module: str  # keras.applications sub-module with its preprocess_input
    params: int  # parameters with include_top=False
    default_size: int
    min_size: int
    max_size: Optional[int]
    # Side the ImageNet weights insist on (None: any size from min_size works).
    imagenet_fixed_size: Optional[int]
    top1: float  # ImageNet top-1 accuracy, percent
    # "tf": x/127.5-1; "torch": x/255 then ImageNet mean/std; "caffe": RGB->BGR
    # minus the ImageNet mean; "inside": the backbone rescales raw 0-255 itself.
    preprocessing: str
    cpu_images_per_sec: float  # forward pass, default size, batch 16, 2-core CPU
    weights_file: str  # name in the Keras cache (~/.keras/models)
    weights_url: str
    weights_hash: Optional[str]  # md5 (32 hex) or sha256 (64 hex); None: Keras has none
    # Input sides with their own ImageNet file (MobileNetV2); the file/URL above
    # are for ``default_size`` and carry it as "_<size>_".
    imagenet_sizes: tuple[int, ...] = field(default=())

    def imagenet_file(self, image_size: Optional[int] = None) -> tuple[str, str, Optional[str]]:
        """(cache file name, URL, hash) of the ImageNet file Keras would use at this size.

        Only MobileNetV2 publishes one file per training resolution; like Keras it
        takes the file for exactly that side and the 224 one otherwise.
        """
        if self.imagenet_sizes and image_size in self.imagenet_sizes \
                and image_size != self.default_size:
            old, new = f"_{self.default_size}_", f"_{image_size}_"
            return (self.weights_file.replace(old, new), self.weights_url.replace(old, new),
                    None)
        return self.weights_file, self.weights_url, self.weights_hash

    def size_range(self) -> str:
        top = self.max_size or MAX_IMAGE_SIZE
        return f"{self.min_size}-{top}"


def _spec(name, module, params, default_size, top1, preprocessing, cpu, file, url, hsh, *,
          min_size=32, max_size=None, imagenet_fixed_size=None, imagenet_sizes=()):
    return BackboneSpec(name=name, module=module, params=params, default_size=default_size,
                        min_size=min_size, max_size=max_size,
                        imagenet_fixed_size=imagenet_fixed_size, top1=top1,
                        preprocessing=preprocessing, cpu_images_per_sec=cpu, weights_file=file,
                        weights_url=url, weights_hash=hsh, imagenet_sizes=imagenet_sizes)


def _effnet(variant, params, size, top1, cpu, hsh):
    file = f"efficientnet{variant}_notop.h5"
    return _spec(f"EfficientNet{variant.upper()}", "efficientnet", params, size, top1, "inside",
                 cpu, file, _EFFNET_ROOT + file, hsh)


def _effnet_v2(variant, params, size, top1, cpu, hsh):
    file = f"efficientnetv2-{variant}_notop.h5"
    return _spec(f"EfficientNetV2{variant.upper()}", "efficientnet_v2", params, size, top1,
                 "inside", cpu, file, _TF_ROOT + "efficientnet_v2/" + file, hsh)


_MNV2_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
_DENSENET_FILE = "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"
_XCEPTION_FILE = "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
_INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
_VGG16_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"

_SPECS = [
    _spec("MobileNetV2", "mobilenet_v2", 2_257_984, 224, 71.3, "tf", 55.8, _MNV2_FILE,
          _TF_ROOT + "mobilenet_v2/" + _MNV2_FILE, None, imagenet_sizes=(96, 128, 160, 192, 224)),
    _spec("MobileNetV3Small", "mobilenet_v3", 939_120, 224, 68.1, "inside", 362.5,
          "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
          _TF_ROOT + "mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
          "d3e8ec802a04aa4fc771ee12a9a9b836"),
    _spec("MobileNetV3Large", "mobilenet_v3", 2_996_352, 224, 75.6, "inside", 67.0,
          "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
          _TF_ROOT + "mobilenet_v3/weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
          "07fb09a5933dd0c8eaafa16978110389"),
    _effnet("b0", 4_049_571, 224, 77.1, 40.1, "50bc09e76180e00e4465e1a485ddc09d"),
    _effnet("b1", 6_575_239, 240, 79.1, 18.7, "74c4e6b3e1f6a1eea24c589628592432"),
    _effnet("b2", 7_768_569, 260, 80.1, 13.1, "111f8e2ac8aa800a7a99e3239f7bfb39"),
    _effnet("b3", 10_783_535, 300, 81.6, 6.7, "af6d107764bb5b1abb91932881670226"),
    _effnet_v2("b0", 5_919_312, 224, 78.7, 31.1, "893217f2bb855e2983157299931e43ff"),
    _effnet_v2("b1", 6_931_124, 240, 79.8, 21.6, "0e80663031ca32d657f9caa404b6ec37"),
    _effnet_v2("b2", 8_769_374, 260, 80.5, 11.0, "1dfe2e7a5d45b6632553a8961ea609eb"),
    _effnet_v2("b3", 12_930_622, 300, 82.0, 6.3, "f6abf7b5849ac99a89b50dd3fd532856"),
    _effnet_v2("s", 20_331_360, 384, 83.9, 4.1, "af0682fb74e8c54910f2d4393339c070"),
    _spec("ResNet50", "resnet50", 23_587_712, 224, 74.9, "caffe", 15.3,
          "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
          _TF_ROOT + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
          "4d473c1dd8becc155b73f8504c6f6626"),
    _spec("ResNet50V2", "resnet_v2", 23_564_800, 224, 76.0, "tf", 23.8,
          "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
          _TF_ROOT + "resnet/resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
          "fac2f116257151a9d068a22e544a4917"),
    _spec("ResNet101V2", "resnet_v2", 42_626_560, 224, 77.2, "tf", 6.7,
          "resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
          _TF_ROOT + "resnet/resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
          "c0ed64b8031c3730f411d2eb4eea35b5"),
    _spec("DenseNet121", "densenet", 7_037_504, 224, 75.0, "torch", 22.3, _DENSENET_FILE,
          _TF_ROOT + "densenet/" + _DENSENET_FILE, "30ee3e1110167f948a6b9946edeeb738"),
    _spec("Xception", "xception", 20_861_480, 299, 79.0, "tf", 7.0, _XCEPTION_FILE,
          _TF_ROOT + "xception/" + _XCEPTION_FILE, "b0042744bf5b25fce3cb969f33bebb97",
          min_size=71),
    _spec("InceptionV3", "inception_v3", 21_802_784, 299, 77.9, "tf", 10.3, _INCEPTION_FILE,
          _TF_ROOT + "inception_v3/" + _INCEPTION_FILE, "bcbd6486424b2319ff4ef7d526e38f63",
          min_size=75),
    _spec("ConvNeXtTiny", "convnext", 27_820_128, 224, 81.3, "inside", 2.4,
          "convnext_tiny_notop.h5", _TF_ROOT + "convnext/convnext_tiny_notop.h5",
          "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    _spec("NASNetMobile", "nasnet", 4_269_716, 224, 74.4, "tf", 37.0, "nasnet_mobile_no_top.h5",
          _TF_ROOT + "nasnet/NASNet-mobile-no-top.h5", "1ed92395b5b598bdda52abe5c0dbfd63"),
    # No fixed size with ImageNet weights: Keras' NASNetMobile without its top takes any
    # side from 32 px, and the app loads the file itself, as for a file chosen by hand.
    _spec("VGG16", "vgg16", 14_714_688, 224, 71.3, "caffe", 2.3, _VGG16_FILE,
          _TF_ROOT + "vgg16/" + _VGG16_FILE, "6d6bbae143d832006294945121d1f1fc"),
]

CATALOG: dict[str, BackboneSpec] = {s.name: s for s in _SPECS}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY = {_key(n): s for n, s in CATALOG.items()}


def get_backbone(name: str) -> BackboneSpec:
    """The spec for ``name`` in any spelling ("mobilenetv2", "EfficientNet-B0")."""
    spec = _BY_KEY.get(_key(name or ""))
    if spec is None:
        raise UserError(f"unknown backbone {name!r}; choose one of: {', '.join(CATALOG)}")
    return spec


class Recommendation(NamedTuple):
    name: str
    reason: str


def recommendation(n_images: int) -> Recommendation:
    """The backbone to start with for a data set of ``n_images`` images, and why.

    Few images cannot use a large backbone's capacity (it overfits and trains
    slowly), so the suggestion grows with the data; all three are fast enough to
    train on a laptop CPU.
    """
    if n_images < 1000:
        return Recommendation("MobileNetV2", (
            f"{n_images} images: a small, fast backbone (2.3 M parameters) overfits less on "
            "little data and trains in minutes even without a GPU"))
    if n_images < 10000:
        return Recommendation("EfficientNetB0", (
            f"{n_images} images: enough data for EfficientNetB0, more accurate on ImageNet "
            "(77.1% vs 71.3%) while still small (4.0 M parameters)"))
    return Recommendation("EfficientNetV2B2", (
        f"{n_images} images: plenty of data for a larger backbone; EfficientNetV2B2 reaches "
        "80.5% ImageNet top-1 with 8.8 M parameters"))


def recommend_backbone(n_images: int) -> str:
    """Name of :func:`recommendation`'s backbone (the reason is in ``recommendation``)."""
    return recommendation(n_images).name


def resolve_image_size(spec: BackboneSpec, image_size: int, weights: str) -> int:
    """The input side to build with: 0 means the default; checks the allowed range.

    With ImageNet weights a backbone whose weights fix the input (``imagenet_fixed_size``;
    none in the catalogue now: NASNetMobile's 224 was no limit of its no-top file) only
    accepts that side.
    """
    imagenet = (weights or "").strip().lower() == "imagenet"
    fixed = spec.imagenet_fixed_size if imagenet else None
    if not image_size:
        return fixed or spec.default_size
    top = min(spec.max_size or MAX_IMAGE_SIZE, MAX_IMAGE_SIZE)
    if not spec.min_size <= image_size <= top:
        raise ConfigError(
            f"model.image_size: {image_size} px is outside what {spec.name} accepts "
            f"({spec.min_size}-{top} px): use {spec.min_size if image_size < spec.min_size else top}"
            f" px or {'more' if image_size < spec.min_size else 'less'}, or 0 for its default "
            f"{spec.default_size} px")
    if fixed and image_size != fixed:
        raise ConfigError(
            f"model.image_size: {spec.name}'s ImageNet weights need {fixed} px, not {image_size}; "
            f"set the image size to {fixed} (or 0), or use weights 'none' to train from scratch")
    return image_size
