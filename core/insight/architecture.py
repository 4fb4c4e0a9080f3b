"""The configured architecture before any training: build it, and preview fine-tuning on it.

The Model page lists the layers of the backbone the user chose and says which
of them will learn in the fine-tuning phase; the Network page shows the same
untrained model before a run exists.  Both ask this module, in a worker, so the
answer is decided by the engine's own calls (:func:`core.model.build.build_model`,
:func:`core.model.build.apply_freeze`, the same ones training makes) and the
window never re-encodes a rule such as "BatchNormalization never trains".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def build_untrained(model_cfg, num_classes: int, listener=None, cancel=None):
    """The classifier ``model_cfg`` describes, with random weights (only the shapes matter).

    The input side is resolved as for a model without ImageNet weights, so a
    size the ImageNet file would refuse can still be looked at.
    """
    from core.events import Progress, emit
    from core.model.backbones import get_backbone, resolve_image_size
    from core.model.build import build_model

    emit(listener, Progress(0, 0, f"Building {model_cfg.backbone}…"))
    spec = get_backbone(model_cfg.backbone)
    size = resolve_image_size(spec, model_cfg.image_size, "none")
    model = build_model(model_cfg, max(2, int(num_classes)), size, None)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return model


@dataclass
class FreezePreview:
    """What the fine-tuning phase of a run with these settings would train."""

    rows: list             # core.model.layer_table.LayerRow, trainable as in fine-tuning
    choosable: frozenset   # backbone layers the settings can switch on (weights, not frozen by rule)
    trainable: int         # parameters that learn in fine-tuning
    total: int
    #: Why fine-tuning would train no backbone weight, so training skips it ("" when it
    #: trains some): "6,147 trained (0 %)" had been left for the user to puzzle out.
    skipped: str = ""


def freeze_preview(model: Any, model_cfg) -> FreezePreview:
    """Apply ``model_cfg.freeze`` to ``model`` exactly as training does, and describe it.

    ``choosable`` comes from the engine too: the backbone layers with weights
    that :func:`~core.model.build.apply_freeze` lets learn when *every* layer is
    asked to (so BatchNormalization is left out, except when training from
    scratch, where it learns like any layer).  The phases are applied in
    training's order, so the answer never depends on an earlier preview.
    Changes the model's ``trainable`` flags: use a model of its own.
    """
    from core.config import FreezeConfig
    from core.model.build import NO_WEIGHT_CHOSEN, apply_freeze, is_from_scratch
    from core.model.layer_table import layer_table

    scratch = is_from_scratch(model_cfg)
    apply_freeze(model, FreezeConfig(mode="all"), "fine_tune", scratch)
    choosable = frozenset(r.name for r in layer_table(model)
                          if r.part == "backbone" and r.params > 0 and r.trainable)
    head, _ = apply_freeze(model, model_cfg.freeze, "head", scratch)
    trainable, total = apply_freeze(model, model_cfg.freeze, "fine_tune", scratch)
    # phase_two_frozen's answer from the counts already taken (it would freeze the model anew)
    skipped = "" if scratch or trainable > head else (
        model_cfg.freeze.nothing_unfreezes() or NO_WEIGHT_CHOSEN)
    return FreezePreview(layer_table(model), choosable, int(trainable), int(total), skipped)


def preview_layers(model_cfg, num_classes: int, model: Any = None, listener=None,
                   cancel=None) -> tuple[Any, FreezePreview]:
    """Worker: build the architecture when ``model`` is None, then preview its fine-tuning."""
    if model is None:
        model = build_untrained(model_cfg, num_classes, listener, cancel)
    return model, freeze_preview(model, model_cfg)
