"""One training session over a run folder: device, data, model, the phases, the outcome.

``train`` and ``resume_training`` (:mod:`core.train.engine`) both end in
:func:`run_session`, which runs these steps in order:

1. :meth:`Session.start` -- choose the device and the tf.distribute strategy,
   size the batches, mark the run ``running``;
2. :meth:`Session.train` -- build the pipelines and the model, run each phase of
   :meth:`Session.plan` (:meth:`Session.run_phase`); a cancel or an error interrupts it;
3. :meth:`Session.finish` -- load the best weights, save ``model.keras``, score the
   validation images, record the outcome in ``run.json`` and the run history.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Optional

from core.config import StudioConfig
from core.events import (CancelToken, Cancelled, DeviceChosen, Log, PhaseStarted, RunStarted,
                         emit)
from core.runs.folder import RunFolder
from core.runs.in_place import record_unfinished, require_in_place
from core.runs.history import record_run_safely  # the run list; a failure there only warns
from core.runs.records import RunStatus
from core.train.budget import BudgetReached, DeadlineToken, deadline_for, plan_budget
from core.train.callbacks import phase_callbacks
from core.train.checkpoint import load_weights_or_keep, weights_digest
from core.train.fast_head import head_model
from core.train.finish import (RunResult, data_error_inside, out_of_memory_error,
                               save_model, validation_metrics)
from core.train.loop import TrainingLoop
from core.train.loop_state import PHASES, LoopState
from core.train.lost_best import final_weights
from core.train.lr_finder import resolve_auto_lr
from core.train.schedule import class_weights_for, compile_model


def run_session(cfg: StudioConfig, run: RunFolder, split, classes: list[str], state: LoopState,
                listener, cancel: CancelToken, cluster=None,
                public_dir: Optional[Path] = None) -> RunResult:
    """The training process over ``run`` (the run folder, or a worker's scratch folder).

    ``public_dir`` is the run folder the user named (on a non-chief worker ``run``
    is its scratch folder instead); it is what the result reports.
    """
    import tensorflow as tf

    session = Session(cfg, run, split, classes, state, listener, cancel, cluster, public_dir)
    session.start()
    status = RunStatus.COMPLETED
    try:
        try:
            session.train()
        except BudgetReached:
            emit(listener, Log("time budget reached: training stops here and the best epoch "
                               "so far is kept"))
        except Cancelled:
            status = RunStatus.STOPPED
            emit(listener, Log("stopped; continue later with resume"))
        return session.finish(status)
    except (MemoryError, tf.errors.ResourceExhaustedError):
        session.abandon(RunStatus.FAILED)
        raise out_of_memory_error(cfg.train.batch_size) from None
    except KeyboardInterrupt:  # a second Ctrl+C: the user stopped it, not a failure
        session.abandon(RunStatus.STOPPED)
        raise
    except BaseException as exc:
        session.abandon(RunStatus.FAILED, exc)
        raise


class Session:
    """What one training process holds: device, strategy, pipelines, model and loop."""

    def __init__(self, cfg: StudioConfig, run: RunFolder, split, classes: list[str],
                 state: LoopState, listener, cancel: CancelToken, cluster=None,
                 public_dir: Optional[Path] = None) -> None:
        from core.train.distributed import SINGLE

        self.cfg, self.run, self.split, self.classes = cfg, run, split, classes
        self.state, self.listener, self.cancel = state, listener, cancel
        self.cluster = cluster or SINGLE
        self.public_dir = public_dir
        self.model = None
        self.class_weight: Optional[dict] = None
        self.scratch = False
        self.cache = self.train_ds = self.val_ds = None
        self._features = None  # (per-view training features, val features) of the head

    # -- 1. start ---------------------------------------------------------
    def start(self) -> None:
        from core.train import distributed as dist
        from core.train.device import configure, make_strategy

        cfg, cluster = self.cfg, self.cluster
        self.t_start = time.time()
        self.device = configure(cfg.train)
        # The strategy first: MultiWorkerMirroredStrategy must exist before any other TF op.
        self.strategy = make_strategy(self.device)
        emit(self.listener, DeviceChosen(self.device))
        per_replica = cfg.train.batch_size
        self.worker_batch = dist.worker_batch(per_replica, self.strategy, cluster)
        global_batch = dist.global_batch(per_replica, self.strategy)
        self.train_records = dist.shard_records(self.split.train, cluster)
        if dist.is_distributed(self.strategy):
            emit(self.listener, Log(
                f"{dist.replicas(self.strategy)} replicas"
                f"{'; ' + cluster.describe() if cluster.multi else ''}: global batch "
                f"{global_batch} ({per_replica} per replica)"
                + (f"; this worker trains on {len(self.train_records)} of "
                   f"{len(self.split.train)} images" if cluster.multi else "")))
        self.run.update_run_info(status=RunStatus.RUNNING, device=self.device.to_dict(),
                                 started=self.t_start, replicas=dist.replicas(self.strategy),
                                 workers=cluster.workers, global_batch=global_batch)
        self.loop = TrainingLoop(cfg, self.run, self.state, self.listener, self.cancel, cluster)
        # Every session's wall time (run.json; a killed one's in state.json) is the run's.
        self.prior_seconds = max(self.state.elapsed, self.run.run_info().seconds or 0.0)
        self.loop.prior_seconds, self.loop.session_start = self.prior_seconds, self.t_start
        if cfg.train.time_budget:  # every poll of the cancel token now also checks the clock
            self.cancel = self.loop.cancel = DeadlineToken(
                self.cancel, deadline_for(self.t_start, cfg.train.time_budget,
                                          self.prior_seconds),
                armed=lambda: self.state.best_score is not None)  # a model to keep first
        self.loop.batch_size = global_batch
        shown = self.run.path if cluster.is_chief else self.public_dir or self.run.path
        emit(self.listener, RunStarted(str(shown), resumed=self.state.global_epoch > 0))
        if cluster.is_chief:  # listed from its start: a run killed with kill -9 is not lost
            record_run_safely(self.run.path, self.listener)

    # -- 2. train ---------------------------------------------------------
    def train(self) -> None:
        import keras

        from core.model.build import build_model, is_from_scratch
        from core.model.weights import resolve_weights
        from core.train import distributed as dist

        cfg = self.cfg
        dist.check_same_data(self.strategy, self.cluster,
                             self.run.run_info().dataset_fingerprint or "0")
        keras.utils.set_random_seed(cfg.train.seed)
        size = cfg.model.image_size
        has_checkpoint = self.run.checkpoint.weights_file() is not None
        weights_path = (None if has_checkpoint
                        else resolve_weights(cfg.model, size, self.listener, self.cancel))
        self.make_datasets()
        t_build = time.time()
        with self.strategy.scope():
            self.model = build_model(cfg.model, len(self.classes), size, weights_path)
        build_seconds = time.time() - t_build
        dist.prepare_model(self.model, self.strategy)
        self.loop.model = self.model
        self.loop.steps = max(1, math.ceil(len(self.train_records) / self.worker_batch))
        self.class_weight = class_weights_for([r.label for r in self.split.train],
                                              len(self.classes), cfg.train.class_weights)
        if self.class_weight:
            emit(self.listener, Log("classes are imbalanced: weighting the loss by inverse "
                                    "frequency"))
        self.scratch = is_from_scratch(cfg.model)
        if cfg.train.time_budget:
            plan_budget(self, build_seconds, fresh=not has_checkpoint)
        if cfg.train.learning_rate == 0:  # "auto": a new run; the resolved rate is saved
            resolve_auto_lr(self)
        restored = False
        for phase, epochs in self.plan():
            if phase in self.state.finished_phases or epochs <= 0:
                continue
            restored = self.run_phase(phase, epochs, cfg.train.phase_learning_rate(phase),
                                      restored)

    def head_features(self):
        """The cached backbone features of the head phase (computed once per session)."""
        from core.train.fast_head import cached_features, head_views

        if self._features is None:
            views = head_views(self.cfg.train, self.linear_head())
            self._features = cached_features(
                self.model, self.train_records, self.split.val, self.cfg, self.cache,
                self.state, self.listener, self.cancel, self.device, self.worker_batch,
                self.loop.reported, views)
        return self._features

    def make_datasets(self) -> None:
        from core.data.pipeline import DecodedCache, make_dataset
        from core.train import distributed as dist

        cfg, n_classes, size = self.cfg, len(self.classes), self.cfg.model.image_size
        self.cache = DecodedCache(cfg.data.cache_mb) if cfg.data.cache_mb > 0 else None
        # The training pipeline is made when a phase fits the full model (fit_full_model):
        # its shuffles and augmentation are seeded by the global epoch it starts at.
        # Validation is not sharded: the synchronised metrics are exactly one machine's.
        self.val_ds = dist.unsharded(make_dataset(
            self.split.val, n_classes, size, self.worker_batch, training=False, cache=self.cache,
            listener=self.listener, reported=self.loop.reported)) if self.split.val else None

    def plan(self) -> list[tuple[str, int]]:
        """(phase, epochs) of each phase this run trains."""
        from core.model.build import phase_two_frozen

        t = self.cfg.train
        head_epochs = min(t.epochs, 1) if self.linear_head() else t.epochs
        plan = list(zip(PHASES, (head_epochs, t.fine_tune_epochs)))
        frozen = phase_two_frozen(self.model, self.cfg.model) if t.fine_tune_epochs else ""
        if frozen and not head_epochs:  # the up-front check cannot see weightless layers
            from core.train.preflight import nothing_would_train

            raise nothing_would_train(frozen)
        if frozen:
            emit(self.listener, Log(f"nothing to unfreeze ({frozen}): the fine-tuning phase "
                                    "is skipped"))
            plan = plan[:1]
        if self.scratch:
            emit(self.listener, Log("no pretrained weights: every layer learns from scratch, "
                                    "BatchNorm included, in both phases (this needs many more "
                                    "images and epochs than fine-tuning)", "warning"))
        return plan

    def linear_head(self) -> bool:
        """Whether the head phase is one exact logistic-regression fit (see linear_head).

        Not with a hidden layer, from scratch, without the fast head, or across
        machines (each worker holds other images: their fits would differ).
        """
        from core.train.linear_head import exact_fit_planned, usable

        return (exact_fit_planned(self.cfg) and not self.cluster.multi
                and self.model is not None and usable(self.model))

    def compile(self, model, lr: float) -> None:
        compile_model(model, lr, self.cfg.train.label_smoothing, self.device.xla)

    def run_phase(self, phase: str, epochs: int, lr: float, restored: bool) -> bool:
        """Train one phase to its end or early stop; returns whether a checkpoint was restored.

        The checkpoint is restored into the model once, in the first phase that
        runs; the optimizer state only in the phase it was saved in.
        """
        from core.model.build import apply_freeze

        state, loop = self.state, self.loop
        loop.enter_phase(phase, epochs, lr)
        with self.strategy.scope():
            trainable, total = apply_freeze(self.model, self.cfg.model.freeze, phase, self.scratch)
            self.compile(self.model, lr)
        loop.fit_model = self.model
        restored_now = not restored and loop.restore_checkpoint()
        if state.phase_over(epochs, self.cfg.train.early_stopping_patience):
            emit(self.listener, Log(f"the {phase} phase had ended when the run stopped: it "
                                    "goes on from that phase's best weights"))
            self._end_phase(phase)
            return restored or restored_now
        emit(self.listener, PhaseStarted(phase, epochs, loop.steps, lr, int(trainable)))
        emit(self.listener, Log(f"{phase} phase: {trainable:,} of {total:,} parameters train, "
                                f"learning rate {lr:g}"))
        if phase == "head" and self.linear_head():
            self.fit_linear_head(lr)
        elif phase == "head" and self.cfg.train.fast_head and not self.scratch:
            self.fit_head_on_features(epochs, lr, restored_now)
        else:
            self.fit_full_model(epochs, restored_now)
        self._end_phase(phase)
        return restored or restored_now

    def _end_phase(self, phase: str) -> None:
        """Continue from the phase's best weights (early-stopping restore), marked done."""
        best = self.run.phase_best_path(phase)
        if best.exists():
            load_weights_or_keep(self.model, best, self.listener, "the last epoch's weights")
        elif self.state.epoch:
            emit(self.listener, Log(f"{best} is missing: the {phase} phase ends on its last "
                                    "epoch's weights", "warning"))
        self.state.finished_phases.append(phase)
        self.loop.write_checkpoint()

    def fit_head_on_features(self, epochs: int, lr: float, restore_optimizer: bool) -> None:
        """The head phase on cached backbone features (see :mod:`core.train.fast_head`)."""
        import tensorflow as tf

        from core.train import distributed as dist
        from core.train.fast_head import epoch_batches

        loop = self.loop
        per_view, val = self.head_features()
        head_ds = epoch_batches(per_view, self.worker_batch, self.cfg.train.seed,
                                self.state.epoch)
        head_val = (tf.data.Dataset.from_tensor_slices(val).batch(self.worker_batch).cache()
                    if val is not None else None)
        with self.strategy.scope():
            loop.fit_model = head_model(self.model, per_view[0][0].shape[-1])
            self.compile(loop.fit_model, lr)
        dist.prepare_model(loop.fit_model, self.strategy)
        if restore_optimizer:
            with self.strategy.scope():  # the optimizer's slots are built under it
                loop.restore_optimizer()
        loop.fit_model.fit(dist.unsharded(head_ds),
                           validation_data=head_val and dist.unsharded(head_val),
                           epochs=epochs, initial_epoch=self.state.epoch,
                           steps_per_epoch=loop.steps, class_weight=self.class_weight,
                           callbacks=phase_callbacks(loop), verbose=0,
                           shuffle=False)  # shuffled per view already

    def fit_linear_head(self, lr: float) -> None:
        from core.train.linear_head import head_phase

        head_phase(self, lr)

    def fit_full_model(self, epochs: int, restore_optimizer: bool) -> None:
        from core.data.pipeline import make_dataset
        from core.train import distributed as dist

        loop, cfg = self.loop, self.cfg
        # Seeded from the phase's next global epoch: a resumed run (and a fine-tuning
        # phase after the fast head, which never iterated this pipeline) sees the same
        # batches as an uninterrupted one.
        self.train_ds = dist.unsharded(make_dataset(
            self.train_records, len(self.classes), cfg.model.image_size, self.worker_batch,
            training=True, augment=cfg.augment, cache=self.cache, seed=cfg.train.seed,
            listener=self.listener, first_epoch=self.state.global_epoch, reported=loop.reported))
        loop.fit_model = self.model
        if restore_optimizer:
            with self.strategy.scope():  # the optimizer's slots are built under it
                loop.restore_optimizer()
        self.model.fit(self.train_ds, validation_data=self.val_ds, epochs=epochs,
                       initial_epoch=self.state.epoch, class_weight=self.class_weight,
                       callbacks=phase_callbacks(loop), verbose=0,
                       shuffle=False)  # the pipeline shuffles, seeded per epoch

    # -- 3. finish --------------------------------------------------------
    def finish(self, status: RunStatus) -> RunResult:
        """Keep the best weights as model.keras, score them, and record how the run ended."""
        from core.train.device import reset_policy

        run, cluster = self.run, self.cluster
        require_in_place(run.path, self.loop.identity, self.state.global_epoch)
        metrics = digest = None
        try:
            if self.model is not None and final_weights(run, self.model, self.state, status,
                                                         self.listener):
                digest = weights_digest(self.model)
                if cluster.is_chief:
                    saved = save_model(self.model, run, self.cfg, len(self.classes))
                    trust = self.calibrate(saved, status)
                    metrics = validation_metrics(saved, run, self.split, self.classes,
                                                 self.cfg, self.listener, trust)
        finally:
            reset_policy()
        if status is RunStatus.COMPLETED:
            for phase in PHASES:
                run.phase_best_path(phase).unlink(missing_ok=True)
        seconds = round(self.prior_seconds + time.time() - self.t_start, 2)
        run.update_run_info(status=status, finished=time.time(), best_epoch=self.state.best_epoch,
                            seconds=seconds, weights_digest=digest,
                            val_accuracy=metrics.accuracy if metrics else None)
        if digest and cluster.multi:  # the same on every worker: one model, trained together
            emit(self.listener, Log(f"final weights digest {digest}"))
        return RunResult(str(self.hand_over(status)), status, self.state.best_epoch, metrics,
                         self.device, seconds, self.classes, self.cfg.model.image_size,
                         list(self.state.history))

    def calibrate(self, model, status: RunStatus):
        """A completed run's TrustModel; None: too few images, or stopped (old one dropped)."""
        from core.trust import fit, store

        if status is RunStatus.COMPLETED:
            return fit.fit_after_training(self.run, model, self.split, self.classes, self.cfg,
                                          self.listener)
        store.clear_trust(self.run)  # model.keras changed; calibrated when the run completes

    def abandon(self, status: RunStatus, exc: Optional[BaseException] = None) -> None:
        """Record an unfinished (resumable) session in run.json and the run list (chief)."""
        from core.train.device import reset_policy

        reset_policy()
        loop = getattr(self, "loop", None)
        record_unfinished(self.run, loop.identity if loop else None, status, self.listener,
                          self.cluster.is_chief)
        plain = data_error_inside(exc) if exc is not None else None  # out of TF's wrapping
        if plain is not None:
            raise plain from None

    def hand_over(self, status: RunStatus) -> Path:
        """Index the run (chief) or drop a finished worker's scratch folder; the run's folder."""
        run, cluster = self.run, self.cluster
        if not cluster.is_chief:
            if status is RunStatus.COMPLETED:  # the run is the chief's; this resume state is done
                import shutil

                shutil.rmtree(run.path, ignore_errors=True)
            result_dir = self.public_dir or run.path
            emit(self.listener, Log(f"{cluster.describe()} {status}; the chief writes the run "
                                    f"folder {result_dir}"))
            return result_dir
        emit(self.listener, Log(f"run {status}: {run.path}"))
        record_run_safely(run.path, self.listener)
        return run.path
