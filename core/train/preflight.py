"""Checks made before a run folder is written or resumed, so no run is left at a dead end.

A new run used to write its folder first and find out afterwards that the
weights file was wrong, the augmentation did not build or the ``--unfreeze``
layer did not exist (the last only after the whole head phase): the folder was
then refused by ``train --out`` and could not be resumed either.  Everything that
can be checked without training is checked here first (:func:`check_config`).

A resume checks that the run's images are still where ``split.json`` says
(:func:`check_data_present`), or moves the run to a folder the data was moved
to (:func:`core.runs.relocate.relocate_data`) when its files are the same.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from core.config import StudioConfig
from core.errors import ConfigError, DataError
from core.runs.folder import RunFolder
from core.runs.relocate import missing_images
from core.shown import plural, verb


def check_config(cfg: StudioConfig, need_weights: bool = True) -> None:
    """Raise the error training would meet later: weights file, augmentation, unfreeze layers.

    ``need_weights`` is False on a resume with a checkpoint (its weights come from
    there).  ImageNet weights are fetched when training starts (that download is
    cancellable and reported); a file is checked here.
    """
    from core.data.augment import build_augmenter
    from core.model.backbones import get_backbone
    from core.model.build import is_from_scratch, names_weights_file, phase_two_frozen

    from core.model.backbones import resolve_image_size

    if cfg.train.epochs == 0 and cfg.train.fine_tune_epochs == 0:
        # Here, not in validate(): a project saved with both at 0 could not be opened again.
        raise ConfigError("train.epochs and train.fine_tune_epochs are both 0: nothing would "
                          "train; give at least one epoch to one of the phases")
    frozen = phase_two_frozen(None, cfg.model)
    if cfg.train.epochs == 0 and frozen:
        # The fine-tuning phase has nothing to unfreeze and is skipped: the run "completed"
        # without a model.  Here, not in validate(): a project with these settings opens.
        raise nothing_would_train(frozen)
    spec = get_backbone(cfg.model.backbone)
    size = cfg.model.image_size or resolve_image_size(spec, 0, cfg.model.weights)
    build_augmenter(cfg.augment, size)
    if cfg.train.strategy == "multi-worker":
        # Building a model here would start TensorFlow's runtime, and a multi-worker
        # strategy must be created before that; its workers check the rest when they start.
        return
    choice = (cfg.model.weights or "").strip()
    if need_weights and names_weights_file(choice):
        from core.model.weights import check_weights_file

        check_weights_file(choice, spec, size)
    freeze = cfg.model.freeze
    if (cfg.train.fine_tune_epochs > 0 and not is_from_scratch(cfg.model)
            and freeze.mode in ("from_layer", "custom")):
        check_freeze_layers(cfg, size)


def check_freeze_layers(cfg: StudioConfig, size: int) -> None:
    """The fine-tuning phase's layer names, checked against the built backbone's layers."""
    import difflib

    from core.model.backbones import get_backbone
    from core.model.build import build_backbone

    spec = get_backbone(cfg.model.backbone)
    names = [layer.name for layer in build_backbone(spec, size).layers]
    freeze = cfg.model.freeze
    wanted = [freeze.from_layer] if freeze.mode == "from_layer" else list(freeze.layers)
    field = "model.freeze.from_layer" if freeze.mode == "from_layer" else "model.freeze.layers"
    for name in wanted:
        if name not in names:
            near = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
            hint = (f"close matches: {', '.join(near)}" if near
                    else "see the Network page or 'inspect-model MODEL' for the names")
            raise ConfigError(f"{field}: {spec.name} has no layer {name!r} (--unfreeze); {hint}")


def check_data_present(run: RunFolder, split, data_dir: Optional[str], cancel=None) -> None:
    """Refuse to resume when the run's images are gone, saying how many and which.

    Without this the first missing image fails inside a tf.data generator and
    comes out as a page of TensorFlow traceback.
    """
    if data_dir and not Path(data_dir).is_dir():
        raise DataError(f"the data folder of {run.path}, {data_dir}, no longer exists; if you "
                        f"moved it, open it where it is now on the Data page and press Resume, "
                        f"or resume with 'train --resume {run.path} --data NEW_FOLDER'")
    missing = missing_images(split, cancel)
    if missing:
        total = len(split.train) + len(split.val) + len(split.test)
        first = ", ".join(missing[:3])
        raise DataError(f"{len(missing)} of the {total} images of {run.path} are missing from "
                        f"{data_dir} (first: {first}); put them back, or if the data folder "
                        f"moved, open it on the Data page and press Resume (or resume with "
                        f"'train --resume {run.path} --data NEW_FOLDER')")


def check_images_unchanged(run: RunFolder, split, data_dir: Optional[str],
                           cancel=None) -> None:
    """Refuse to resume when images of the run were replaced by other pictures under the
    same names (another pixel size than ``split.json`` recorded).

    Why: ``--data`` refused such a folder (the dataset fingerprint), but a plain resume
    only checked that the files exist and trained on, mixing the two sets of pictures.
    Only headers are read; an image that cannot be read now is left to the training,
    which skips it and says so."""
    from core.data.imageio import ImageError
    from core.data.probe import probe_file

    changed = []
    for i, r in enumerate((*split.train, *split.val, *split.test)):
        if cancel is not None and i % 500 == 0:
            cancel.raise_if_cancelled()
        if not (r.width and r.height):  # an older split.json without sizes
            continue
        try:
            info, _ = probe_file(r.path)
        except (ImageError, OSError):
            continue
        if (info.width, info.height) != (r.width, r.height):
            changed.append(f"{r.path} ({r.width}x{r.height} then, {info.width}x{info.height} "
                           "now)")
    if changed:
        raise DataError(f"{plural(len(changed), 'image')} of {run.path} in {data_dir} "
                        f"{verb(len(changed), 'is')} not the "
                        f"pictures it started with (first: {changed[0]}); a run resumes on its "
                        f"own images: put them back, or train on the folder as it is now with "
                        f"'train {data_dir} --from-run {run.path}'")


def added_since(split, data_dir: Optional[str], created: Optional[float],
                cancel=None) -> tuple[int, str]:
    """What a resume leaves out: how many images, and a sentence ("" for none), added to the data
    folder since the run was made (``created``).  It trains on its recorded split, rightly,
    but the log ended "run completed" with 3 classes while the Data page showed 4, unsaid.
    An image counts as added when it is in no subset of the split and arrived after the
    run began (its change time: a copy keeps its modified time on some systems); a copy
    the split left out was there before."""
    from core.data.dataset import image_files

    if not data_dir or not created or not os.path.isdir(data_dir):
        return 0, ""
    known = {os.path.realpath(r.path) for r in (*split.train, *split.val, *split.test)}
    new = []
    for p in image_files(data_dir, cancel):
        if os.path.realpath(p) not in known:
            try:
                st = os.stat(p)
            except OSError:
                continue
            if max(st.st_mtime, st.st_ctime) > created:
                new.append(p)
    if not new:
        return 0, ""
    n = len(new)
    return n, (
        f"{plural(n, 'image')} added to {data_dir} since this run started (e.g. {new[0]}) "
        f"{verb(n, 'is')} not part of it: a resume goes on with the images it started with; "
        f"to train on {'it' if n == 1 else 'them'}, start a new run from this one (in the "
        "window, Fine-tune from this run on the Sort step; on the command line, "
        "'train DATA --from-run RUN')")


def nothing_would_train(frozen: str) -> ConfigError:
    """No head epoch, and the fine-tuning phase unfreezes nothing (``frozen``: why, in words):
    the run "completed" without a model.  Refused up front from the settings, or when the
    model is built, for top layers that hold no weights."""
    return ConfigError(f"train.epochs is 0 and model.freeze unfreezes no backbone layer "
                       f"({frozen}): nothing would train; give the head phase at least one "
                       "epoch, or let some backbone layers train")
