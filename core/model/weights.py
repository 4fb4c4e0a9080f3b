"""Weights for a backbone: ImageNet files (:mod:`core.model.imagenet_download`) or a
file the user chose, checked against the backbone before training meets it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from pathlib import Path
from typing import Optional

import numpy as np

from core.model.backbones import BackboneSpec, get_backbone, resolve_image_size
from core.errors import WeightsError
from core.events import CancelToken, Listener
from core.model.imagenet_download import ensure_imagenet_weights
from core.model.weights_only import KERAS3, UNKNOWN, keras3_name, legacy_group, open_layout


def weights_file_there(path: str | os.PathLike) -> Path:
    """``path`` as a Path when it is a file one can read weights from, else a WeightsError
    that says what it is: a folder, missing, or a device or pipe (``/dev/zero`` was "not
    found"; ``audit`` called a folder "not found": a weights review)."""
    path = Path(path).expanduser()
    if path.is_dir():  # a run folder given by mistake, most likely
        hint = ("; to start from a run, use Fine-tune from this run (Sort page) or "
                "'train --from-run RUN_DIR'") if (path / "model.keras").exists() else ""
        raise WeightsError(f"{path} is a folder, not a weights file; choose a .h5 or "
                           f".weights.h5 file{hint}")
    if path.exists() and not path.is_file():
        raise WeightsError(f"{path} is not a regular file (a device or a pipe); choose a .h5 "
                           "or .weights.h5 file")
    if not path.is_file():
        raise WeightsError(f"weights file {path} not found; choose an existing .h5 or "
                           ".weights.h5 file, or use the ImageNet weights (or none)")
    return path


def check_weights_file(path: str | os.PathLike, spec: BackboneSpec, image_size: int) -> Path:
    """Check that a user-chosen .h5 / .weights.h5 file fits ``spec`` at ``image_size``.

    Builds the backbone (no top, random weights) and loads the file into it, so
    every way a file can be wrong is found now rather than an hour into
    training; shapes are compared first to name the first layer that differs.
    """
    path = weights_file_there(path)
    if path.stat().st_size == 0:  # it was "not a Keras weights file (not HDF5)" (a review)
        raise WeightsError(f"{path} is empty (0 bytes): a copy or download of it failed; copy "
                           "it again or choose another file")
    import h5py

    try:
        is_hdf5 = h5py.is_hdf5(str(path))
    except OSError as exc:  # no read permission: "Unable to determine if file is accessible"
        raise _unopened(path, exc) from None
    if not is_hdf5:
        import zipfile

        members: list[str] = []
        with contextlib.suppress(OSError, zipfile.BadZipFile):
            with zipfile.ZipFile(path) as archive:
                members = archive.namelist()
        what, hint = "not a Keras weights file (not HDF5)", ""
        if any(m.endswith(".npy") for m in members):  # it was called a .keras model
            what = "a run's own weights (a numpy archive), not a Keras weights file"
            hint = (" (to start from a run, use Fine-tune from this run on the Sort page, or "
                    "'train --from-run RUN_DIR')")
        elif members:
            what = "a whole Keras model (.keras), not the weights of a backbone"
        raise WeightsError(f"{path} is {what}; choose a .h5 or .weights.h5 file of the "
                           f"backbone's weights saved by Keras{hint}")
    from core.model.build import build_backbone

    keras_name = str(path)
    lower = _lower_suffix(path.name)
    if lower:  # Keras tells its two formats by the suffix, in lower case only
        raise WeightsError(f"{path}: Keras reads weights only from files ending in .h5 or "
                           f".weights.h5, in lower case; rename the file to {lower}")
    if not keras_name.endswith((".h5", ".hdf5")):
        raise WeightsError(f"{path}: Keras reads weights only from files ending in .h5 or "
                           ".weights.h5; rename the file")
    backbone = build_backbone(spec, image_size)
    try:
        with h5py.File(path, "r") as f:
            if keras_name.endswith(".weights.h5"):
                problem = _compare_keras3(f, backbone, spec)
            else:
                problem = _compare_legacy(f, backbone, spec)
    except OSError as exc:
        if "truncated" in str(exc):
            raise WeightsError(f"{path} is incomplete (cut short while it was copied or "
                               "downloaded); copy it again") from None
        raise _unopened(path, exc) from None
    except (KeyError, TypeError, ValueError) as exc:  # its layer list names a missing group
        raise WeightsError(f"{path} is damaged or was not saved by Keras ({exc}); choose the "
                           "backbone's weights file as Keras saved it") from None
    if isinstance(problem, _Whole):  # the backbone is all there, inside more than it
        raise WeightsError(f"{path} {problem}")
    if problem:  # the shapes alone told a lab user nothing: say what it means and the fix
        raise WeightsError(f"{path} does not fit {spec.name} at {image_size} px: {problem}. "
                           f"It holds another model's weights: choose {spec.name}'s own "
                           "weights file (or the backbone it was saved for), or use the "
                           "ImageNet weights")
    try:
        backbone.load_weights(str(path))
    except Exception as exc:  # anything the shape check did not foresee
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path} cannot be loaded into {spec.name} at {image_size} px: "
                           f"{first}") from None
    bad = _first_non_finite_layer(backbone)
    if bad:  # it passed, then every feature was NaN and the head's fit failed in sklearn words
        raise WeightsError(f"{path} holds NaN or infinite values (in layer {bad}), so it "
                           "cannot be trained from; was it saved from a run whose loss "
                           "diverged? Choose another weights file, or use the ImageNet "
                           "weights")
    return path


def _first_non_finite_layer(model) -> str:
    """The name of the first layer with a NaN or infinite weight, "" when there is none."""
    for layer in model.layers:
        if any(not np.isfinite(np.asarray(w)).all() for w in layer.weights):
            return layer.name
    return ""


def _lower_suffix(name: str) -> str:
    """``name`` with its Keras suffix in lower case, when only its case is wrong ("" when
    it is right or not a Keras suffix): "backbone.WEIGHTS.H5" was told to end in .h5, and
    "x.WEIGHTS.h5" was read as a legacy file, then called one "named like a legacy one"."""
    for suffix in (".weights.h5", ".h5", ".hdf5"):
        if name.lower().endswith(suffix):
            fixed = name[:-len(suffix)] + suffix
            return fixed if fixed != name else ""
    return ""


def _shape(s) -> str:
    return "(" + ",".join(str(int(d)) for d in s) + ")"


def _legacy_layer_weights(layer) -> list:
    # The order keras.src.legacy.saving.legacy_h5_format writes and reads.
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _attr_list(obj, name: str) -> list[str]:
    values = obj.attrs.get(name, [])
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _compare_legacy(f, backbone, spec: BackboneSpec) -> str:
    """Compare a legacy Keras .h5 file (loaded by layer order) with the backbone."""
    layout = open_layout(f)
    if layout == KERAS3:  # saved by Keras 3 under a legacy name
        return _keras3_named_h5(f, backbone, spec)
    if layout == UNKNOWN:
        return _Whole("holds no Keras weights (neither tf.keras 2's layer list nor Keras 3's "
                      "'layers'): choose a file written by save_weights, a .weights.h5 of "
                      f"{spec.name} (or a legacy .h5 of it), or use the ImageNet weights")
    group = legacy_group(f)
    saved = []
    for lname in _attr_list(group, "layer_names"):
        wnames = _attr_list(group[lname], "weight_names")
        if wnames:
            saved.append((lname, [(w, group[lname][w].shape) for w in wnames]))
    layers = [(layer, _legacy_layer_weights(layer)) for layer in backbone.layers]
    layers = [(layer, ws) for layer, ws in layers if ws]
    n_saved = sum(len(ws) for _, ws in saved)
    n_model = sum(len(ws) for _, ws in layers)
    if len(saved) > len(layers) and _same_shapes(saved, layers):
        return _with_top(spec, [lname for lname, _ in saved[len(layers):]])
    nested = [lname for lname, ws in saved if len(ws) == n_model]
    if nested and n_saved > n_model:
        return _nested(spec, nested[0])
    if n_saved != n_model or len(saved) != len(layers):
        return (f"the file has {n_saved} weight arrays in {len(saved)} layers, {spec.name} has "
                f"{n_model} in {len(layers)} (another architecture, or a model with its "
                "classification top)")
    for (lname, saved_ws), (layer, model_ws) in zip(saved, layers):
        if len(saved_ws) != len(model_ws):
            return (f"layer '{layer.name}' has {len(model_ws)} weight arrays, the file's "
                    f"'{lname}' has {len(saved_ws)}")
        for (wname, wshape), var in zip(saved_ws, model_ws):
            if tuple(wshape) != tuple(var.shape):
                short = wname.rsplit("/", 1)[-1].split(":")[0]
                return (f"layer '{layer.name}' expects {short} {_shape(var.shape)}, file has "
                        f"{_shape(wshape)}")
    return ""


class _Whole(str):
    """A comparison's finding that is a whole message of its own (after the file's path):
    the file holds this backbone's weights, and more besides."""


def _same_shapes(saved: list, layers: list) -> bool:
    """Whether the first saved layers of a legacy file are ``layers``, array for array."""
    return all(len(saved_ws) == len(model_ws)
               and all(tuple(shape) == tuple(var.shape)
                       for (_, shape), var in zip(saved_ws, model_ws))
               for (_, saved_ws), (_, model_ws) in zip(saved, layers))


def _with_top(spec: BackboneSpec, extra: list[str]) -> _Whole:
    return _Whole(
        f"holds {spec.name}'s weights with a classification top besides (layer "
        f"{', '.join(repr(n) for n in extra)}): a file saved with include_top=True, such as "
        f"the ImageNet file Keras fetches for {spec.name}(weights='imagenet'). Training needs "
        "the backbone without its top: choose the file without it (for ImageNet, Keras' "
        f"{spec.weights_file}), or use the ImageNet weights")


def _keras3_named_h5(f, backbone, spec: BackboneSpec) -> _Whole:
    """A Keras 3 weights file named .h5: Keras reads that layout only as .weights.h5 (it was
    called "another model's weights" after the advice to rename it, a review)."""
    problem = _compare_keras3(f, backbone, spec)
    rename = f"rename it to {keras3_name(f.filename)} and choose that file"
    if isinstance(problem, _Whole):
        return _Whole(f"{problem} (it is in Keras 3's .weights.h5 layout: {rename} once it "
                      "holds the backbone alone)")
    if problem:
        return _Whole(f"holds weights in Keras 3's .weights.h5 layout, but not {spec.name}'s "
                      f"at this size ({problem}): choose {spec.name}'s own weights file, or "
                      "use the ImageNet weights")
    return _Whole(f"holds {spec.name}'s weights in Keras 3's .weights.h5 layout, which Keras "
                  f"reads only from a file whose name ends in .weights.h5: {rename}")


def _nested(spec: BackboneSpec, name: str = "") -> _Whole:
    layer = f"model.get_layer('{name}')" if name else f"the {spec.name} layer"
    return _Whole(
        f"holds a whole classifier with {spec.name} nested inside it (the classifier's "
        f"save_weights file), while training needs the backbone alone: in Keras, save "
        f"{layer}'s weights with .save_weights('backbone.weights.h5') and choose that file, "
        "or use the ImageNet weights")


def _snake(name: str) -> str:
    # keras.src.utils.naming.to_snake_case, which names entries in .weights.h5 files.
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _compare_keras3(f, backbone, spec: BackboneSpec) -> str:
    """Compare a Keras 3 ``.weights.h5`` file with the backbone.

    Keras 3 stores a model's layers by class and position, not by layer name
    ("layers/conv2d_3/vars/0" is the fourth Conv2D), so the keys are rebuilt
    the same way (keras/src/saving/saving_lib.py, _save_container_state).
    """
    if "layers" not in f:
        if "layer_names" in f.attrs or "model_weights" in f:  # tf.keras 2's layout
            return ("it is a legacy Keras weights file (tf.keras 2's layout) named like a "
                    "Keras 3 one: rename it to end in .h5, not .weights.h5")
        return "it holds no Keras 3 layer weights (no 'layers' group)"
    root = f["layers"]
    n_saved = _count_arrays(root)
    used: dict[str, int] = {}
    keys: set[str] = set()
    n_model = 0
    for layer in backbone.layers:
        base = _snake(type(layer).__name__)
        key = base if base not in used else f"{base}_{used[base]}"
        used[base] = used.get(base, 0) + 1
        keys.add(key)
        n_model += len(layer.weights)
        if not layer.weights or key not in root or "vars" not in root[key]:
            continue
        saved = root[key]["vars"]
        for i, var in enumerate(layer.weights):
            if str(i) in saved and tuple(saved[str(i)].shape) != tuple(var.shape):
                short = var.path.rsplit("/", 1)[-1]
                return (f"layer '{layer.name}' expects {short} {_shape(var.shape)}, file has "
                        f"{_shape(saved[str(i)].shape)}")
    if n_saved > n_model:  # the backbone inside more than it is said as such
        inside = _more_than_backbone(root, keys, n_model, backbone, spec)
        if inside:
            return inside
    if n_saved != n_model:
        return (f"the file has {n_saved} weight arrays, {spec.name} has {n_model} (another "
                "architecture, or a model with its classification top)")
    return ""


def _more_than_backbone(root, keys: set[str], n_model: int, backbone,
                        spec: BackboneSpec) -> str:
    """For a Keras 3 file with more arrays than the backbone, whose backbone layers all fit:
    a with-top file (the other arrays in layers the backbone does not have) or a classifier
    holding the backbone as one nested layer; "" for anything else."""
    extra = {k: _count_arrays(root[k]) for k in root if k not in keys}
    extra = {k: n for k, n in extra.items() if n}
    for key in extra:
        if "layers" in root[key] and not _compare_keras3(root[key], backbone, spec):
            return _nested(spec)  # keys are by class, not the layer's name
    if extra and _count_arrays(root) - sum(extra.values()) == n_model:
        return _with_top(spec, list(extra))
    return ""


def _count_arrays(group) -> int:
    """How many weight arrays an .weights.h5 group holds (under its "vars" groups)."""
    found = 0

    def count(name, obj):
        nonlocal found
        if hasattr(obj, "shape") and "/vars/" in f"/{name}":
            found += 1

    group.visititems(count)
    return found


def resolve_weights(model_cfg, image_size: int, listener: Optional[Listener] = None,
                    cancel: Optional[CancelToken] = None) -> Optional[str]:
    """The weights file to build ``model_cfg`` with: ImageNet (downloaded), none, or a checked file."""
    spec = get_backbone(model_cfg.backbone)
    choice = (model_cfg.weights or "").strip()
    if choice.lower() == "imagenet":
        return str(ensure_imagenet_weights(spec, listener, cancel, image_size=image_size))
    if choice.lower() in ("none", ""):
        return None
    return str(check_weights_file(choice, spec, image_size))


def fetch_imagenet_for(model_cfg, listener: Optional[Listener] = None,
                       cancel: Optional[CancelToken] = None) -> Path:
    """Download (once) the ImageNet file ``model_cfg``'s backbone will start from at its size.

    The Model page's "Download now": the same file training would fetch, ahead of time.
    """
    spec = get_backbone(model_cfg.backbone)
    size = resolve_image_size(spec, model_cfg.image_size, "imagenet")
    return ensure_imagenet_weights(spec, listener=listener, cancel=cancel, image_size=size)


def check_weights_file_for(model_cfg, path: str | os.PathLike) -> Path:
    """Check that ``path`` fits ``model_cfg``'s backbone at the size it would be built with."""
    spec = get_backbone(model_cfg.backbone)
    return check_weights_file(path, spec, resolve_image_size(spec, model_cfg.image_size, str(path)))


def _why_unread(exc: OSError) -> str:
    """Why h5py could not open a file, in a few words: its message carries the whole HDF5
    error stack ("Unable to determine if file is accessible as hdf5 (... flags = 0 ...)")."""
    if getattr(exc, "errno", None) == errno.EACCES or "Permission denied" in str(exc):
        return "permission denied"
    if getattr(exc, "strerror", None) and len(exc.strerror) < 60:
        return exc.strerror
    return "the file cannot be opened"


def _unopened(path: Path, exc: OSError) -> WeightsError:
    """The error for a weights file h5py could not open.  A readable file that still does not
    open is damaged (a bad superblock, a header of zeros): it was called unreadable, with
    "make it readable", which sent a user to the file's permissions (a review)."""
    why = _why_unread(exc)
    if why == "permission denied" or getattr(exc, "errno", None) \
            or not os.access(path, os.R_OK):
        return WeightsError(f"{path}: cannot read the weights file ({why}); make it readable "
                            "or choose another file")
    detail = re.search(r"\(([^()]{1,60})\)\s*$", str(exc))
    said = f" ({detail.group(1)})" if detail else ""
    return WeightsError(f"{path} is damaged: HDF5 cannot open it{said}; copy it again or "
                        "choose another file")
