"""HDF5 files that hold weights only: what they are, in words, wherever one is given.

``model.save_weights("x.h5")`` (tf.keras 2) writes a network's weights with no model
config; so does a Keras 3 ``.weights.h5`` file renamed to ``.h5``.  Given as a model
(inspect-model, predict, evaluate, the Predict and Network pages) Keras said only
"No model config found"; given as a backbone's starting weights, the Keras 3 layout
under a legacy name was called another model's weights.  These say what the file
holds, and what the app takes instead.  h5py only: no TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

LEGACY = "legacy"  # tf.keras 2's save_weights layout (layer_names), loaded by layer order
KERAS3 = "keras3"  # Keras 3's .weights.h5 layout ("layers" group), under another name
UNKNOWN = "unknown"  # HDF5 with neither: no Keras weights


def weights_layout(path: str | Path) -> str:
    """The layout of an HDF5 file without a model config ("" when it has one, or is no
    HDF5 file one can read): :data:`LEGACY`, :data:`KERAS3` or :data:`UNKNOWN`."""
    import h5py

    try:
        if not h5py.is_hdf5(str(path)):
            return ""
        with h5py.File(path, "r") as f:
            return "" if "model_config" in f.attrs else open_layout(f)
    except (OSError, KeyError, TypeError, ValueError):
        return ""  # unreadable: the loader's own message says why


def open_layout(f) -> str:
    """The weights layout of an open h5py file, its model config aside: :data:`LEGACY`,
    :data:`KERAS3` or :data:`UNKNOWN`."""
    if "layer_names" in legacy_group(f).attrs:
        return LEGACY
    return KERAS3 if "layers" in f else UNKNOWN


def legacy_group(f):
    """Where tf.keras 2 keeps the layer list: "model_weights" in a whole model's file, the
    file itself in save_weights'."""
    return f["model_weights"] if "model_weights" in f else f


def keras3_name(path: str | Path) -> str:
    """The name Keras 3 reads its weights layout under: 'x.h5' -> 'x.weights.h5'."""
    p = Path(path)
    if p.name.endswith(".weights.h5"):
        return p.name
    stem = p.name[:-len(p.suffix)] if p.suffix else p.name
    return f"{stem}.weights.h5"


def train_from_text(path: str | Path, layout: str) -> str:
    """How to train from a weights-only file: choose it (renamed first for Keras 3's layout
    under another name)."""
    train = ("choose it as the weights file on the Model page (or train --weights) with the "
             "backbone they were saved from")
    if layout == KERAS3 and keras3_name(path) != Path(path).name:
        train = (f"rename it to {keras3_name(path)} (Keras 3 reads this layout only under "
                 f"that name), then {train}")
    return train


def holds_text(layout: str) -> str:
    """What a weights-only file holds: "a network's weights only (…, no model config)"."""
    what = ("tf.keras 2's save_weights layout" if layout == LEGACY else
            "Keras 3's .weights.h5 layout")
    return f"a network's weights only ({what}, no model config)"


def not_a_model_text(path: str | Path, layout: str) -> str:
    """Why a weights-only HDF5 file cannot be used as a model, and what to give."""
    if layout == UNKNOWN:
        return (f"{path}: an HDF5 file with no model in it (no model config) and no Keras "
                "weights; give a run folder or a whole model file (.keras, or an .h5 saved "
                "with model.save)")
    return (f"{path} holds {holds_text(layout)}, not a model that can answer or be "
            "inspected: give a run folder or a whole model file (.keras, or an .h5 saved with "
            f"model.save). To train from these weights, {train_from_text(path, layout)}")
