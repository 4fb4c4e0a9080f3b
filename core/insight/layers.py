"""Look inside a convolutional network: shapes by formula, parameters, receptive field.

The "see inside the network" page teaches a handful of ideas on the user's own
model rather than on a textbook figure:

* the output size of a convolution or pooling layer is
  ``O = ⌊(W − K + 2P)/S⌋ + 1`` — every row shows the formula with the layer's
  numbers filled in, and whether it agrees with the shape Keras computed;
* a convolution needs far fewer parameters than a fully connected layer
  joining the same input and output, because its weights are local and
  shared — every row shows both counts;
* each output position "sees" a window of the input image, the receptive
  field, which grows layer by layer.

Nothing here runs the model: it reads the symbolic graph (layer configs and
the shapes of the tensors between layers), so it is instant even for a
ResNet.  Nested models — the app's classifier wraps a ``keras.applications``
model in a layer named ``backbone`` — are walked into and their layers listed
under a ``backbone/`` path.  Keras is never imported at module level.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Optional, Sequence, Union

from core.errors import ConfigError, ModelFileError

Shape = tuple  # (None, H, W, C): the batch axis stays None, like Keras prints it.

CONV_TYPES = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
              "SeparableConv1D", "SeparableConv2D")
POOL_TYPES = ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
              "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
GLOBAL_POOL_PREFIXES = ("GlobalAveragePooling", "GlobalMaxPooling")
PADDING_TYPES = ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
CROPPING_TYPES = ("Cropping1D", "Cropping2D", "Cropping3D")


# ---------------------------------------------------------------------------
# The output-size formula
# ---------------------------------------------------------------------------

def effective_kernel(k: int, dilation: int = 1) -> int:
    """A dilated kernel of size K with rate d covers d·(K − 1) + 1 input positions."""
    return dilation * (k - 1) + 1


def padding_amount(w: int, k: int, s: int, padding: str, dilation: int = 1) -> float:
    """The P to write in ``O = ⌊(W − K + 2P)/S⌋ + 1``.

    "valid" means no padding, P = 0.  "same" means "pad so that O = ⌈W/S⌉";
    the symmetric half padding P = (K − 1)/2 does exactly that for every W
    and S (W − K + K − 1 = W − 1 and ⌊(W − 1)/S⌋ + 1 = ⌈W/S⌉), so it is the P a
    textbook writes.  For an even K it is a half (TensorFlow then puts the odd
    pixel at the bottom/right; :func:`same_padding_pixels` gives the exact split).
    ``w`` and ``s`` are accepted so callers can pass a layer's numbers as they are.
    """
    padding = _check_padding(padding)
    if padding == "valid":
        return 0
    p = (effective_kernel(k, dilation) - 1) / 2
    return int(p) if float(p).is_integer() else p


def same_padding_pixels(w: int, k: int, s: int, dilation: int = 1) -> tuple[int, int]:
    """The zeros TensorFlow really adds for "same": (before, after) along one axis."""
    out = -(-w // s)
    total = max((out - 1) * s + effective_kernel(k, dilation) - w, 0)
    return total // 2, total - total // 2


def conv_output_size(w: int, k: int, s: int, padding: str, dilation: int = 1) -> int:
    """Output length along one axis: ``⌊(W − K + 2P)/S⌋ + 1`` with K the effective kernel.

    Equals ``⌈W/S⌉`` for "same" and ``⌊(W − K)/S⌋ + 1`` for "valid"; 0 when a
    "valid" window does not fit at all.
    """
    padding = _check_padding(padding)
    if w < 0 or k < 1 or s < 1 or dilation < 1:
        raise ConfigError(f"conv_output_size: need W ≥ 0, K ≥ 1, S ≥ 1 and dilation ≥ 1 "
                          f"(got W={w}, K={k}, S={s}, dilation={dilation})")
    k_eff = effective_kernel(k, dilation)
    two_p = 0 if padding == "valid" else k_eff - 1
    return max(math.floor((w - k_eff + two_p) / s) + 1, 0)


def formula_text(w: int, k: int, s: int, padding: str, dilation: int = 1) -> str:
    """The formula with the numbers filled in, e.g. ``⌊(96 − 3 + 2·1)/2⌋ + 1 = 48``.

    The floor brackets appear only when the division is not exact, which is
    where they matter.
    """
    k_eff = effective_kernel(k, dilation)
    p = padding_amount(w, k, s, padding, dilation)
    out = conv_output_size(w, k, s, padding, dilation)
    numerator = w - k_eff + 2 * p
    inner = f"({w} − {k_eff} + 2·{p})/{s}"
    if numerator % s:
        inner = f"⌊{inner}⌋"
    text = f"{inner} + 1 = {out}"
    if dilation > 1:
        text += f"  (dilated K = {dilation}·({k} − 1) + 1 = {k_eff})"
    return text


def _check_padding(padding: str) -> str:
    p = str(padding).lower()
    if p not in ("same", "valid"):
        raise ConfigError(f"padding must be 'same' or 'valid' (got {padding!r})")
    return p


# ---------------------------------------------------------------------------
# Walking (nested) models
# ---------------------------------------------------------------------------

def is_container(layer: Any) -> bool:
    """True for a model used as a layer (the app's ``backbone``): we walk into those."""
    import keras

    return isinstance(layer, keras.Model)


def _leaf_layers(model: Any) -> list:
    layers = list(getattr(model, "layers", []))
    return layers


def iter_layers(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(path, layer)`` for every non-container layer, walking into nested models.

    Paths are ``name`` at the top and ``backbone/name`` inside a nested model,
    so they are unique even if an inner name repeats an outer one.
    """
    for layer in _leaf_layers(model):
        path = f"{prefix}{layer.name}"
        if is_container(layer):
            yield from iter_layers(layer, prefix=f"{path}/")
        else:
            yield path, layer


def find_layer(model: Any, name: str) -> tuple[list, Any, str]:
    """Find a layer by path (``backbone/Conv1``) or plain name (``Conv1``).

    Returns ``(containers, layer, path)`` where ``containers`` is the chain of
    nested models from the top model down to the one holding the layer.  A
    plain name that occurs twice is ambiguous and rejected with both paths.
    """
    if not name:
        raise ConfigError("layer name is empty; pick one of the model's layers")
    matches = []

    def visit(container, chain, prefix):
        for layer in _leaf_layers(container):
            path = f"{prefix}{layer.name}"
            if path == name or (layer.name == name and "/" not in name):
                matches.append((chain, layer, path))
            if is_container(layer):
                visit(layer, chain + [layer], f"{path}/")

    visit(model, [], "")
    exact = [m for m in matches if m[2] == name]
    if exact:
        return exact[0]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(f"layer {name!r} is ambiguous: it is "
                          + " and ".join(m[2] for m in matches) + "; give the full path")
    some = [p for p, _ in iter_layers(model)]
    hint = ", ".join(some if len(some) <= 6 else some[:3] + ["…"] + some[-3:])
    raise ConfigError(f"model has no layer {name!r} (its layers include {hint})")


def node_of(layer: Any, known: Optional[set] = None):
    """The call of ``layer`` that belongs to the graph being walked.

    keras.applications and the app call every layer once, so this is nearly
    always the first (only) inbound node; for a layer shared between calls we
    prefer the node whose inputs were already seen on this walk.
    """
    nodes = list(getattr(layer, "_inbound_nodes", []) or [])
    if not nodes:
        raise ModelFileError(f"layer {layer.name!r} was never called, so its shapes are unknown; "
                             "build the model on an input (keras.Input) before inspecting it")
    if known is not None and len(nodes) > 1:
        for node in nodes:
            if all(id(t) in known for t in node.input_tensors):
                return node
    return nodes[0]


def shape_of(tensor: Any) -> Shape:
    return tuple(None if d is None else int(d) for d in tensor.shape)


def _shapes(tensors: Sequence[Any]) -> Union[Shape, list]:
    shapes = [shape_of(t) for t in tensors]
    return shapes[0] if len(shapes) == 1 else shapes


def _spatial(shape: Shape, data_format: str = "channels_last") -> Optional[tuple]:
    """The spatial axes of a (None, H, W, C) shape, or None for a vector."""
    if shape is None or len(shape) < 3:
        return None
    return tuple(shape[2:]) if data_format == "channels_first" else tuple(shape[1:-1])


def _channels(shape: Shape, data_format: str = "channels_last") -> Optional[int]:
    if not shape or len(shape) < 2:
        return None
    return shape[1] if data_format == "channels_first" else shape[-1]


# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------

@dataclass
class LayerInfo:
    """One layer of the table.

    Shapes include the batch axis as None.  ``formula_*`` are None for layers
    whose output size has no formula (activations, BN, dense ...).
    ``receptive_field`` and ``jump`` are in input-image pixels along the
    largest axis (equal for square kernels): how wide a window of the image one
    output position depends on, and how far apart neighbouring positions are.
    ``dense_equivalent_params`` is what a fully connected layer joining the same
    input and output sizes would need (None where that comparison means nothing).
    """

    name: str
    path: str
    type: str
    kernel_size: Optional[tuple] = None
    strides: Optional[tuple] = None
    padding: Optional[str] = None
    dilation: Optional[tuple] = None
    input_shape: Any = None
    output_shape: Any = None
    formula_shape: Optional[tuple] = None
    formula_text: Optional[str] = None
    formula_matches: Optional[bool] = None
    params: int = 0
    trainable_params: int = 0
    params_formula: str = "0"
    params_note: str = ""
    dense_equivalent_params: Optional[int] = None
    receptive_field: Optional[int] = None
    jump: Optional[Union[int, float]] = None
    trainable: bool = True
    activation: Optional[str] = None

    def to_dict(self) -> dict:
        return _jsonable(asdict(self))


@dataclass
class ModelInspection:
    """All rows plus totals; the totals are Keras' own count_params figures."""

    model_name: str
    input_shape: Any
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0

    def row(self, name: str) -> LayerInfo:
        for r in self.rows:
            if r.path == name or r.name == name:
                return r
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {
            "model_name": self.model_name,
            "input_shape": _jsonable(self.input_shape),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "layers": [r.to_dict() for r in self.rows],
        }

    def to_text(self) -> str:
        """A fixed-width table for the terminal."""
        header = ("layer", "type", "kernel/stride/pad", "in → out", "params", "RF", "FC-equiv.")
        lines = []
        for r in self.rows:
            lines.append((r.path, r.type, _kernel_cell(r),
                          f"{_shape_cell(r.input_shape)} → {_shape_cell(r.output_shape)}",
                          f"{r.params:,}", "" if r.receptive_field is None else str(r.receptive_field),
                          "" if r.dense_equivalent_params is None else f"{r.dense_equivalent_params:,}"))
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
                  for i, h in enumerate(header)]
        right = {4, 5, 6}

        def fmt(cells):
            return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                             for i, c in enumerate(cells)).rstrip()

        out = [f"Model: {self.model_name}   input {_shape_cell(self.input_shape)}",
               fmt(header), fmt(["-" * w for w in widths])]
        out += [fmt(line) for line in lines]
        mismatched = [r.path for r in self.rows if r.formula_matches is False]
        out += ["",
                f"Total params:         {self.total_params:,}",
                f"Trainable params:     {self.trainable_params:,}",
                f"Non-trainable params: {self.non_trainable_params:,}"]
        if mismatched:
            out.append("Formula differs from Keras for: " + ", ".join(mismatched))
        return "\n".join(out)


def _kernel_cell(r: LayerInfo) -> str:
    if r.kernel_size is None:
        return ""
    k = "×".join(map(str, r.kernel_size))
    s = "×".join(map(str, r.strides or ()))
    cell = f"{k} /{s} {r.padding or ''}".rstrip()
    if r.dilation and any(d != 1 for d in r.dilation):
        cell += f" d{'×'.join(map(str, r.dilation))}"
    return cell


def _shape_cell(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_cell(s) for s in shape) + "]"
    return "×".join("?" if d is None else str(d) for d in shape[1:]) or "scalar"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _weights_size(weights: Sequence[Any]) -> int:
    return sum(int(math.prod(w.shape)) for w in weights)


def _params_formula(layer: Any) -> str:
    terms = ["·".join(str(int(d)) for d in w.shape) or "1" for w in layer.weights]
    total = _weights_size(layer.weights)
    if not terms:
        return "0"
    if len(terms) == 1 and "·" not in terms[0]:
        return terms[0]
    return " + ".join(terms) + f" = {total}"


def _activation_name(layer: Any) -> Optional[str]:
    try:
        act = layer.get_config().get("activation")
    except Exception:  # a layer whose config cannot be read still gets a row
        return None
    if isinstance(act, dict):
        act = act.get("config", {}).get("name") or act.get("class_name")
    return act if isinstance(act, str) and act != "linear" else None


def _params_note(kind: str, layer: Any, in_shape: Shape, out_shape: Shape) -> str:
    df = getattr(layer, "data_format", "channels_last") or "channels_last"
    cin = _channels(in_shape, df) if isinstance(in_shape, tuple) else None
    k = "×".join(map(str, getattr(layer, "kernel_size", ()) or ()))
    bias = bool(getattr(layer, "use_bias", False))
    if kind.startswith("Depthwise"):
        dm = getattr(layer, "depth_multiplier", 1)
        return (f"one {k} filter per input channel ({cin}·{dm}), no mixing across channels"
                + ("; plus a bias per output" if bias else ""))
    if kind.startswith("Separable"):
        return (f"depthwise {k} filter per channel, then a 1×1 pointwise mix to "
                f"{getattr(layer, 'filters', '?')} channels" + ("; plus a bias each" if bias else ""))
    if kind in CONV_TYPES:
        groups = getattr(layer, "groups", 1) or 1
        per = f"{k}×{cin // groups if cin else '?'}"
        return (f"{getattr(layer, 'filters', '?')} filters of {per} weights shared over every position"
                + ("; plus a bias each" if bias else ""))
    if kind == "Dense":
        return (f"each of {getattr(layer, 'units', '?')} outputs joins every input"
                + ("; plus a bias each" if bias else ""))
    if kind == "BatchNormalization":
        return ("γ (scale) and β (offset) are learned; the moving mean and variance are "
                "statistics, not trained, so they are non-trainable")
    if kind in POOL_TYPES or kind.startswith(GLOBAL_POOL_PREFIXES):
        return "no weights: a fixed max/average over each window"
    return ""


def _dense_equivalent(kind: str, in_shape: Any, out_shape: Any) -> Optional[int]:
    """Weights + biases of a fully connected layer from the whole input to the whole output."""
    if not (kind in CONV_TYPES or kind in POOL_TYPES or kind == "Dense"):
        return None
    if not isinstance(in_shape, tuple) or not isinstance(out_shape, tuple):
        return None
    if any(d is None for d in in_shape[1:]) or any(d is None for d in out_shape[1:]):
        return None
    n_in, n_out = math.prod(in_shape[1:]), math.prod(out_shape[1:])
    return n_in * n_out + n_out


def _as_tuple(v: Any, rank: int) -> Optional[tuple]:
    if v is None:
        return None
    if isinstance(v, int):
        return (v,) * rank
    return tuple(int(x) for x in v)


# ---------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------

class _Field:
    """Receptive field (r) and jump (j) per spatial axis of one tensor."""

    __slots__ = ("r", "j")

    def __init__(self, r: tuple, j: tuple) -> None:
        self.r, self.j = r, j


def _merge(fields: list, rank: int) -> _Field:
    """Several inputs (Add, Concatenate): take the largest r and j per axis.

    Along a branchy block (ResNet's shortcut, Inception's towers) each branch
    has its own receptive field; the output depends on all of them, so the
    widest one is the honest answer.  Jumps are normally equal; if not we keep
    the largest.  This is the approximation the docs promise.
    """
    fields = [f for f in fields if f is not None]
    if not fields:
        return _Field((1,) * rank, (1,) * rank)
    n = max(len(f.r) for f in fields)
    fields = [f for f in fields if len(f.r) == n] or fields
    return _Field(tuple(max(f.r[i] for f in fields) for i in range(n)),
                  tuple(max(f.j[i] for f in fields) for i in range(n)))


def _spatial_inputs(ins: Sequence[Any], df: str, fields: dict) -> list:
    """The fields of the inputs that carry the spatial path.

    A squeeze-and-excitation gate (EfficientNet, MobileNetV3) multiplies the map
    by a 1×1 vector made by global pooling.  That gate depends on the whole
    image, so counting it would make every later receptive field "the whole
    image" and hide how the convolutions grow it; like the published
    receptive-field tables we follow the spatial path and ignore broadcast
    1×1 inputs when a larger map is merged with them.
    """
    sized = []
    for t in ins:
        sp = _spatial(shape_of(t), df)
        area = math.prod(d or 2 for d in sp) if sp else 1
        sized.append((area, fields.get(id(t))))
    if any(a > 1 for a, _ in sized):
        sized = [(a, f) for a, f in sized if a > 1]
    return [f for _, f in sized]


def _num(x: float) -> Union[int, float]:
    return int(x) if float(x).is_integer() else float(x)


class _Walker:
    def __init__(self) -> None:
        self.fields: dict[int, _Field] = {}
        self.rows: list[LayerInfo] = []

    def walk(self, model: Any, prefix: str, parent_trainable: bool, top: bool) -> None:
        for layer in _leaf_layers(model):
            kind = type(layer).__name__
            path = f"{prefix}{layer.name}"
            if kind == "InputLayer":
                outs = node_of(layer).output_tensors
                for t in outs:
                    if id(t) not in self.fields:
                        rank = max(len(t.shape) - 2, 0)
                        self.fields[id(t)] = _Field((1,) * rank, (1,) * rank)
                if top:
                    self.rows.append(LayerInfo(name=layer.name, path=path, type=kind,
                                               input_shape=_shapes(outs), output_shape=_shapes(outs),
                                               receptive_field=1, jump=1,
                                               trainable=parent_trainable))
                continue
            node = node_of(layer, set(self.fields))
            ins, outs = list(node.input_tensors), list(node.output_tensors)
            if is_container(layer):
                for inner, outer in zip(layer.inputs, ins):
                    self.fields[id(inner)] = self.fields.get(id(outer))
                self.walk(layer, f"{path}/", parent_trainable and bool(layer.trainable), top=False)
                for inner, outer in zip(layer.outputs, outs):
                    self.fields[id(outer)] = self.fields.get(id(inner))
                continue
            self.rows.append(self._row(layer, kind, path, ins, outs, parent_trainable))

    def _row(self, layer, kind, path, ins, outs, parent_trainable) -> LayerInfo:
        in_shape, out_shape = _shapes(ins), _shapes(outs)
        df = getattr(layer, "data_format", "channels_last") or "channels_last"
        first_in = shape_of(ins[0]) if ins else None
        rank = len(_spatial(first_in, df) or ())
        row = LayerInfo(name=layer.name, path=path, type=kind, input_shape=in_shape,
                        output_shape=out_shape,
                        params=_weights_size(layer.weights),
                        trainable_params=_weights_size(layer.trainable_weights),
                        params_formula=_params_formula(layer),
                        trainable=parent_trainable and bool(layer.trainable),
                        activation=_activation_name(layer))
        row.params_note = _params_note(kind, layer, first_in, out_shape)
        row.dense_equivalent_params = _dense_equivalent(kind, in_shape, out_shape)

        field_in = _merge(_spatial_inputs(ins, df, self.fields), rank)
        r, j = list(field_in.r), list(field_in.j)
        in_sp = _spatial(first_in, df)
        out_sp = _spatial(shape_of(outs[0]), df) if outs else None

        windowed = kind in CONV_TYPES or kind in POOL_TYPES
        if windowed and in_sp and rank:
            if kind in CONV_TYPES:
                k = _as_tuple(layer.kernel_size, rank)
                d = _as_tuple(getattr(layer, "dilation_rate", 1), rank)
            else:
                k = _as_tuple(layer.pool_size, rank)
                d = (1,) * rank
            s = _as_tuple(layer.strides, rank) or k
            pad = str(layer.padding).lower()
            row.kernel_size, row.strides, row.padding, row.dilation = k, s, pad, d
            if pad in ("same", "valid") and all(w is not None for w in in_sp):
                row.formula_shape = tuple(conv_output_size(in_sp[i], k[i], s[i], pad, d[i])
                                          for i in range(rank))
                texts = [formula_text(in_sp[i], k[i], s[i], pad, d[i]) for i in range(rank)]
                row.formula_text = _axis_texts(texts, rank)
                row.formula_matches = out_sp is not None and tuple(out_sp) == row.formula_shape
            for i in range(len(r)):
                r[i] = r[i] + (effective_kernel(k[i], d[i]) - 1) * j[i]
                j[i] = j[i] * s[i]
        elif kind in PADDING_TYPES or kind in CROPPING_TYPES:
            amounts = layer.padding if kind in PADDING_TYPES else layer.cropping
            amounts = _pairs(amounts, rank)
            if in_sp and amounts and all(w is not None for w in in_sp):
                sign = "+" if kind in PADDING_TYPES else "−"
                shape = tuple(in_sp[i] + (1 if sign == "+" else -1) * sum(amounts[i])
                              for i in range(rank))
                row.formula_shape = shape
                row.formula_text = _axis_texts(
                    [f"{in_sp[i]} {sign} {amounts[i][0]} {sign} {amounts[i][1]} = {shape[i]}"
                     for i in range(rank)], rank)
                row.formula_matches = out_sp is not None and tuple(out_sp) == shape
        elif kind.startswith(GLOBAL_POOL_PREFIXES) or (kind == "Flatten" and in_sp):
            # Every output now depends on every input position: the window spans the map.
            # The jump stays: there is one position left, so it no longer matters.
            if in_sp and all(w is not None for w in in_sp):
                for i in range(len(r)):
                    r[i] = r[i] + (in_sp[i] - 1) * j[i]
        elif in_sp and out_sp and len(in_sp) == len(out_sp) and in_sp != out_sp \
                and all(in_sp) and all(out_sp):
            # Up-sampling / resizing: positions move closer (or further) apart in the image.
            for i in range(len(j)):
                j[i] = j[i] * in_sp[i] / out_sp[i]
        field_out = _Field(tuple(r), tuple(j))
        for t in outs:
            self.fields[id(t)] = field_out
        if r:
            row.receptive_field = int(max(r))
            row.jump = _num(max(j))
        return row


def _pairs(amounts: Any, rank: int) -> Optional[list]:
    if isinstance(amounts, int):
        return [(amounts, amounts)] * rank
    out = []
    for a in amounts:
        out.append((a, a) if isinstance(a, int) else (int(a[0]), int(a[1])))
    return out if len(out) == rank else None


def _axis_texts(texts: list, rank: int) -> str:
    if len(set(texts)) == 1:
        return texts[0]
    names = {1: ["W"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(rank, [str(i) for i in range(rank)])
    return "; ".join(f"{n}: {t}" for n, t in zip(names, texts))


def inspect_layers(model: Any) -> ModelInspection:
    """Describe every layer of ``model`` (walking into nested models) with totals.

    Totals are computed from the model's own weight lists, so they equal
    ``model.count_params()`` and Keras' trainable split exactly.
    """
    if not getattr(model, "inputs", None):
        raise ModelFileError("the model has no defined input yet; build it on keras.Input "
                             "(or load a saved model) before inspecting it")
    walker = _Walker()
    for t in model.inputs:
        rank = max(len(t.shape) - 2, 0)
        walker.fields[id(t)] = _Field((1,) * rank, (1,) * rank)
    walker.walk(model, "", bool(model.trainable), top=True)
    if not any(r.type == "InputLayer" for r in walker.rows):  # Sequential hides its InputLayer
        shapes = _shapes(model.inputs)
        walker.rows.insert(0, LayerInfo(name="input", path="input", type="InputLayer",
                                        input_shape=shapes, output_shape=shapes,
                                        receptive_field=1, jump=1))
    weights = _unique(model.weights)
    trainable = _unique(model.trainable_weights)
    total = _weights_size(weights)
    n_train = _weights_size(trainable)
    return ModelInspection(model_name=model.name, input_shape=_shapes(model.inputs),
                           rows=walker.rows, total_params=total, trainable_params=n_train,
                           non_trainable_params=total - n_train)


def _unique(weights: Sequence[Any]) -> list:
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out
