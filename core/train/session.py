"""One training session over a run folder: device, data, model, the phases, the outcome.

``train`` and ``resume_training`` (:mod:`core.train.engine`) both end in
:func:`run_session`, which runs these steps in order:

1. :meth:`Session.start` -- choose the device and the tf.distribute strategy,
   size the batches, mark the run ``running``;
2. :meth:`Session.train` -- build the data pipelines and the model, then run each
   phase of :meth:`Session.plan` (:meth:`Session.run_phase`); this is the part a
   cancel, an error or an exhausted memory interrupts;
3. :meth:`Session.finish` -- load the best weights, save ``model.keras``, score the
   validation images, record the outcome in ``run.json`` and the run history.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from core.config import StudioConfig
from core.errors import UserError
from core.events import (CancelToken, Cancelled, DeviceChosen, Log, PhaseStarted, Progress,
                         RunStarted, emit)
from core.infer.metrics import Metrics
from core.runs.folder import RunFolder
from core.runs.records import RunStatus
from core.train.callbacks import phase_callbacks
from core.train.checkpoint import load_weights_or_keep, weights_digest
from core.train.device import DeviceInfo
from core.train.fast_head import feature_datasets, head_model
from core.train.loop import TrainingLoop
from core.train.loop_state import PHASES, LoopState
from core.train.schedule import class_weights_for, compile_model


@dataclass
class RunResult:
    run_dir: str
    status: RunStatus  # completed or stopped (a failed run raises instead)
    best_epoch: int
    metrics: Optional[Metrics]
    device: DeviceInfo
    seconds: float
    classes: list[str]
    image_size: int
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        d["device"] = self.device.to_dict()
        d["metrics"] = self.metrics.to_dict() if self.metrics else None
        return d


def out_of_memory_error(batch_size: int) -> UserError:
    """The message for a batch that does not fit in memory: name a batch size that may.

    TensorFlow's own error is a page of allocator detail; what the user can do
    is halve the batch (or, at 1, shrink the images or the backbone).
    """
    if batch_size > 1:
        return UserError(f"training ran out of memory at batch size {batch_size}; try "
                         f"--batch-size {max(1, batch_size // 2)} (or a smaller image size)")
    return UserError("training ran out of memory even at batch size 1; choose a smaller "
                     "--image-size or a smaller backbone")


def run_session(cfg: StudioConfig, run: RunFolder, split, classes: list[str], state: LoopState,
                listener, cancel: CancelToken, cluster=None,
                public_dir: Optional[Path] = None) -> RunResult:
    """The training process over ``run`` (the run folder, or a worker's scratch folder).

    ``public_dir`` is the run folder the user named (on a non-chief worker ``run``
    is its scratch folder instead); it is what the result reports.
    """
    import tensorflow as tf

    from core.train.device import reset_policy

    session = Session(cfg, run, split, classes, state, listener, cancel, cluster, public_dir)
    session.start()
    status = RunStatus.COMPLETED
    try:
        session.train()
    except Cancelled:
        status = RunStatus.STOPPED
        emit(listener, Log("stopped; continue later with resume"))
    except (MemoryError, tf.errors.ResourceExhaustedError):
        run.update_run_info(status=RunStatus.FAILED)
        reset_policy()
        raise out_of_memory_error(cfg.train.batch_size) from None
    except BaseException:
        run.update_run_info(status=RunStatus.FAILED)
        reset_policy()
        raise
    return session.finish(status)


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
        # The run's time is every session's wall time (a stopped session's is in run.json,
        # a killed one's up to its last epoch in state.json): "finished in" means the run.
        self.prior_seconds = max(self.state.elapsed, self.run.run_info().seconds or 0.0)
        self.loop.prior_seconds, self.loop.session_start = self.prior_seconds, self.t_start
        self.loop.batch_size = global_batch
        shown = self.run.path if cluster.is_chief else self.public_dir or self.run.path
        emit(self.listener, RunStarted(str(shown), resumed=self.state.global_epoch > 0))

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
        with self.strategy.scope():
            self.model = build_model(cfg.model, len(self.classes), size, weights_path)
        dist.prepare_model(self.model, self.strategy)
        self.loop.model = self.model
        self.loop.steps = max(1, math.ceil(len(self.train_records) / self.worker_batch))
        self.class_weight = class_weights_for([r.label for r in self.split.train],
                                              len(self.classes), cfg.train.class_weights)
        if self.class_weight:
            emit(self.listener, Log("classes are imbalanced: weighting the loss by inverse "
                                    "frequency"))
        self.scratch = is_from_scratch(cfg.model)
        restored = False
        for phase, epochs, lr in self.plan():
            if phase in self.state.finished_phases or epochs <= 0:
                continue
            restored = self.run_phase(phase, epochs, lr, restored)

    def make_datasets(self) -> None:
        from core.data.pipeline import DecodedCache, make_dataset
        from core.train import distributed as dist

        cfg, n_classes, size = self.cfg, len(self.classes), self.cfg.model.image_size
        self.cache = DecodedCache(cfg.data.cache_mb) if cfg.data.cache_mb > 0 else None
        # The training pipeline is made when a phase fits the full model (fit_full_model):
        # its shuffles and augmentation are seeded by the global epoch it starts at.
        # Validation is not sharded: every worker scores all of it, so the
        # synchronised metrics are exactly those of one machine.
        self.val_ds = dist.unsharded(make_dataset(
            self.split.val, n_classes, size, self.worker_batch, training=False, cache=self.cache,
            listener=self.listener, reported=self.loop.reported)) if self.split.val else None

    def plan(self) -> list[tuple[str, int, float]]:
        """(phase, epochs, learning rate) of each phase this run trains."""
        t = self.cfg.train
        plan = [(phase, epochs, t.phase_learning_rate(phase))
                for phase, epochs in zip(PHASES, (t.epochs, t.fine_tune_epochs))]
        if self.cfg.model.freeze.mode == "none" and t.fine_tune_epochs and not self.scratch:
            emit(self.listener, Log("nothing to unfreeze (unfreeze: none): the fine-tuning "
                                    "phase is skipped"))
            plan = plan[:1]
        if self.scratch:
            emit(self.listener, Log("no pretrained weights: every layer learns from scratch, "
                                    "BatchNorm included, in both phases (this needs many more "
                                    "images and epochs than fine-tuning)", "warning"))
        return plan

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
        if state.epoch >= epochs:
            state.finished_phases.append(phase)
            return restored or restored_now
        emit(self.listener, PhaseStarted(phase, epochs, loop.steps, lr, int(trainable)))
        emit(self.listener, Log(f"{phase} phase: {trainable:,} of {total:,} parameters train, "
                                f"learning rate {lr:g}"))
        if phase == "head" and self.cfg.train.fast_head and not self.scratch:
            self.fit_head_on_features(epochs, lr, restored_now)
        else:
            self.fit_full_model(epochs, restored_now)
        # End of phase: continue from the phase's best weights (early-stopping restore).
        best = self.run.phase_best_path(phase)
        if best.exists():
            load_weights_or_keep(self.model, best, self.listener, "the last epoch's weights")
        state.finished_phases.append(phase)
        loop.write_checkpoint()
        return restored or restored_now

    def fit_head_on_features(self, epochs: int, lr: float, restore_optimizer: bool) -> None:
        """The head phase on cached backbone features (see :mod:`core.train.fast_head`)."""
        from core.train import distributed as dist

        loop = self.loop
        head_ds, head_val = feature_datasets(self.model, self.train_records, self.split.val,
                                             self.cfg, self.cache, self.state, self.listener,
                                             self.cancel, self.device, self.worker_batch,
                                             loop.reported)
        with self.strategy.scope():
            loop.fit_model = head_model(self.model, head_ds.element_spec[0].shape[-1])
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
        metrics = digest = None
        try:
            if self.model is not None and run.best_weights_path.exists():
                load_weights_or_keep(self.model, run.best_weights_path, self.listener,
                                     "the last epoch's weights")
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
        """A completed run's calibration and unknown score (a TrustModel, or None: too few
        validation images, or a stopped run, whose earlier calibration no longer fits)."""
        from core.trust import fit, store

        if status is RunStatus.COMPLETED:
            return fit.fit_after_training(self.run, model, self.split, self.classes, self.cfg,
                                          self.listener)
        store.clear_trust(self.run)  # model.keras changed; calibrated when the run completes

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
        from core.runs.history import record_run_safely  # the index; a failure there only warns

        record_run_safely(run.path, self.listener)
        return run.path


def save_model(model, run: RunFolder, cfg: StudioConfig, n_classes: int):
    """Save the best model as a plain float32 .keras: weights only, no training state.

    The trained model is rebuilt outside any distribution strategy, under float32,
    and given the same weights.  So the saved file computes in float32 everywhere
    (a CPU, an exporter), needs no mixed-precision support to load, and carries no
    optimizer state (which would double its size and make Keras warn about
    skipped optimizer variables on every load).  Returns that float32 model: it is
    what ``predict`` will load, so calibration and the validation scores use it.
    """
    import keras

    from core.fsutil import atomic_file
    from core.model.build import build_model

    keras.mixed_precision.set_global_policy("float32")
    clean = build_model(cfg.model, n_classes, cfg.model.image_size, None)
    clean.set_weights(model.get_weights())
    with atomic_file(run.model_path, suffix=".keras") as tmp:
        clean.save(str(tmp))
    return clean


def validation_metrics(model, run: RunFolder, split, classes, cfg, listener,
                       trust=None) -> Optional[Metrics]:
    """Score the validation images with the final model; written to metrics.json.

    The same function (:func:`core.infer.evaluation.evaluate_records`) scores them for the
    Evaluate page and ``evaluate``, and with the run's calibration (``trust``) like every
    prediction from the run, so every place shows the same figures on the same images;
    metrics.json also gets the calibration's summary (ECE before and after).
    """
    from core.infer.evaluation import evaluate_records
    from core.infer.predictor import KerasPredictor
    from core.trust.store import calibration_entry

    if not split.val:
        return None
    predictor = KerasPredictor(model, classes, str(run.model_path), trust)
    metrics = evaluate_records(predictor, split.val, classes, cfg.train.batch_size).metrics
    run.write_metrics({**metrics.to_dict(), **calibration_entry(run)})
    emit(listener, Progress(1, 1, f"validation accuracy {metrics.accuracy:.3f}"))
    return metrics
