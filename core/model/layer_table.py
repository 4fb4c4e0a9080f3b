"""The GUI's layer table: every layer of a classifier, grouped into the backbone's blocks.

keras.applications names most layers after the block they belong to
("block_13_expand", "conv4_block2_1_conv"), but every family spells it
differently and some leave layers to Keras' automatic names ("conv2d_5").
:data:`_BLOCK_PATTERNS` knows the spellings, and :func:`layer_table` fills
the gaps, so the Model page can show a tree of blocks for any backbone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from core.model.build import backbone_of, count_values


@dataclass(frozen=True)
class LayerRow:
    """One line of the GUI's layer table."""

    name: str
    type: str
    output_shape: str
    params: int
    trainable: bool
    block: str  # group for the layer tree ("block_13", "conv4_block2", "head")
    part: str = "backbone"  # "preprocessing", "backbone" or "head"


# Block prefixes, tried in order on a backbone layer's name (its model-name
# prefix, e.g. "convnext_tiny_", removed first).
_BLOCK_PATTERNS = [
    re.compile(r"^(conv\d+_block\d+)_"),  # ResNet*, DenseNet
    re.compile(r"^(block_\d+)_"),  # MobileNetV2
    re.compile(r"^(block\d+[a-z]?)_"),  # EfficientNet*, VGG, Xception
    re.compile(r"^(expanded_conv(?:_\d+)?)(?:_|$)"),  # MobileNetV2/V3
    re.compile(r"^(stage_\d+_block_\d+)_"),  # ConvNeXt
    re.compile(r"^(downsampling_block_\d+)"),  # ConvNeXt
    # InceptionV3: "mixedN" ends a block; "mixed9_0" and "mixed9_1" are joins inside the
    # blocks mixed9 and mixed10 (named "_1" had put mixed10's 6.2 M weights under mixed9)
    re.compile(r"^(mixed\d+)$"),
    re.compile(r"^(?:normal|reduction|adjust|separable)_.*?_((?:stem|reduce)_\d+|\d+)$"),  # NASNet
    re.compile(r"^conv(?:_bn)?$()"),  # MobileNetV3 stem conv ("" -> "stem")
    re.compile(r"^conv_1(?:_bn)?$()"),  # MobileNetV3 last conv ("" -> "top")
    re.compile(r"^(stem)(?:_|$)"),
    re.compile(r"^(top)(?:_|$)"),
    re.compile(r"^(conv\d|pool\d|post)_"),
    re.compile(r"^(Conv1|bn_Conv1|Conv_1)(?:_|$)"),
]


def block_of(layer_name: str, model_prefix: str = "") -> Optional[str]:
    """The block a backbone layer belongs to, from its name; None when the name says nothing."""
    name = layer_name
    if model_prefix and name.startswith(model_prefix):
        name = name[len(model_prefix):]
    for pattern in _BLOCK_PATTERNS:
        m = pattern.match(name)
        if m:
            block = m.group(1)
            if pattern.pattern.startswith("^(?:normal"):
                return f"cell_{block}"
            if block == "":
                return "top" if name.startswith("conv_1") else "stem"
            if block in ("bn_Conv1", "Conv1"):
                return "Conv1"
            return block
    return None


def _output_shape(layer) -> str:
    try:
        shape = layer.output.shape
    except Exception:
        return ""
    return "(" + ", ".join("None" if d is None else str(int(d)) for d in shape) + ")"


def layer_table(model) -> list[LayerRow]:
    """Every preprocessing, backbone and head layer, in order, for the GUI's layer tree.

    Layers whose names carry no block (Keras' automatic names such as
    "conv2d_5") join the block of the layer before them, except that layers
    leading up to an InceptionV3 "mixedN" join that block, since "mixedN" is
    where the block ends.
    """
    backbone = backbone_of(model)
    rows: list[LayerRow] = []
    seen_backbone = False
    for layer in model.layers:
        if layer is backbone:
            seen_backbone = True
            rows.extend(_backbone_rows(backbone))
            continue
        if layer.name == "image":
            continue
        part = "head" if seen_backbone else "preprocessing"
        rows.append(LayerRow(layer.name, type(layer).__name__, _output_shape(layer),
                             count_values(layer.weights), bool(layer.trainable), part, part))
    return rows


def _backbone_rows(backbone) -> list[LayerRow]:
    prefix = ""
    for layer in backbone.layers:
        m = re.match(r"^(convnext_[a-z]+_)", layer.name)
        if m:
            prefix = m.group(1)
            break
    blocks = [block_of(layer.name, prefix) for layer in backbone.layers]
    # Fill unnamed layers: forward to the next InceptionV3 "mixedN", else back.
    n = len(blocks)
    for i in range(n - 1, -1, -1):
        if blocks[i] is None and i + 1 < n and blocks[i + 1] and blocks[i + 1].startswith("mixed") \
                and type(backbone.layers[i]).__name__ != "InputLayer":
            blocks[i] = blocks[i + 1]
    last = "input"
    for i in range(n):
        if blocks[i] is None:
            blocks[i] = "stem" if last == "input" and type(backbone.layers[i]).__name__ != \
                "InputLayer" else last
        last = blocks[i]
    rows = []
    for layer, block in zip(backbone.layers, blocks):
        trainable = bool(layer.trainable and backbone.trainable)
        rows.append(LayerRow(layer.name, type(layer).__name__, _output_shape(layer),
                             count_values(layer.weights), trainable, block, "backbone"))
    return rows
