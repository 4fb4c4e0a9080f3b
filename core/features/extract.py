"""Running the app's own classifier backbone over images: pooled features and pixel signatures.

The features are the classifier's ``avg_pool`` output, built with
:func:`core.model.build.build_model` (the backbone's own preprocessing inside),
so they are exactly what training's head sees for the same backbone, weights
and image size.  Decoding goes through :func:`core.data.imageio.load_rgb`, the
one decoder the app uses everywhere, in a thread pool with a bounded window of
images in flight: memory stays bounded whatever the number of images.

Each image also gets a 32x32 grey *signature* (area-averaged pixels), which
the near-duplicate check compares after the features found the candidates.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence

import numpy as np

from core.data.imageio import ImageError, load_rgb
from core.events import CancelToken, Listener
from core.features.shards import SIGNATURE_SIDE


@dataclass(frozen=True)
class FeatureModel:
    """The network that makes the features: a backbone, its weights choice and the image size.

    ``weights`` is "imagenet", "none" (random: never cached) or a weights file
    path; ``image_size`` 0 means the backbone's default, as in the config.
    """

    backbone: str = "MobileNetV2"
    weights: str = "imagenet"
    image_size: int = 0

    @classmethod
    def from_config(cls, model_cfg) -> "FeatureModel":
        """The features a run with this :class:`core.config.ModelConfig` would train its head on."""
        return cls(model_cfg.backbone, model_cfg.weights, int(model_cfg.image_size))

    def resolved(self) -> tuple[str, int]:
        """(catalog backbone name, input side in pixels); raises ConfigError when not allowed."""
        from core.model.backbones import get_backbone, resolve_image_size

        spec = get_backbone(self.backbone)
        return spec.name, resolve_image_size(spec, self.image_size, self.weights)

    @property
    def random_weights(self) -> bool:
        return (self.weights or "").strip().lower() in ("none", "")


def signature(rgb: np.ndarray) -> np.ndarray:
    """The 32x32 grey area-average of an RGB uint8 image (the near-duplicate check's pixels)."""
    import cv2

    grey = (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32)
    small = cv2.resize(grey, (SIGNATURE_SIDE, SIGNATURE_SIDE), interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


class Extractor:
    """``images (B,S,S,3) uint8 -> features (B,D) float32`` with the classifier's backbone."""

    def __init__(self, model: FeatureModel, listener: Optional[Listener] = None,
                 cancel: Optional[CancelToken] = None) -> None:
        from core.tfenv import start_tensorflow

        start_tensorflow()  # quietly, and only when something must be computed
        import keras
        import tensorflow as tf

        from core.config import ModelConfig
        from core.model.build import build_model
        from core.model.weights import resolve_weights

        name, size = model.resolved()
        cfg = ModelConfig(backbone=name, weights=model.weights, image_size=size)
        weights_path = resolve_weights(cfg, size, listener, cancel)
        classifier = build_model(cfg, 2, size, weights_path)
        net = keras.Model(classifier.inputs, classifier.get_layer("avg_pool").output,
                          name="features")
        self.image_size = size
        self.dim = int(net.output.shape[-1])
        self._fn = tf.function(lambda x: tf.cast(net(x, training=False), tf.float32),
                               reduce_retracing=True)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        return self._fn(tf.convert_to_tensor(images, dtype=tf.float32)).numpy()


def build_extractor(model: FeatureModel, listener: Optional[Listener] = None,
                    cancel: Optional[CancelToken] = None) -> Extractor:
    """Build the feature network (the one costly step a warm store never takes)."""
    return Extractor(model, listener, cancel)


def _decode(path: str, size: int) -> tuple[Optional[np.ndarray], str]:
    try:
        return load_rgb(path, size), ""
    except ImageError as exc:
        return None, exc.reason
    except OSError as exc:  # defensive: imageio maps these
        return None, str(exc)


def decoded_batches(paths: Sequence[str], size: int, batch_size: int,
                    cancel: Optional[CancelToken] = None, workers: Optional[int] = None
                    ) -> Iterator[list[tuple[int, Optional[np.ndarray], str]]]:
    """Batches of ``(index, rgb or None, reason)`` in input order, decoded by a thread pool.

    At most a few batches are in flight, so memory does not grow with the
    number of images; the cancel token is checked between batches.
    """
    workers = workers or max(2, min(16, os.cpu_count() or 2))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fts-features")
    starts = iter(range(0, len(paths), batch_size))
    pending: deque[list[tuple[int, Future]]] = deque()

    def submit() -> None:
        start = next(starts, None)
        if start is not None:
            pending.append([(i, pool.submit(_decode, paths[i], size))
                            for i in range(start, min(start + batch_size, len(paths)))])

    try:
        for _ in range(3):
            submit()
        while pending:
            if cancel is not None:
                cancel.raise_if_cancelled()
            batch = pending.popleft()
            submit()
            yield [(i, *fut.result()) for i, fut in batch]
    finally:
        for batch in pending:
            for _, fut in batch:
                fut.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
