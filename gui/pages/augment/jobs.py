"""The Augmentation page's preview worker: decode, augment, hand back ``QImage``s."""

from __future__ import annotations

from typing import Any

from core.config import AugmentConfig


def preview_size(model_cfg) -> int:
    """The side training will feed the model (core's rule); 224 for a name core does not know."""
    try:
        from core.model.backbones import get_backbone, resolve_image_size

        return resolve_image_size(get_backbone(model_cfg.backbone), model_cfg.image_size,
                                  model_cfg.weights)
    except Exception:  # unknown backbone or a size it refuses: previews still work
        return int(model_cfg.image_size or 224)


def size_refused(model_cfg) -> str:
    """What to say when training will refuse the model's image size ("" when it will not).

    The previews fall back to that size, and had shown it without a word while the
    Model step said it was wrong and Start refused it (a review).  Core's check, no
    TensorFlow: cheap enough for the UI thread."""
    from core.errors import ConfigError, UserError
    from core.model.backbones import get_backbone, resolve_image_size

    try:
        resolve_image_size(get_backbone(model_cfg.backbone), model_cfg.image_size,
                           model_cfg.weights)
    except (ConfigError, UserError) as exc:
        return (f"Previewed at {preview_size(model_cfg)} px, a size training will refuse; "
                f"change it on the Model step. {exc}")
    return ""


def preview_job(paths: list[str], cfg: AugmentConfig, model_cfg, n: int, seed: int,
                listener=None, cancel=None) -> list[tuple[str, Any, list[Any]]]:
    """Worker: decode each image at the model's size and augment it ``n`` times.

    Returns ``(path, original QImage, [augmented QImage...])`` per image; a file
    that cannot be decoded is skipped (the Data page reports it).
    """
    from core.data.augment import augment_previews
    from core.data.imageio import ImageError, load_rgb
    from gui.thumbnails import array_to_qimage

    size = preview_size(model_cfg)
    rows = []
    for i, path in enumerate(paths):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            image = load_rgb(path, size)
        except ImageError:
            continue
        outs = augment_previews(image, cfg, n, size, seed=seed + i)
        rows.append((path, array_to_qimage(image), [array_to_qimage(o) for o in outs]))
    return rows
