"""A time budget instead of epochs: probe this machine, plan the work, stop at the deadline.

``train.time_budget`` seconds cover the whole session.  When the model is
built, :func:`probe` times the frozen backbone on one batch of real training
images (after a warm-up batch), and :func:`make_plan` spends what is left:
a share on cached augmented views for the head, the head fit itself, then as
many fine-tuning epochs as fit (a fine-tuning step costs about three forward
passes, and tracing it a few model builds), keeping a reserve for saving the
model and scoring the validation images.  When not one fine-tuning epoch fits,
the run is the head alone.  The plan is written into the run's config (so a resume follows it)
and announced as a :class:`core.events.BudgetPlanned` event.

The deadline is enforced, not hoped for: the session polls a
:class:`DeadlineToken` wherever it polls the user's cancel token (every batch,
every feature batch), and :class:`BudgetReached` ends the training cleanly;
the best epoch so far is kept and the run is complete.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

from core.events import BudgetPlanned, CancelToken, Log, emit

#: Share of the time left that cached views may take (the rest fine-tunes).
VIEWS_SHARE = 0.35
MAX_VIEWS = 8
MAX_FINE_TUNE_EPOCHS = 100
#: A fine-tuning step of an image costs about this many forward passes (forward + backward).
TRAIN_STEP_FORWARDS = 3.0
#: Seconds kept for the end of the run, on top of scoring the validation images once.
FIXED_RESERVE = 5.0
#: Tracing the fine-tuning step costs about this many model builds (measured on 2 cores).
TRACE_BUILDS = 6.0
#: Seconds an epoch costs beyond its images: the checkpoint and the history written.
EPOCH_OVERHEAD = 1.0


class BudgetReached(Exception):
    """The time budget is spent: training stops and the run completes with its best epoch."""


class DeadlineToken(CancelToken):
    """The user's cancel token, plus a deadline (``time.time()`` seconds).

    ``armed`` says whether the deadline may stop the work yet: a run keeps
    going until it has a model to keep (its first finished epoch), however
    short the budget.
    """

    def __init__(self, user: CancelToken, deadline: float,
                 armed: Callable[[], bool] = lambda: True) -> None:
        super().__init__()
        self.user, self.deadline, self.armed = user, deadline, armed

    def cancel(self) -> None:
        self.user.cancel()

    @property
    def cancelled(self) -> bool:
        return self.user.cancelled

    def left(self) -> float:
        return self.deadline - time.time()

    def raise_if_cancelled(self) -> None:
        self.user.raise_if_cancelled()
        if time.time() >= self.deadline and self.armed():
            raise BudgetReached("the time budget is spent")


@dataclass
class BudgetPlan:
    budget: float
    seconds_per_image: float  # one forward pass, decoding included
    views: int
    fine_tune_epochs: int
    reserve: float

    def describe(self, n_train: int) -> str:
        view_s = n_train * self.seconds_per_image
        epoch_s = view_s * TRAIN_STEP_FORWARDS
        ft = (f"up to {self.fine_tune_epochs} fine-tuning epoch"
              f"{'s' if self.fine_tune_epochs != 1 else ''} (about {epoch_s:.0f} s each)"
              if self.fine_tune_epochs else "no fine-tuning (it would not fit)")
        return (f"time budget {self.budget:.0f} s: the backbone takes "
                f"{self.seconds_per_image * 1000:.0f} ms per image here; plan: "
                f"{self.views} cached view{'s' if self.views != 1 else ''} for the head "
                f"(about {self.views * view_s:.0f} s), then {ft}; {self.reserve:.0f} s kept to "
                f"save and score the model")


def reserve_for(n_val: int, seconds_per_image: float, build_seconds: float) -> float:
    """Seconds the end of the run needs: rebuild and save the model, score validation once."""
    return FIXED_RESERVE + 2 * build_seconds + 1.5 * n_val * seconds_per_image


def make_plan(budget: float, left: float, n_train: int, n_val: int, seconds_per_image: float,
              build_seconds: float, fine_tune: bool) -> BudgetPlan:
    """Spend ``left`` seconds: views for the head first, fine-tuning epochs with the rest."""
    reserve = reserve_for(n_val, seconds_per_image, build_seconds)
    usable = max(0.0, left - reserve)
    view_s = max(n_train * seconds_per_image, 1e-6)
    val_s = n_val * seconds_per_image
    views = int(max(1, min(MAX_VIEWS, (VIEWS_SHARE * usable - val_s) // view_s)))
    after_head = usable - views * view_s - val_s - 2.0  # the head fit itself
    epoch_s = view_s * TRAIN_STEP_FORWARDS + val_s + EPOCH_OVERHEAD
    warm_up = TRACE_BUILDS * build_seconds + 2.0  # the first fine-tuning step is traced
    epochs = int((after_head - warm_up) // epoch_s) if fine_tune else 0
    epochs = max(epochs, 0)
    return BudgetPlan(budget, seconds_per_image, views, min(epochs, MAX_FINE_TUNE_EPOCHS),
                      reserve)


def probe(model, records, cfg, device, batch_size: int, cancel) -> float:
    """Seconds per image of the frozen backbone on this machine, decoding included.

    Two batches of up to ``batch_size`` training images: the first warms up
    (traces the function), the second is timed.
    """
    import tensorflow as tf

    from core.data.pipeline import make_dataset
    from core.train.fast_head import feature_extractor

    n = max(1, min(batch_size, len(records)))
    extractor = feature_extractor(model)
    fn = tf.function(lambda x: extractor(x, training=False), jit_compile=device.xla,
                     reduce_retracing=True)
    ds = make_dataset(list(records[:n]), int(model.outputs[0].shape[-1]),
                      cfg.model.image_size, n, training=False)
    for x, _ in ds:
        fn(x)
    cancel.raise_if_cancelled()
    t0 = time.perf_counter()
    for x, _ in ds:
        fn(x).numpy()
    return max((time.perf_counter() - t0) / n, 1e-5)


def deadline_for(start: float, budget: float, prior_seconds: float) -> float:
    """The session's deadline: what is left of the budget (a resume spends only the rest)."""
    return start + max(budget - prior_seconds, 1.0 if budget else math.inf)


def plan_budget(session, build_seconds: float, fresh: bool) -> None:
    """Probe this machine, fit views and epochs into the budget (a new run saves them)."""
    t, token = session.cfg.train, session.cancel
    per_image = probe(session.model, session.train_records, session.cfg, session.device,
                      session.worker_batch, token)
    from core.model.build import phase_two_frozen

    # the plan's own rule (it planned epochs the run then skipped)
    fine_tune = not phase_two_frozen(session.model, session.cfg.model)
    plan = make_plan(t.time_budget, token.left(), len(session.train_records),
                     len(session.split.val), per_image, build_seconds, fine_tune)
    token.deadline -= plan.reserve  # the rest is for saving and scoring the best model
    if fresh:
        t.head_feature_views, t.fine_tune_epochs = plan.views, plan.fine_tune_epochs
        if session.cluster.is_chief:
            session.run.save_config(session.cfg)  # a resume follows the same plan
    else:  # the saved plan is followed: say that one (it printed one it did not use)
        plan = replace(plan, views=t.head_feature_views,
                       fine_tune_epochs=t.fine_tune_epochs)
    text = plan.describe(len(session.train_records))
    emit(session.listener, BudgetPlanned(t.time_budget, t.head_feature_views,
                                         t.fine_tune_epochs, text))
    emit(session.listener, Log(text))
