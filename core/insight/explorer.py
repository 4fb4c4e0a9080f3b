"""What the Network page shows of a model, computed without a window.

:func:`load_network` opens a saved Keras model (a run's ``model.keras``) or
builds the untrained architecture of a configuration, then reads everything
the page's tabs show first: the layer inspection, the convolutions a user can
pick, a feature-map probe, the first convolution's filters, the activation
functions used, and a few sample images.  It runs in a worker; the page only
draws the result.  Run folders are recognised by :mod:`core.runs.folder`, the
one place that knows their layout.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

#: Images offered in the pickers, spread over the classes.
SAMPLE_IMAGES = 12
#: Layer types whose filters the Kernels tab can draw.
CONV2D_TYPES = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")


@dataclass
class ConvLayer:
    """A 2-D convolution the kernel picker offers."""

    path: str
    type: str
    kernel: tuple
    in_channels: int
    out_channels: int

    @property
    def label(self) -> str:
        k = "×".join(map(str, self.kernel))
        return (f"{self.path} — {self.type} {k}, "
                f"{self.in_channels} → {self.out_channels} channels")

    @property
    def colour_ok(self) -> bool:
        return self.in_channels in (1, 3)


def conv_layers(inspection: Any) -> list[ConvLayer]:
    """The 2-D convolutions of an inspection, in the order the image meets them."""
    out = []
    for row in inspection.rows:
        if row.type in CONV2D_TYPES and isinstance(row.input_shape, tuple):
            out.append(ConvLayer(row.path, row.type, tuple(row.kernel_size or ()),
                                 int(row.input_shape[-1] or 0), int(row.output_shape[-1] or 0)))
    return out


def keras_model_file(path: Optional[str]) -> Optional[str]:
    """The Keras file behind a run folder or model path, or None (exports, missing files)."""
    from core.runs.folder import find_run_folder

    if not path:
        return None
    p = Path(path)
    if os.path.isdir(p):  # os.path: Path raises where the user may not look
        run = find_run_folder(p)
        model = run.model_path if run is not None else p / "model.keras"
        return str(model) if os.path.isfile(model) else None
    if os.path.isfile(p) and p.suffix.lower() in (".keras", ".h5"):
        return str(p)
    return None


def run_images(model_path: str, limit: int = SAMPLE_IMAGES) -> list[str]:
    """Sample images of the run a model file belongs to, from its ``split.json``, classes in turn.

    [] when the model is not a run's, or the run's data folder is gone.
    """
    from core.runs.folder import find_run_folder

    run = find_run_folder(model_path)
    if run is None:
        return []
    try:
        data_dir = run.load_config().data.data_dir
        split = run.split(data_dir)
    except Exception:  # an unreadable run folder only costs the sample images
        return []
    if not data_dir or not os.path.isdir(data_dir):
        return []
    by_class: "OrderedDict[str, list[str]]" = OrderedDict()
    for rec in sorted(split.val + split.train + split.test, key=lambda r: (r.label, r.path)):
        by_class.setdefault(rec.class_name, []).append(rec.path)
    return round_robin(list(by_class.values()), limit)


def round_robin(groups: list, limit: int) -> list:
    """The first item of every group, then the second of every group, ... up to ``limit``."""
    out: list = []
    i = 0
    while len(out) < limit and any(i < len(g) for g in groups):
        out += [g[i] for g in groups if i < len(g)][:limit - len(out)]
        i += 1
    return out


def dataset_images(report: Any, limit: int = SAMPLE_IMAGES) -> list[str]:
    """A few images from a scanned dataset, taking the classes in turn."""
    if report is None:
        return []
    by_class: "OrderedDict[str, list[str]]" = OrderedDict()
    for rec in getattr(report, "records", []):
        by_class.setdefault(rec.class_name, []).append(rec.path)
    return round_robin(list(by_class.values()), limit)


@dataclass
class NetworkSpec:
    """Which model to show: a saved Keras file, or the architecture of ``config.model``."""

    kind: str                 # "file" or "config"
    path: str = ""            # the .keras file for "file"
    model_cfg: Any = None     # config.model for "config"
    n_classes: int = 2
    images: list = field(default_factory=list)  # sample images known to the caller


@dataclass
class NetworkModel:
    """A loaded model and everything the tabs need from it first."""

    spec: NetworkSpec
    model: Any
    inspection: Any
    convs: list
    probe: Any
    first_conv: str
    first_filters: Any  # (out, in, kh, kw) numpy, or None without a convolution
    activations: list
    images: list
    #: The phase whose trainable flags the model carries ("head", "fine_tune"; "": as loaded).
    phase: str = ""
    #: Trained from random weights: every layer trains in both phases.
    from_scratch: bool = False


def open_model(spec: NetworkSpec, listener=None, cancel=None):
    """The Keras model ``spec`` names: loaded from its file, or built with random weights."""
    from core.events import Progress, emit

    if spec.kind == "file":
        from core.model.model_files import load_model_file

        emit(listener, Progress(0, 0, f"Loading {Path(spec.path).name}…"))
        return load_model_file(spec.path)
    from core.insight.architecture import build_untrained

    return build_untrained(spec.model_cfg, spec.n_classes, listener, cancel)


def _run_settings(spec: NetworkSpec) -> tuple:
    """(model settings, last phase of its history or None) of the run whose model.keras
    ``spec`` names; (None, None) for a model file of no run or an unreadable run."""
    from core.runs.folder import find_run_folder

    run = find_run_folder(spec.path)
    if run is None or Path(run.model_path).resolve() != Path(spec.path).resolve():
        return None, None  # a model file of no run: its flags are all there is
    try:
        cfg = run.load_config()
        rows = run.history()
    except Exception:  # noqa: BLE001 - an unreadable run: Keras' flags as loaded
        return None, None
    return cfg.model, (rows[-1].get("phase") if rows else None)


def training_settings(model: Any, spec: NetworkSpec) -> tuple:
    """(model settings, phase) whose trainable flags the page shows: a run's model.keras in
    its last phase, the Model page's settings in fine-tuning (head when fine-tuning would
    train nothing).  (None, "") when not known: a model file of no run, an unreadable run."""
    from core.model.build import phase_two_frozen

    if spec.kind == "file":
        model_cfg, last = _run_settings(spec)
        if model_cfg is None:
            return None, ""
        return model_cfg, (last if last in ("head", "fine_tune") else "head")
    return spec.model_cfg, ("head" if phase_two_frozen(model, spec.model_cfg) else "fine_tune")


def trained_as(model: Any, spec: NetworkSpec) -> str:
    """Set ``model``'s trainable flags as training set them (:func:`training_settings`).
    Returns that phase ("" when not known: Keras' flags as loaded).  A run's model.keras is
    saved from a fresh build, every layer trainable, so the page had called Conv1 and every
    batch norm trained (2,227,715 trainable where fine-tuning trained 1,514,563: a review)."""
    from core.model.build import apply_freeze, is_from_scratch

    model_cfg, phase = training_settings(model, spec)
    if model_cfg is None:
        return ""
    try:
        apply_freeze(model, model_cfg.freeze, phase, is_from_scratch(model_cfg))
    except Exception:  # noqa: BLE001 - not the app's classifier, or another backbone's layers
        return ""
    return phase


def from_scratch(spec: NetworkSpec) -> bool:
    """True when the model shown trains (or trained) from random weights: every layer in
    both phases, so "the head phase" does not mean a frozen backbone."""
    from core.model.build import is_from_scratch

    model_cfg = _run_settings(spec)[0] if spec.kind == "file" else spec.model_cfg
    return model_cfg is not None and is_from_scratch(model_cfg)


def freeze_key(model_cfg: Any) -> tuple:
    """The settings that choose which layers train: a change of them changes the trainable
    counts, never the architecture (the page kept 1,513,282 trainable for "top 100 layers"
    and "none" alike: a review)."""
    if model_cfg is None:
        return ()
    f = model_cfg.freeze
    return (f.mode, f.top_n, f.from_layer, tuple(f.layers))


def reflag(network: NetworkModel, model_cfg: Any, listener=None, cancel=None) -> tuple:
    """Worker: (spec, phase, inspection) of ``network``'s model under other freeze settings
    of the same architecture; no rebuild.  The caller puts them on the network (UI thread)."""
    from core.insight.layers import inspect_layers

    spec = NetworkSpec(network.spec.kind, network.spec.path, model_cfg,
                       network.spec.n_classes, network.spec.images)
    phase = trained_as(network.model, spec)
    return spec, phase, inspect_layers(network.model)


def load_network(spec: NetworkSpec, listener=None, cancel=None) -> NetworkModel:
    """Worker: open the model and read what every tab shows first."""
    from core.errors import ConfigError, ModelFileError
    from core.insight.activations import activations_in
    from core.insight.feature_maps import FeatureMapProbe
    from core.insight.kernels import filter_channels, first_conv_layer
    from core.insight.layers import inspect_layers

    model = open_model(spec, listener, cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    phase = trained_as(model, spec)
    try:
        inspection = inspect_layers(model)
    except ModelFileError as exc:  # "the model has no defined input yet": which model
        raise ModelFileError(f"{spec.path}: {exc}") from None
    probe = FeatureMapProbe(model)
    _ = probe.layers  # listed here, not on the UI thread
    try:
        first, _layer = first_conv_layer(model)
        filters = filter_channels(model, first)
    except ConfigError:
        first, filters = "", None
    images = list(spec.images)
    if not images and spec.kind == "file":
        images = run_images(spec.path)
    return NetworkModel(spec, model, inspection, conv_layers(inspection), probe, first,
                        filters, activations_in(model), images, phase,
                        from_scratch(spec))


def start_layer(layers: list) -> int:
    """The first activation after a convolution: the first feature maps worth looking at."""
    kinds = [kind for _path, kind, _shape in layers]
    for want in (("Activation", "ReLU"), ("Conv2D",)):
        for i, kind in enumerate(kinds):
            if kind in want:
                return i
    return 0
