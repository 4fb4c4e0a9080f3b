"""Near-copy groups for a new run's split, so no picture is validated on its own twin.

A burst shot, a re-saved or resized copy or a video frame next to its
neighbour, one in training and one in validation, makes the validation figure
a lie.  When ``data.keep_duplicates_together`` is on, the run start finds the
near-copies with the feature store (:mod:`core.features`) -- the same backbone,
weights and image size the run trains with, so a second run (or an audit) on
the same folder reuses the features -- and hands the groups to
:func:`core.data.dataset.split_dataset`, which puts each group wholly on one side.  The log says how many groups were kept together, how they were
found and what it cost.  With random weights ("none") the backbone's features
would tell nothing and are never stored, so the pixels alone decide
(:mod:`core.features.pixel_only`): no backbone is built for it.  The same holds
under ``train.strategy = "multi-worker"``: a backbone run here would start
TensorFlow's runtime before the collective ops are configured, which
TensorFlow refuses; every worker computes the same pixel groups without it.

A file that cannot be read here is left out of the groups but not named: the
training pipeline reads every file again and names each one it skips, once.
"""

from __future__ import annotations

import os
import time

from core.events import FileSkipped, Log, emit


def near_copy_groups(cfg, report, listener=None, cancel=None) -> list[list[str]]:
    """Groups (2+ paths each) among ``report.records`` to keep on one side; [] when not asked."""
    if not cfg.data.keep_duplicates_together:
        emit(listener, Log("split: near-copies are not looked for "
                           "(data.keep_duplicates_together is off)"))
        return []
    if report.layout == "split" or cfg.data.val_split <= 0 or len(report.records) < 2:
        return []  # the folder's own train/val, or nothing held back: nothing to keep together
    from core.features.extract import FeatureModel
    from core.features.near_duplicates import find_near_duplicates
    from core.features.pixel_only import pixel_embeddings
    from core.features.store import FeatureStore

    started = time.monotonic()
    emit(listener, Log("split: looking for near-copies to keep on one side of the split"))
    listener = _without_skips(listener)
    model = FeatureModel.from_config(cfg.model)
    store = FeatureStore()
    paths = [r.path for r in report.records]
    if model.random_weights or cfg.train.strategy == "multi-worker":
        # Random features tell nothing; multi-worker may not start TensorFlow yet.
        emb = pixel_embeddings(paths, store, listener=listener, cancel=cancel)
        why = ("random weights: the backbone's features would tell nothing"
               if model.random_weights else
               "multi-worker: the backbone may not run before the workers connect")
        how = (f"exact copies and pixel signatures only ({why}; a heavily cropped copy "
               "may be missed)")
    else:
        emb = store.embed(paths, model, listener=listener, cancel=cancel)
        how = (f"exact copies, pixel signatures and {model.backbone} features "
               f"({os.path.basename(model.weights)}, the run's own; the backbone ran on "
               f"{emb.computed} of {len(emb)} images, the feature store held the rest)")
    found = find_near_duplicates(emb, pair_cache=store.pair_cache(), listener=listener,
                                 cancel=cancel, neighbours=store.neighbour_cache())
    groups = found.path_groups(emb.paths)
    emit(listener, Log(f"split: {len(groups)} near-copy group(s) "
                       f"({sum(len(g) for g in groups)} images) found with {how}, in "
                       f"{time.monotonic() - started:.1f} s"))
    return groups


def _without_skips(listener):
    """``listener`` minus FileSkipped: training names those files when it reads them."""
    if listener is None:
        return None
    return lambda event: None if isinstance(event, FileSkipped) else listener(event)


def describe_split(split) -> str:
    """One log line: what the split holds back and how many near-copy groups it kept together."""
    text = (f"split: {len(split.train)} images train, {len(split.val)} validate"
            + (f", {len(split.test)} test" if split.test else ""))
    if split.kept_together:
        text += (f"; {split.kept_together} near-copy group(s) kept wholly on one side")
    unmeasured = unvalidated_classes(split)
    if unmeasured and split.val:
        text += (f"; no validation image of {', '.join(repr(c) for c in unmeasured)} (too "
                 "few images): its accuracy is not measured")
    return text


def unvalidated_classes(split) -> list[str]:
    """The classes with training images but none to validate on: a class of one image went
    to training, and the run ended "accuracy 0 on 4 images" with no word of it (a review)."""
    trained = {r.class_name for r in split.train}
    validated = {r.class_name for r in split.val}
    return sorted(trained - validated)
