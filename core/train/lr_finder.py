"""The learning-rate finder: the range test fastai made popular, on the head phase.

Train the new head for about a hundred mini-batches while the learning rate
grows exponentially from 1e-7 to 1; record the loss (smoothed, bias-corrected),
stop once it has clearly diverged, and propose a rate a tenth of the one at the
lowest loss (where the loss still falls fast and training is stable).  The
weights are put back afterwards: the test only looks.

It runs on the cached backbone features (:func:`core.train.fast_head.cached_features`),
so a hundred steps cost a hundred tiny head steps after one pass of the
backbone.  :func:`range_test` works on any compiled model; :func:`find_learning_rate`
is the whole job the window's "Find learning rate" button runs, and
``train --lr auto`` runs :func:`range_test` inside the run (see
:meth:`core.train.session.Session.resolve_auto_lr`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Iterable, Optional

import numpy as np

from core.config import TrainConfig
from core.events import CancelToken, Log, Progress, emit

LOWEST, HIGHEST, STEPS = 1e-7, 1.0, 100
SMOOTHING = 0.9  # exponential moving average of the loss (bias-corrected)
DIVERGED = 4.0  # stop when the smoothed loss exceeds this multiple of its best
#: A curve whose lowest smoothed loss is less than this share below its first is flat: no
#: rate helped, and the lowest point is noise (a frozen random backbone's head sat at ln 3 to
#: within 1e-6 and the finder proposed 2.2e-06, which then trained nothing; a review).
FLAT = 0.02
#: ``--lr auto``'s rate when the test cannot propose one: the setting's default.
FALLBACK_RATE = TrainConfig().learning_rate


@dataclass
class RangeTest:
    """The finder's outcome: loss against rate, and the rate it proposes."""

    rates: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # smoothed
    proposal: float = 1e-3
    steepest: float = 1e-3  # the rate where the smoothed loss falls fastest
    min_loss_rate: float = 1e-2
    diverged: bool = False
    seconds: float = 0.0
    flat: bool = False  # the loss fell at no rate tried: nothing to propose

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.flat:
            tried = f" ({self.rates[0]:.2g} to {self.rates[-1]:.2g})" if self.rates else ""
            return (f"learning-rate finder: the loss did not fall at any rate tried{tried}: "
                    f"no rate to propose ({len(self.rates)} steps, {self.seconds:.1f} s)")
        return (f"learning-rate finder: lowest loss at {self.min_loss_rate:.2g}, steepest "
                f"descent at {self.steepest:.2g}; proposed {self.proposal:.2g} "
                f"({len(self.rates)} steps, {self.seconds:.1f} s)")


def propose(rates: list[float], losses: list[float]) -> tuple[float, float, float]:
    """(proposal, steepest, min-loss rate) from a smoothed loss curve.

    The proposal is a tenth of the rate at the lowest loss, kept within the
    range tested; the steepest descent is reported beside it.
    """
    if not rates:
        return 1e-3, 1e-3, 1e-2
    r, loss = np.asarray(rates, np.float64), np.asarray(losses, np.float64)
    best = int(np.nanargmin(loss))
    min_rate = float(r[best])
    if best >= 2:
        slopes = np.gradient(loss[:best + 1], np.log(r[:best + 1]))
        steepest = float(r[int(np.argmin(slopes))])
    else:
        steepest = min_rate
    proposal = float(min(max(min_rate / 10, r[0]), r[-1]))
    return proposal, steepest, min_rate


def is_flat(losses: list[float]) -> bool:
    """Whether the smoothed loss never fell clearly below where it started."""
    if len(losses) < 3:
        return True
    start = losses[0]
    return not start - min(losses) > FLAT * abs(start)


def range_test(model, batches: Iterable, *, lowest: float = LOWEST, highest: float = HIGHEST,
               steps: int = STEPS, listener=None, cancel: Optional[CancelToken] = None,
               class_weight: Optional[dict] = None) -> RangeTest:
    """Run the range test on ``model`` (compiled, with an optimizer) over ``batches``.

    ``batches`` yields (x, y) at least ``steps`` times (cycle a short dataset).
    The model's weights are restored afterwards; its optimizer state is not
    (recompile before training it).
    """
    cancel = cancel or CancelToken()
    t0 = time.time()
    saved = model.get_weights()
    out = RangeTest()
    factor = (highest / lowest) ** (1 / max(1, steps - 1))
    avg, best = 0.0, math.inf
    try:
        for i, (x, y) in enumerate(batches):
            if i >= steps:
                break
            cancel.raise_if_cancelled()
            rate = lowest * factor ** i
            model.optimizer.learning_rate.assign(rate)
            sw = None
            if class_weight:
                labels = np.asarray(y).argmax(-1)
                sw = np.array([class_weight.get(int(c), 1.0) for c in labels], np.float32)
            loss = float(np.ravel(model.train_on_batch(x, y, sample_weight=sw))[0])
            if not math.isfinite(loss):
                out.diverged = True
                break
            avg = SMOOTHING * avg + (1 - SMOOTHING) * loss
            smoothed = avg / (1 - SMOOTHING ** (i + 1))
            out.rates.append(rate)
            out.losses.append(smoothed)
            emit(listener, Progress(i + 1, steps, "finding the learning rate"))
            best = min(best, smoothed)
            if i > 10 and smoothed > DIVERGED * best:
                out.diverged = True
                break
    finally:
        model.set_weights(saved)
    out.proposal, out.steepest, out.min_loss_rate = propose(out.rates, out.losses)
    out.flat = is_flat(out.losses)
    out.seconds = round(time.time() - t0, 2)
    emit(listener, Log(out.describe()))
    return out


def cycle_batches(per_view: list, batch_size: int, seed: int):
    """Endless shuffled (x, y) batches over the cached views, as NumPy arrays."""
    x = np.concatenate([f for f, _ in per_view])
    y = np.concatenate([t for _, t in per_view])
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(y))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]


def head_range_test(model, per_view: list, cfg, device_xla: bool, batch_size: int,
                    class_weight: Optional[dict], listener, cancel) -> RangeTest:
    """The range test of ``model``'s head on cached features (the model's weights kept)."""
    from core.train.fast_head import head_model
    from core.train.schedule import compile_model

    head = head_model(model, per_view[0][0].shape[-1])
    compile_model(head, LOWEST, cfg.train.label_smoothing, device_xla)
    return range_test(head, cycle_batches(per_view, batch_size, cfg.train.seed),
                      listener=listener, cancel=cancel, class_weight=class_weight)


def find_learning_rate(cfg, listener=None, cancel: Optional[CancelToken] = None,
                       report=None) -> RangeTest:
    """The whole finder as one job: scan, split, build the model, cache features, test.

    Writes no run folder.  Uses the training images of the split a run with
    ``cfg`` would make, the first cached view, and the config's batch size.
    """
    import keras

    from core.data.dataset import require_usable, scan_dataset, split_dataset
    from core.errors import ConfigError, DataError
    from core.model.backbones import get_backbone, resolve_image_size
    from core.model.build import build_model, exact_fit_planned, is_from_scratch
    from core.model.weights import resolve_weights
    from core.train.device import configure, reset_policy
    from core.train.fast_head import cached_features, head_views
    from core.train.loop_state import LoopState
    from core.train.schedule import class_weights_for

    cancel = cancel or CancelToken()
    cfg = cfg.copy().validate()
    if not cfg.data.data_dir:
        raise DataError("no data folder given: choose a folder with one sub-folder per class")
    if is_from_scratch(cfg.model):
        raise ConfigError(SCRATCH)
    spec = get_backbone(cfg.model.backbone)
    size = resolve_image_size(spec, cfg.model.image_size, cfg.model.weights)
    cfg.model.backbone, cfg.model.image_size = spec.name, size
    report = report or scan_dataset(cfg.data.data_dir, listener=listener, cancel=cancel)
    require_usable(report)
    split = split_dataset(report, cfg.data.val_split, cfg.data.seed)
    device = configure(cfg.train)
    try:
        keras.utils.set_random_seed(cfg.train.seed)
        weights = resolve_weights(cfg.model, size, listener, cancel)
        model = build_model(cfg.model, len(report.classes), size, weights)
        per_view, _ = cached_features(model, split.train, [], cfg, None, LoopState(), listener,
                                      cancel, device, cfg.train.batch_size,
                                      views=head_views(cfg.train, exact_fit_planned(cfg)))
        cw = class_weights_for([r.label for r in split.train], len(report.classes),
                               cfg.train.class_weights)
        return head_range_test(model, per_view, cfg, device.xla, cfg.train.batch_size, cw,
                               listener, cancel)
    finally:
        reset_policy()


#: Why the test is not run without pretrained weights (the window refuses; --lr auto keeps
#: the default rate and says so).
SCRATCH_WHY = ("the learning-rate finder tests the new head on the pretrained backbone's "
               "features; with weights 'none' every layer trains from scratch, which it "
               "cannot test")
SCRATCH = (f"{SCRATCH_WHY}: keep the default learning rate ({FALLBACK_RATE:g}), or choose "
           "ImageNet weights")


def resolve_auto_lr(session) -> None:
    """``--lr auto``: run the range test on the head, keep its proposal in config.json (the
    default rate, said why, when there is none: from scratch, or a flat curve)."""
    if session.scratch:
        rate, why = FALLBACK_RATE, SCRATCH_WHY
    else:
        per_view, _ = session.head_features()
        with session.strategy.scope():
            found = head_range_test(session.model, per_view, session.cfg, session.device.xla,
                                    session.worker_batch, session.class_weight,
                                    session.listener, session.cancel)
        rate, why = (FALLBACK_RATE, "the loss did not fall at any rate tried") if found.flat \
            else (float(f"{found.proposal:.2g}"), "")
    if why:
        emit(session.listener, Log(f"--lr auto: {why}; using the default rate {rate:g}",
                                   "warning"))
    session.cfg.train.learning_rate = rate
    if session.cluster.is_chief:
        session.run.save_config(session.cfg)  # a resume trains on with the same rate
    emit(session.listener, Log(f"learning rate 1 (auto): {session.cfg.train.learning_rate:g}"))
