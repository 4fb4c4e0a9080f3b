""""Update the model": a head-only run from the current run, on the grown data set, compared fairly.

After new images are sorted into the data set the quickest useful retraining
is the head alone: the backbone stays as the current run left it, its pooled
features are computed once (the fast head, :mod:`core.train.fast_head`) and
the head is fitted on them in seconds.  :func:`update_model` starts that as an
ordinary new run (:func:`core.train.engine.train`, so it has a run folder,
calibration, metrics and history like any other) with the current run's
settings, ``fine_tune_epochs = 0`` and:

* the current run's **backbone weights** when that run fine-tuned its backbone:
  they are saved as a ``.weights.h5`` file (under the app's data folder,
  ``start-weights/``; the new run's config names it, so the run can be resumed)
  and the new run is built from that file, the path a user's own weights file
  takes.  Without a fine-tuning phase the backbone is still what the run started
  from, so the same starting weights are used.  The head is fitted anew: with
  the default logistic solver the fit is exact, so a starting head would not
  change it.
* One case cannot be carried over: EfficientNet B0-B3 with ImageNet weights
  apply an input rescale only for "imagenet" (:func:`core.model.build.preprocessing_layers`);
  built from a file the network would see other numbers.  The update then
  starts from the run's original weights and says so.

How validation accuracy moved is measured on the **same images for both
models**: the new run's validation images the current run did not train on
(the new split reshuffles each class, so some old training images land in
validation; counting them would flatter the old model).

A full fine-tune from the current run (the Sort step's "Fine-tune from this run")
is the Train page's ordinary run with the window's settings, started from the
same carried-over backbone (:func:`start_from_run`), so the grown data set
refines what the run learned instead of starting again from ImageNet.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from core.errors import UserError
from core.events import CancelToken, Listener, Log, Progress, emit


@dataclass
class ModelUpdate:
    """What an update did: the new run and the accuracy of both models on the same images."""

    run_dir: str
    previous: str
    status: str
    before: Optional[float]
    after: Optional[float]
    compared: int
    backbone: str  # where the new run's backbone came from, in words
    seconds: float
    thin: str = ""  # classes with too few images to judge, in words ("" when none)

    def describe(self) -> str:
        if self.status != "completed":
            return f"The update stopped before it finished ({self.status}); run: {self.run_dir}"
        if self.before is None or self.after is None:
            moved = "no validation images that neither model trained on, so no comparison"
        else:
            moved = (f"validation accuracy {self.before:.1%} → {self.after:.1%} on the "
                     f"{self.compared} validation image(s) neither model trained on")
        # the whole update, not the run's training time (the Runs page's, which is shorter)
        return (f"Head retrained with {self.backbone} in {self.seconds:.0f} s, reading the "
                f"images and comparing the two models included: {moved}. New run: "
                f"{self.run_dir}" + (f". {self.thin}" if self.thin else ""))


#: Fewer training images than this in a class, or none to validate on, is said after an update.
FEW_IMAGES = 5


def thin_classes(split) -> str:
    """The classes an update trained with too few images to be learnt or judged, in a
    sentence ("" when none).  A class made on the Sort step with one image trained into a
    4-class model that reported "77.8 % → 77.8 %" and nothing else (a week-on-the-line
    review): that figure says nothing of a class with no validation image."""
    learn = Counter(r.class_name for r in split.train)
    check = Counter(r.class_name for r in split.val)
    thin = [f"{name} ({learn[name]} to learn from, "
            + (f"{check[name]} to check on)" if check[name] else "none to check on)")
            for name in sorted(set(learn) | set(check))
            if learn[name] < FEW_IMAGES or not check[name]]
    if not thin:
        return ""
    return (f"Too few images to learn or judge: {', '.join(thin)}; the figures above say "
            "little about them. Label more of them, then update again.")


def fine_tuned(run) -> bool:
    """Whether the run trained its backbone (a fine-tuning epoch is in its history)."""
    return any(str(row.get("phase", "")) == "fine_tune" for row in run.history())


def carry_backbone(run, cfg, listener) -> tuple[str, str]:
    """Point ``cfg`` at the run's own backbone when it was fine-tuned.

    Returns the words for the report and the start-weights file made for the new run ("" when
    none was made: only that file may be removed if the new run never starts)."""
    from core.appdirs import start_weights_dir
    from core.fsutil import atomic_file
    from core.model.backbones import get_backbone
    from core.model.build import backbone_of, imagenet_weights, preprocessing_layers
    from core.model.model_files import load_model_file

    if not fine_tuned(run):
        return "the backbone the current run used (it was not fine-tuned)", ""
    spec = get_backbone(cfg.model.backbone)
    imagenet = imagenet_weights(cfg.model.weights, spec)  # Keras' own file chosen by hand too
    if imagenet and ([type(x).__name__ for x in preprocessing_layers(spec, True)]
                     != [type(x).__name__ for x in preprocessing_layers(spec, False)]):
        emit(listener, Log(f"{spec.name} with ImageNet weights cannot start from the fine-tuned "
                           "backbone (its input rescale exists only for 'imagenet'): the head "
                           "is retrained on the original ImageNet backbone", "warning"))
        return "the original ImageNet backbone (the fine-tuned one cannot be carried over)", ""
    model = load_model_file(run.model_path)
    target = start_weights_dir() / f"{run.path.name}-{uuid.uuid4().hex[:8]}.weights.h5"
    with atomic_file(target, suffix=".weights.h5") as tmp:
        backbone_of(model).save_weights(str(tmp))
    cfg.model.weights = str(target)
    emit(listener, Log(f"the new run starts from the current run's fine-tuned backbone, saved "
                       f"as {target}"))
    return "the current run's fine-tuned backbone", str(target)


def finished_run(run_dir, purpose: str):
    """The run folder at ``run_dir``; UserError when it is not one or has no model yet."""
    from core.runs.folder import RunFolder

    from core.infer.loaders import no_model_text

    run = RunFolder(run_dir)
    run.require_run_folder()
    if not run.model_path.is_file():  # the way on depends on the run's status, as elsewhere
        raise UserError(f"{no_model_text(run)}, before {purpose}")
    return run


def train_carrying(cfg, carried: str, out_dir=None, *, listener: Optional[Listener] = None,
                   **train_kwargs):
    """:func:`core.train.engine.train` for a run built from a ``carried`` start-weights file
    ("" when none): the file is removed again when the run stops before its folder exists
    (bad settings, Cancel while the data is read), since then no run will ever name it."""
    from core.events import RunStarted
    from core.train.engine import train

    started = []

    def listen(event) -> None:
        if isinstance(event, RunStarted):
            started.append(event.run_dir)
        emit(listener, event)

    try:
        return train(cfg, out_dir, listener=listen, **train_kwargs)
    except BaseException:
        if carried and not started:
            Path(carried).unlink(missing_ok=True)
        raise


def start_from_run(run_dir, cfg, listener: Optional[Listener] = None) -> tuple[str, str]:
    """Point ``cfg`` (a new full run's settings) at the backbone of the run at ``run_dir``.

    The settings stay the user's (epochs, augmentation, layers to train); only the
    starting weights change, and only when the run used the same backbone: another
    backbone's weights cannot be loaded, so the run then starts from the settings'
    own weights and says so.  Returns the words for where the backbone came from and the
    start-weights file made for the new run ("" when none), as :func:`carry_backbone`.
    """
    run = finished_run(run_dir, "training from it")
    old = run.load_config()
    if old.model.backbone != cfg.model.backbone:
        emit(listener, Log(f"{run.path.name} used {old.model.backbone}, the settings say "
                           f"{cfg.model.backbone}: the new run starts from "
                           f"{cfg.model.weights or 'random'} weights, not from that run",
                           "warning"))
        return f"the settings' {cfg.model.backbone} weights (the run used another backbone)", ""
    if not fine_tuned(run):
        cfg.model.weights = old.model.weights  # the backbone that run started from
    return carry_backbone(run, cfg, listener)


def train_from_run(run_dir, cfg, out_dir=None, *, listener: Optional[Listener] = None,
                   **train_kwargs):
    """A new run with ``cfg`` that starts from the backbone of the run at ``run_dir``
    (:func:`start_from_run`), the carried file removed if the run never starts: the
    window's "Fine-tune from this run" and ``train --from-run``."""
    _words, carried = start_from_run(run_dir, cfg, listener)
    return train_carrying(cfg, carried, out_dir, listener=listener, **train_kwargs)


def accuracy_on(model_path, records, batch_size: int, cancel) -> tuple[Optional[float], int]:
    """(share of ``records`` the model at ``model_path`` names correctly, images scored).

    Classes are matched by name, so a model that lacks a class (made before it
    existed) is simply wrong on its images.
    """
    import numpy as np

    from core.infer.loaders import load_predictor

    if not records:
        return None, 0
    predictor = load_predictor(model_path)
    truth = {os.path.abspath(r.path): r.class_name for r in records}
    probs, _scores, ok, _skipped = predictor.predict_files_scored(
        [r.path for r in records], batch_size, None, cancel)
    if not len(ok):
        return None, 0
    names = [predictor.classes[int(i)] for i in np.asarray(probs).argmax(axis=1)]
    right = sum(truth.get(os.path.abspath(p)) == n for p, n in zip(ok, names))
    return right / len(ok), len(ok)


def held_out(run, records, *data_dirs: str) -> list:
    """``records`` (the new run's validation images) but the run's training images, those
    taken as paths in each of ``data_dirs``: the folder the run trained from and today's data
    folder, which may be that folder moved or copied (the split's paths are relative; taken
    from the old folder alone none matched a copy's, and "neither model trained on" counted
    8 images the current run had trained on, a review)."""
    trained: set[str] = set()
    for folder in dict.fromkeys(data_dirs):
        try:
            trained.update(os.path.abspath(r.path) for r in run.split(folder).train)
        except UserError:
            continue
    return [r for r in records if os.path.abspath(r.path) not in trained]


def nothing_new(run, data_dir: str, listener=None, cancel=None, report=None):
    """Refuse an update from the very images the run trained on: it retrained the head on
    them anyway (50.0% → 41.7% in a review) and the window made that run current.  Images
    added to a ``test/`` or ``val/`` folder alone teach nothing either (never trained on).
    Returns the scan of ``data_dir``, which the update's run then uses (it scanned twice)."""
    from core.data.dataset import scan_dataset

    if report is None:
        report = scan_dataset(data_dir, listener=listener, cancel=cancel)
    try:
        old = run.split(data_dir)
    except UserError:
        return report
    had = {os.path.abspath(r.path) for r in (*old.train, *old.val, *old.test)}
    now = {os.path.abspath(r.path): r.subset for r in report.records}
    added = [p for p, subset in now.items() if p not in had and subset not in ("val", "test")]
    if not added and had <= now.keys():
        raise UserError(f"{data_dir} holds the same images to learn from as when "
                        f"{run.path.name} trained: nothing new to learn from; add labelled "
                        "images first (Add to data set)")
    return report


def update_model(run_dir, data_dir=None, out_dir=None, *, runs_base=None, report=None,
                 listener: Optional[Listener] = None,
                 cancel: Optional[CancelToken] = None) -> ModelUpdate:
    """Retrain the head of the run at ``run_dir`` on ``data_dir`` (default: the run's data).

    ``out_dir``: the new run's folder (default: a new one under ``runs_base``).
    Raises UserError for a folder that is not a finished run.
    """
    from core.runs.folder import RunFolder

    cancel = cancel or CancelToken()
    t0 = time.time()
    run = finished_run(run_dir, "updating it")
    old_cfg = run.load_config(as_trained=False)  # the new run: today's defaults where it had none
    cfg = old_cfg.copy()
    if data_dir:
        cfg.data.data_dir = str(Path(data_dir).resolve())
    report = nothing_new(run, cfg.data.data_dir, listener, cancel, report)
    cfg.train.fine_tune_epochs = 0
    backbone, carried = carry_backbone(run, cfg, listener)
    result = train_carrying(cfg, carried, out_dir, runs_base=runs_base or run.path.parent,
                            listener=listener, cancel=cancel, report=report)
    status = getattr(result.status, "value", str(result.status))
    new = RunFolder(result.run_dir)
    before = after = None
    compared = 0
    thin = ""
    if status == "completed":
        thin = thin_classes(new.split(cfg.data.data_dir))
        held = held_out(run, new.split(cfg.data.data_dir).val, old_cfg.data.data_dir,
                        cfg.data.data_dir)
        emit(listener, Progress(0, 2, "comparing the two models"))
        before, compared = accuracy_on(run.path, held, cfg.train.batch_size, cancel)
        emit(listener, Progress(1, 2, "comparing the two models"))
        after, _ = accuracy_on(new.path, held, cfg.train.batch_size, cancel)
        emit(listener, Progress(2, 2, "comparing the two models"))
    outcome = ModelUpdate(str(new.path), str(run.path), status, before, after, compared,
                          backbone, round(time.time() - t0, 1), thin)
    emit(listener, Log(outcome.describe()))
    return outcome
