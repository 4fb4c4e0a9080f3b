"""The training engine: two phases, checkpoints every epoch, resumable, cancellable.

The schedule is the one the Keras transfer-learning guide teaches: first train
the new head with the whole backbone frozen (a high learning rate is safe
because the pretrained features do not move), then unfreeze the chosen layers
and continue at a 10x lower learning rate, recompiling in between.  BatchNorm
layers always run in inference mode (the backbone is called with
``training=False`` and BN layers stay frozen), so small batches do not wreck
the pretrained statistics.

Everything the GUI and the CLI need is reported through events (see
:mod:`core.events`); a :class:`~core.events.CancelToken` is polled after every
batch.  After every finished epoch the weights, the optimizer state and the
loop state are written atomically to ``checkpoint/``, so a run killed with
``kill -9`` resumes (``resume_training``) losing at most the epoch in flight.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from core import __version__
from core.config import StudioConfig
from core.train.device import DeviceInfo
from core.errors import UserError
from core.events import (BatchEnd, CancelToken, Cancelled, DeviceChosen, EpochEnd, FileSkipped, Log,
                         PhaseStarted, Progress, RunStarted, emit)
from core.fsutil import atomic_dir
from core.infer.metrics import Metrics
from core.runs.folder import RunFolder, default_run_dir

PHASES = ("head", "fine_tune")


@dataclass
class LoopState:
    """Where the loop is; saved in checkpoint/state.json after every epoch."""

    phase: str = "head"
    epoch: int = 0  # epochs finished in this phase
    global_epoch: int = 0  # epochs finished in all phases
    learning_rate: float = 0.0
    best_score: Optional[list] = None  # [val_accuracy, -val_loss] of the best epoch (all phases)
    best_epoch: int = 0  # global epoch number of the best weights
    phase_best_score: Optional[list] = None
    phase_best_epoch: int = 0
    wait: int = 0  # epochs without improvement in this phase
    plateau_wait: int = 0
    finished_phases: list = field(default_factory=list)
    history: list = field(default_factory=list)
    elapsed: float = 0.0

    @classmethod
    def load(cls, path: Path) -> Optional["LoopState"]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RunResult:
    run_dir: str
    status: str  # "completed" or "stopped"
    best_epoch: int
    metrics: Optional[Metrics]
    device: DeviceInfo
    seconds: float
    classes: list[str]
    image_size: int
    history: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["device"] = self.device.to_dict()
        d["metrics"] = self.metrics.to_dict() if self.metrics else None
        return d


def _score(logs: dict) -> list:
    acc = float(logs.get("val_accuracy", logs.get("accuracy", 0.0)) or 0.0)
    loss = float(logs.get("val_loss", logs.get("loss", math.inf)) or 0.0)
    return [round(acc, 6), -loss]


def class_weights_for(labels: list[int], n_classes: int, mode: str) -> Optional[dict]:
    """Inverse-frequency weights when classes are imbalanced (ratio above 1.5), else None."""
    if mode != "auto" or not labels:
        return None
    counts = np.bincount(np.asarray(labels), minlength=n_classes).astype(np.float64)
    present = counts[counts > 0]
    if present.max() / present.min() <= 1.5:
        return None
    total = counts.sum()
    return {i: float(total / (n_classes * c)) if c else 1.0 for i, c in enumerate(counts)}


def lr_for_epoch(schedule: str, base_lr: float, epoch: int, epochs: int) -> float:
    """Cosine decay per epoch from ``base_lr`` to 5% of it; constant otherwise."""
    if schedule == "cosine" and epochs > 1:
        floor = 0.05 * base_lr
        return floor + 0.5 * (base_lr - floor) * (1 + math.cos(math.pi * epoch / (epochs - 1)))
    return base_lr


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


def _prepare_new_run(cfg: StudioConfig, run_dir: Optional[str | Path], runs_base, listener,
                     cancel, report):
    from core.model.backbones import get_backbone, resolve_image_size
    from core.data.dataset import require_usable, scan_dataset, split_dataset
    from core.errors import DataError

    cfg = cfg.copy().validate()
    if not cfg.data.data_dir:
        raise DataError("no data folder given: choose a folder with one sub-folder per class")
    spec = get_backbone(cfg.model.backbone)
    cfg.model.backbone = spec.name
    cfg.model.image_size = resolve_image_size(spec, cfg.model.image_size, cfg.model.weights)
    if report is None:
        emit(listener, Log(f"scanning {cfg.data.data_dir}"))
        report = scan_dataset(cfg.data.data_dir, listener=listener, cancel=cancel)
    require_usable(report)
    for problem in report.problems:
        if problem.kind != "non_image_file":
            emit(listener, FileSkipped(problem.path, problem.reason, "scan"))
    split = split_dataset(report, cfg.data.val_split, cfg.data.seed)
    run = RunFolder(run_dir or default_run_dir(runs_base or "runs", spec.name))
    if run.path.exists() and any(run.path.iterdir()):
        raise UserError(f"{run.path} already holds files; choose another output folder, or continue "
                        f"a stopped run with 'train --resume {run.path}'")
    run.path.mkdir(parents=True, exist_ok=True)
    run.save_config(cfg)
    run.write_json("split.json", split.to_dict())
    run.write_json("labels.json", list(report.classes))
    run.update_run_info(status="created", app_version=__version__, created=time.time(),
                        data_dir=str(Path(cfg.data.data_dir).resolve()),
                        images=len(report.records), classes=list(report.classes),
                        dataset_fingerprint=_fingerprint(report))
    return cfg, run, split, list(report.classes)


def _fingerprint(report) -> str:
    import hashlib

    h = hashlib.blake2b(digest_size=12)
    for r in sorted(report.records, key=lambda r: r.path):
        h.update(f"{r.class_name}\0{Path(r.path).name}\0{r.width}x{r.height}\n".encode())
    return h.hexdigest()


def train(cfg: StudioConfig, run_dir: Optional[str | Path] = None, *, runs_base=None,
          listener=None, cancel: Optional[CancelToken] = None, report=None) -> RunResult:
    """Train a new run from ``cfg``; returns when it completes or is stopped.

    With ``train.strategy = "multi-worker"`` every machine calls this with the
    same config and the same ``run_dir``; ``TF_CONFIG`` says which worker this
    is.  The chief (worker 0) writes ``run_dir``; the others keep their resume
    state in a scratch folder beside it (see :mod:`core.train.distributed`).
    """
    from core.train.distributed import cluster_for, worker_scratch_dir

    cancel = cancel or CancelToken()
    cluster = cluster_for(cfg.train.strategy)
    if cluster.multi and not run_dir:
        raise UserError("multi-worker training needs the run folder named on every machine "
                        "(--out RUN_DIR), so that the workers agree on it and can resume it")
    folder = run_dir if cluster.is_chief else worker_scratch_dir(run_dir, cluster)
    cfg, run, split, classes = _prepare_new_run(cfg, folder, runs_base, listener, cancel, report)
    return _run(cfg, run, split, classes, LoopState(), listener, cancel, cluster,
                Path(run_dir) if run_dir else None)


def resume_training(run_dir: str | Path, listener=None,
                    cancel: Optional[CancelToken] = None) -> RunResult:
    """Continue a stopped or killed run from its last finished epoch, same config."""
    from core.data.dataset import Split

    from core.train.distributed import SINGLE, cluster_for, cluster_from_env, worker_scratch_dir
    from core.errors import ConfigError

    cancel = cancel or CancelToken()
    run = RunFolder(run_dir)
    if os.environ.get("TF_CONFIG"):  # a non-chief worker resumes from its own scratch folder
        try:
            here = cluster_from_env()
        except ConfigError:
            here = SINGLE
        scratch = RunFolder(worker_scratch_dir(run_dir, here))
        if here.multi and not here.is_chief and scratch.config_path.exists():
            run = scratch
    if not run.path.is_dir():
        raise UserError(f"{run.path}: no such run folder")
    if not run.config_path.exists():
        raise UserError(f"{run.path}: not a run folder (no config.json)")
    cfg = run.load_config()
    cluster = cluster_for(cfg.train.strategy)
    if not cluster.is_chief and run.path == Path(run_dir):
        raise UserError(f"worker {cluster.index} keeps its resume state in "
                        f"{worker_scratch_dir(run_dir, cluster)}, which is missing: resume "
                        f"needs that folder on this machine (or start a new run)")
    classes = run.labels()
    split = Split.from_dict(run.read_json("split.json"), cfg.data.data_dir)
    state = LoopState.load(run.checkpoint_dir / "state.json") or LoopState()
    if run.run_info().get("status") == "completed":
        raise UserError(f"{run.path}: this run already completed; start a new run instead")
    emit(listener, Log(f"resuming {run.path} at {state.phase} epoch {state.epoch + 1}"))
    return _run(cfg, run, split, classes, state, listener, cancel, cluster, Path(run_dir))


def _callbacks(engine: "_Engine") -> list:
    """Our engine callback, plus TensorBoard logs in RUN_DIR/logs when TensorBoard is there."""
    import keras

    callbacks = [_make_callback(engine)]
    if not engine.cluster.is_chief:  # only the chief writes logs (and everything else)
        return callbacks
    try:
        import tensorboard  # noqa: F401  (keras' callback needs its summary writer)
    except ImportError:
        return callbacks
    from core.train.distributed import scalar_logs

    class TensorBoard(keras.callbacks.TensorBoard):
        """Keras' callback, given plain float logs (a distributed step's are shaped [1])."""

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, scalar_logs(logs))

        def on_test_end(self, logs=None):
            super().on_test_end(scalar_logs(logs))

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, scalar_logs(logs))

    callbacks.append(TensorBoard(log_dir=str(engine.run.logs_dir / engine.phase),
                                 update_freq="epoch", profile_batch=0, write_graph=False))
    return callbacks


def _make_callback(engine: "_Engine"):
    """A Keras callback bridging fit's hooks to the engine's events, checkpoints and stops."""
    import keras

    from core.train.distributed import scalar_logs

    class EngineCallback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            engine.on_epoch_begin(epoch)

        def on_train_batch_end(self, batch, logs=None):
            engine.on_batch_end(batch, scalar_logs(logs))

        def on_test_batch_end(self, batch, logs=None):
            engine.cancel.raise_if_cancelled()

        def on_epoch_end(self, epoch, logs=None):
            engine.on_epoch_end(epoch, scalar_logs(logs))

    return EngineCallback()


class _Engine:
    """The state of one training process over one run folder."""

    def __init__(self, cfg, run, split, classes, state, listener, cancel, cluster=None):
        from core.train.distributed import SINGLE

        self.cfg, self.run, self.split, self.classes = cfg, run, split, classes
        self.cluster = cluster or SINGLE
        self.state, self.listener, self.cancel = state, listener, cancel
        self.model = None  # the full classifier (its weights are what gets saved)
        self.fit_model = None  # what fit() trains: the full model, or the head alone
        self.phase = state.phase
        self.phase_epochs = 0
        self.phase_lr = 0.0
        self.steps = 1
        self.batch_size = cfg.train.batch_size
        self._epoch_start = 0.0
        self._phase_start = 0.0
        self._phase_start_epoch = 0
        self._t0 = time.time()
        self.reported: set = set()  # paths already named as skipped (see make_dataset)

    # -- Keras hooks ------------------------------------------------------
    def on_epoch_begin(self, epoch_in_fit: int) -> None:
        self.cancel.raise_if_cancelled()
        t = self.cfg.train
        e = self.state.epoch
        if t.lr_schedule == "plateau" and self.state.learning_rate:
            lr = self.state.learning_rate
        else:
            lr = lr_for_epoch(t.lr_schedule, self.phase_lr, e, self.phase_epochs)
        self.fit_model.optimizer.learning_rate.assign(lr)
        self.state.learning_rate = lr
        self._epoch_start = time.time()

    def on_batch_end(self, batch: int, logs: dict) -> None:
        now = time.time()
        step = batch + 1
        elapsed = max(now - self._epoch_start, 1e-6)
        ips = step * self.batch_size / elapsed
        per_step = elapsed / step
        remaining_epochs = self.phase_epochs - self.state.epoch - 1
        eta = per_step * (self.steps - step) + remaining_epochs * per_step * self.steps * 1.15
        emit(self.listener, BatchEnd(self.phase, self.state.epoch + 1, self.phase_epochs, step,
                                     self.steps, float(ips), float(max(eta, 0.0)),
                                     {k: float(v) for k, v in logs.items()}))
        self.cancel.raise_if_cancelled()

    def on_epoch_end(self, epoch_in_fit: int, logs: dict) -> None:
        st = self.state
        logs = {k: float(v) for k, v in logs.items()}
        seconds = time.time() - self._epoch_start
        st.epoch += 1
        st.global_epoch += 1
        row = {"phase": self.phase, "epoch": st.epoch, "global_epoch": st.global_epoch,
               "loss": logs.get("loss"), "accuracy": logs.get("accuracy"),
               "val_loss": logs.get("val_loss"), "val_accuracy": logs.get("val_accuracy"),
               "learning_rate": st.learning_rate, "seconds": round(seconds, 3)}
        st.history.append(row)
        score = _score(logs)
        improved_phase = st.phase_best_score is None or score > st.phase_best_score
        if improved_phase:
            st.phase_best_score, st.phase_best_epoch, st.wait = score, st.global_epoch, 0
            save_weights(self.model, self._phase_best_path())
        else:
            st.wait += 1
        if st.best_score is None or score > st.best_score:
            st.best_score, st.best_epoch = score, st.global_epoch
            from core.fsutil import atomic_file

            with atomic_file(self.run.best_weights_path, suffix=".npz") as tmp:
                save_weights(self.model, tmp)
        t = self.cfg.train
        if t.lr_schedule == "plateau":
            st.plateau_wait = 0 if improved_phase else st.plateau_wait + 1
            if st.plateau_wait >= 2:
                st.learning_rate = max(st.learning_rate * 0.2, self.phase_lr * 1e-3)
                st.plateau_wait = 0
                emit(self.listener, Log(f"validation stalled: learning rate lowered to "
                                        f"{st.learning_rate:.2e}"))
        st.elapsed += seconds
        self.write_checkpoint()
        self.run.write_history(st.history)
        emit(self.listener, EpochEnd(self.phase, st.epoch, self.phase_epochs, logs, seconds))
        if t.early_stopping_patience and st.wait >= t.early_stopping_patience:
            emit(self.listener, Log(f"no improvement for {st.wait} epochs: {self.phase} phase "
                                    "stops early"))
            self.fit_model.stop_training = True

    # -- checkpoints ------------------------------------------------------
    def _phase_best_path(self) -> Path:
        return self.run.path / f".phase-best-{self.phase}.npz"

    def write_checkpoint(self) -> None:
        with atomic_dir(self.run.checkpoint_dir) as tmp:
            save_weights(self.model, tmp / "weights.npz")
            opt_vars = [np.asarray(v.numpy()) for v in self.fit_model.optimizer.variables]
            np.savez(tmp / "optimizer.npz", *opt_vars)
            best = self._phase_best_path()
            if best.exists():
                import shutil

                shutil.copyfile(best, tmp / "phase-best.npz")
            (tmp / "state.json").write_text(json.dumps(asdict(self.state), indent=1))

    def restore_checkpoint(self) -> bool:
        ck = self.run.checkpoint_dir
        weights = checkpoint_weights(self.run)
        if weights is None:
            return False
        if weights.suffix == ".h5":
            self._upgrade_legacy_weights()
        load_weights(self.model, weights)
        if (ck / "phase-best.npz").exists():
            import shutil

            shutil.copyfile(ck / "phase-best.npz", self._phase_best_path())
        return True

    def _upgrade_legacy_weights(self) -> None:
        """A run stopped by an older version kept Keras .weights.h5 files: rewrite them as npz.

        Its best and phase-best weights would otherwise be ignored by this version
        (the model at the end would be the last epoch's, not the best one's).
        """
        ck = self.run.checkpoint_dir
        legacy_phase_best = ck / "phase-best.weights.h5"
        if legacy_phase_best.exists():
            load_weights(self.model, legacy_phase_best)
            save_weights(self.model, self._phase_best_path())
        legacy_best = self.run.path / "best.weights.h5"
        if legacy_best.exists() and not self.run.best_weights_path.exists():
            from core.fsutil import atomic_file

            load_weights(self.model, legacy_best)
            with atomic_file(self.run.best_weights_path, suffix=".npz") as tmp:
                save_weights(self.model, tmp)

    def restore_optimizer(self) -> None:
        """Put back the optimizer state saved with the checkpoint (same phase only)."""
        opt_file = self.run.checkpoint_dir / "optimizer.npz"
        if opt_file.exists() and self.state.phase == self.phase and self.state.epoch > 0:
            opt = self.fit_model.optimizer
            opt.build(self.fit_model.trainable_variables)
            with np.load(opt_file) as data:
                arrays = [data[f"arr_{i}"] for i in range(len(data.files))]
            if len(arrays) == len(opt.variables) and all(
                    tuple(a.shape) == tuple(v.shape) for a, v in zip(arrays, opt.variables)):
                for a, v in zip(arrays, opt.variables):
                    v.assign(a)
            else:
                emit(self.listener, Log("optimizer state did not match; it restarts fresh",
                                        "warning"))


def save_weights(model, path) -> None:
    """The model's weights alone, as one uncompressed ``.npz`` (in ``model.weights`` order).

    The engine saves weights up to three times an epoch (phase best, overall
    best, checkpoint).  Keras' ``save_weights`` walks the layer tree into HDF5
    and, for a compiled model, stores the optimizer's slots too: about 0.5 s
    for MobileNetV2, measured at 29% of a short run (``bench/bench_speed.py``).
    ``np.savez`` of ``get_weights()`` takes milliseconds; the optimizer state
    lives in ``checkpoint/optimizer.npz`` only.
    """
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a name
        np.savez(f, *model.get_weights())


def checkpoint_weights(run: RunFolder) -> Optional[Path]:
    """The checkpoint's weights file: ours, or a Keras .weights.h5 from an older version."""
    for name in ("weights.npz", "weights.weights.h5"):
        if (run.checkpoint_dir / name).exists():
            return run.checkpoint_dir / name
    return None


def load_weights(model, path) -> None:
    """Load weights written by :func:`save_weights`; a clear error if they do not fit.

    A Keras ``.weights.h5`` (what versions before 2026-11-22 wrote) is read with
    Keras, skipping any optimizer state stored in it.
    """
    from core.errors import ModelFileError

    if str(path).endswith(".h5"):
        from keras.src.saving import saving_lib

        skip = [model.optimizer] if getattr(model, "optimizer", None) is not None else None
        saving_lib.load_weights_only(model, str(path), objects_to_skip=skip)
        return

    try:
        with np.load(path) as data:
            arrays = [data[f"arr_{i}"] for i in range(len(data.files))]
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path} cannot be read ({exc}); the run's checkpoint is damaged: "
                             "start a new run") from None
    current = model.weights
    if len(arrays) != len(current) or any(tuple(a.shape) != tuple(v.shape)
                                          for a, v in zip(arrays, current)):
        raise ModelFileError(f"{path} holds weights of another model ({len(arrays)} arrays for "
                             f"{len(current)} weights); it cannot be loaded into this run")
    model.set_weights(arrays)


def _compile(model, lr: float, cfg: StudioConfig, device: DeviceInfo) -> None:
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.train.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        jit_compile=device.xla,
    )


def _run(cfg: StudioConfig, run: RunFolder, split, classes: list[str], state: LoopState,
         listener, cancel: CancelToken, cluster=None,
         public_dir: Optional[Path] = None) -> RunResult:
    """The training process over ``run`` (the run folder, or a worker's scratch folder).

    ``public_dir`` is the run folder the user named (on a non-chief worker ``run``
    is its scratch folder instead); it is what the result reports.
    """
    import keras
    import tensorflow as tf

    from core.train import distributed as dist
    from core.train.device import configure, make_strategy, reset_policy
    from core.model.build import apply_freeze, build_model, is_from_scratch
    from core.data.pipeline import DecodedCache, make_dataset
    from core.model.weights import resolve_weights

    cluster = cluster or dist.SINGLE
    t_start = time.time()
    device = configure(cfg.train)
    # The strategy first: MultiWorkerMirroredStrategy must exist before any other TF op.
    strategy = make_strategy(device)
    emit(listener, DeviceChosen(device))
    per_replica = cfg.train.batch_size
    worker_batch = dist.worker_batch(per_replica, strategy, cluster)
    global_batch = dist.global_batch(per_replica, strategy)
    train_records = dist.shard_records(split.train, cluster)
    if dist.is_distributed(strategy):
        emit(listener, Log(f"{dist.replicas(strategy)} replicas"
                           f"{'; ' + cluster.describe() if cluster.multi else ''}: global batch "
                           f"{global_batch} ({per_replica} per replica)"
                           + (f"; this worker trains on {len(train_records)} of "
                              f"{len(split.train)} images" if cluster.multi else "")))
    run.update_run_info(status="running", device=device.to_dict(), started=t_start,
                        replicas=dist.replicas(strategy), workers=cluster.workers,
                        global_batch=global_batch)
    engine = _Engine(cfg, run, split, classes, state, listener, cancel, cluster)
    engine.batch_size = global_batch
    emit(listener, RunStarted(str(run.path if cluster.is_chief else public_dir or run.path),
                              resumed=state.global_epoch > 0))
    status = "completed"
    try:
        dist.check_same_data(strategy, cluster, run.run_info().get("dataset_fingerprint") or "0")
        keras.utils.set_random_seed(cfg.train.seed)
        n_classes = len(classes)
        size = cfg.model.image_size
        has_checkpoint = checkpoint_weights(run) is not None
        weights_path = None if has_checkpoint else resolve_weights(cfg.model, size, listener, cancel)
        cache = DecodedCache(cfg.data.cache_mb) if cfg.data.cache_mb > 0 else None
        train_ds = dist.unsharded(make_dataset(
            train_records, n_classes, size, worker_batch, training=True, augment=cfg.augment,
            cache=cache, seed=cfg.train.seed, listener=listener, first_epoch=state.global_epoch,
            reported=engine.reported))
        # Validation is not sharded: every worker scores all of it, so the
        # synchronised metrics are exactly those of one machine.
        val_ds = dist.unsharded(make_dataset(
            split.val, n_classes, size, worker_batch, training=False, cache=cache,
            listener=listener, reported=engine.reported)) if split.val else None
        with strategy.scope():
            model = build_model(cfg.model, n_classes, size, weights_path)
        dist.prepare_model(model, strategy)
        engine.model = model
        engine.steps = max(1, math.ceil(len(train_records) / worker_batch))
        cw = class_weights_for([r.label for r in split.train], n_classes, cfg.train.class_weights)
        if cw:
            emit(listener, Log("classes are imbalanced: weighting the loss by inverse frequency"))
        plan = [("head", cfg.train.epochs, cfg.train.learning_rate),
                ("fine_tune", cfg.train.fine_tune_epochs, cfg.train.fine_tune_learning_rate)]
        if (cfg.model.freeze.mode == "none" and cfg.train.fine_tune_epochs
                and not is_from_scratch(cfg.model)):
            emit(listener, Log("nothing to unfreeze (unfreeze: none): the fine-tuning phase is "
                               "skipped"))
            plan = plan[:1]
        scratch = is_from_scratch(cfg.model)
        if scratch:
            emit(listener, Log("no pretrained weights: every layer learns from scratch, "
                               "BatchNorm included, in both phases (this needs many more "
                               "images and epochs than fine-tuning)", "warning"))
        restored = False
        for phase, epochs, lr in plan:
            if phase in state.finished_phases or epochs <= 0:
                continue
            if state.phase != phase:  # entering a new phase
                state.phase, state.epoch, state.wait, state.plateau_wait = phase, 0, 0, 0
                state.phase_best_score, state.learning_rate = None, 0.0
            engine.phase, engine.phase_epochs, engine.phase_lr = phase, epochs, lr
            with strategy.scope():
                trainable, total = apply_freeze(model, cfg.model.freeze, phase, scratch)
                _compile(model, lr, cfg, device)
            engine.fit_model = model
            restored_for_head = False
            if not restored:
                restored = restored_for_head = engine.restore_checkpoint()
            if state.epoch >= epochs:
                state.finished_phases.append(phase)
                continue
            emit(listener, PhaseStarted(phase, epochs, engine.steps, lr, int(trainable)))
            emit(listener, Log(f"{phase} phase: {trainable:,} of {total:,} parameters train, "
                               f"learning rate {lr:g}"))
            if phase == "head" and cfg.train.fast_head and not scratch:
                head_ds, head_val = _feature_datasets(model, train_records, split.val, cfg,
                                                      cache, state, listener, cancel, device,
                                                      worker_batch, engine.reported)
                with strategy.scope():
                    engine.fit_model = _head_model(model, head_ds.element_spec[0].shape[-1])
                    _compile(engine.fit_model, lr, cfg, device)
                dist.prepare_model(engine.fit_model, strategy)
                if restored_for_head:
                    with strategy.scope():  # the optimizer's slots are built under it
                        engine.restore_optimizer()
                engine.fit_model.fit(dist.unsharded(head_ds),
                                     validation_data=head_val and dist.unsharded(head_val),
                                     epochs=epochs, initial_epoch=state.epoch,
                                     steps_per_epoch=engine.steps, class_weight=cw,
                                     callbacks=_callbacks(engine), verbose=0,
                                     shuffle=False)  # shuffled per view already
            else:
                engine.fit_model = model
                if restored_for_head:
                    with strategy.scope():  # the optimizer's slots are built under it
                        engine.restore_optimizer()
                model.fit(train_ds, validation_data=val_ds, epochs=epochs,
                          initial_epoch=state.epoch, class_weight=cw,
                          callbacks=_callbacks(engine), verbose=0,
                          shuffle=False)  # the pipeline shuffles, seeded per epoch
            # End of phase: continue from the phase's best weights (early-stopping restore).
            best = engine._phase_best_path()
            if best.exists():
                load_weights(model, best)
            state.finished_phases.append(phase)
            engine.write_checkpoint()
    except Cancelled:
        status = "stopped"
        emit(listener, Log("stopped; continue later with resume"))
    except (MemoryError, tf.errors.ResourceExhaustedError):
        run.update_run_info(status="failed")
        reset_policy()
        raise out_of_memory_error(cfg.train.batch_size) from None
    except BaseException:
        run.update_run_info(status="failed")
        reset_policy()
        raise
    metrics = None
    digest = None
    try:
        if engine.model is not None and run.best_weights_path.exists():
            load_weights(engine.model, run.best_weights_path)
            digest = weights_digest(engine.model)
            if cluster.is_chief:
                _save_model(engine.model, run, cfg, len(classes))
                metrics = _validation_metrics(engine.model, run, split, classes, cfg, listener)
    finally:
        reset_policy()
    for phase in PHASES:
        p = run.path / f".phase-best-{phase}.npz"
        if status == "completed" and p.exists():
            p.unlink()
    seconds = time.time() - t_start
    run.update_run_info(status=status, finished=time.time(), best_epoch=state.best_epoch,
                        seconds=round(state.elapsed, 2), weights_digest=digest,
                        val_accuracy=metrics.accuracy if metrics else None)
    if digest and cluster.multi:  # the same on every worker: one model, trained together
        emit(listener, Log(f"final weights digest {digest}"))
    result_dir = run.path
    if not cluster.is_chief:
        result_dir = public_dir or run.path
        if status == "completed":  # the run is the chief's; this worker's resume state is done
            import shutil

            shutil.rmtree(run.path, ignore_errors=True)
        emit(listener, Log(f"{cluster.describe()} {status}; the chief writes the run folder "
                           f"{result_dir}"))
    else:
        emit(listener, Log(f"run {status}: {run.path}"))
        from core.runs.history import record_run_safely  # the index; a failure there only warns

        record_run_safely(run.path, listener)
    return RunResult(str(result_dir), status, state.best_epoch, metrics, device, seconds, classes,
                     cfg.model.image_size, list(state.history))


def weights_digest(model) -> str:
    """A short hash of every weight, in order: equal digests mean bit-identical models."""
    import hashlib

    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()[:16]


def _head_model(model, n_features: int):
    """A model from pooled backbone features to the output, SHARING the classifier's head layers.

    Training it trains the full model's head: the layer objects are the same.
    """
    import keras

    from core.model.build import HEAD_LAYERS

    inputs = keras.Input(shape=(int(n_features),), name="features")
    x = inputs
    for name in HEAD_LAYERS[1:]:  # avg_pool is already applied to the features
        try:
            layer = model.get_layer(name)
        except ValueError:
            continue
        x = layer(x)
    return keras.Model(inputs, x, name="head")


def _feature_datasets(model, train_records, val_records, cfg: StudioConfig, cache,
                      state: LoopState, listener, cancel, device: DeviceInfo, batch_size: int,
                      reported: Optional[set] = None):
    """Run the frozen backbone once per cached view; return (train, val) feature datasets.

    While the backbone is frozen its pooled features of an image do not change,
    so computing them every epoch (as the plain recipe does) repeats the most
    expensive work.  Without augmentation one pass is exact; with augmentation
    ``head_feature_views`` augmented passes are cached and the epochs cycle
    through them: each view yields ``ceil(n / batch)`` batches, one epoch's
    worth, so epoch ``e`` of the phase trains on view ``e % views`` (a file that
    could not be decoded shortens a view and shifts this by a batch, harmlessly).
    View ``v`` is augmented with the seed of the phase's epoch ``v`` and a resumed
    phase starts the cycle at its next epoch's view, so a resume sees the same
    views in the same order as an uninterrupted run.
    """
    import tensorflow as tf

    from core.data.augment import build_augmenter
    from core.data.pipeline import make_dataset

    n_classes = int(model.outputs[0].shape[-1])
    size = cfg.model.image_size
    extractor = _feature_extractor(model)
    fn = tf.function(lambda x: tf.cast(extractor(x, training=False), tf.float32),
                     jit_compile=device.xla, reduce_retracing=True)
    augmenting = build_augmenter(cfg.augment, size) is not None
    views = cfg.train.head_feature_views if augmenting else 1
    views = max(1, min(views, cfg.train.epochs))
    def extract(records, training, augment, first_epoch, label):
        ds = make_dataset(records, n_classes, size, batch_size, training=training,
                          augment=augment, cache=cache, seed=cfg.train.seed, listener=listener,
                          first_epoch=first_epoch, reported=reported)
        feats, labels = [], []
        total = math.ceil(len(records) / batch_size)
        for i, (x, y) in enumerate(ds):
            cancel.raise_if_cancelled()
            feats.append(fn(x).numpy())
            labels.append(y.numpy())
            emit(listener, Progress(i + 1, total, label))
        return np.concatenate(feats), np.concatenate(labels)

    t0 = time.time()
    phase_first_epoch = state.global_epoch - state.epoch  # global number of the phase's epoch 0
    per_view = []
    for v in range(views):
        label = (f"computing backbone features, view {v + 1}/{views}" if views > 1
                 else "computing backbone features")
        per_view.append(extract(train_records, True, cfg.augment if augmenting else None,
                                phase_first_epoch + v, label))
    emit(listener, Log(f"head phase on cached features: the frozen backbone ran {views} "
                       f"time(s) over the training images instead of {cfg.train.epochs} "
                       f"({time.time() - t0:.1f} s)"))
    bs = batch_size

    def view_ds(i):
        f, y = per_view[i]
        return (tf.data.Dataset.from_tensor_slices((f, y))
                .shuffle(len(f), seed=cfg.train.seed + i, reshuffle_each_iteration=True)
                .batch(bs))

    order = [(state.epoch + i) % views for i in range(views)]  # resume: next epoch's view first
    train = view_ds(order[0])
    for i in order[1:]:
        train = train.concatenate(view_ds(i))
    train = train.repeat().prefetch(2)
    val = None
    if val_records:
        vf, vy = extract(val_records, False, None, 0, "computing validation features")
        val = tf.data.Dataset.from_tensor_slices((vf, vy)).batch(bs).cache()
    return train, val


def _feature_extractor(model):
    import keras

    return keras.Model(model.inputs, model.get_layer("avg_pool").output, name="features")


def _save_model(model, run: RunFolder, cfg: StudioConfig, n_classes: int) -> None:
    """Save the best model as a plain float32 .keras: weights only, no training state.

    The trained model is rebuilt outside any distribution strategy, under float32,
    and given the same weights.  So the saved file computes in float32 everywhere
    (a CPU, an exporter), needs no mixed-precision support to load, and carries no
    optimizer state (which would double its size and make Keras warn about
    skipped optimizer variables on every load).
    """
    import keras

    from core.fsutil import atomic_file
    from core.model.build import build_model

    keras.mixed_precision.set_global_policy("float32")
    clean = build_model(cfg.model, n_classes, cfg.model.image_size, None)
    clean.set_weights(model.get_weights())
    with atomic_file(run.model_path, suffix=".keras") as tmp:
        clean.save(str(tmp))


def _validation_metrics(model, run: RunFolder, split, classes, cfg, listener) -> Optional[Metrics]:
    from core.infer.metrics import compute_metrics
    from core.infer.predictor import KerasPredictor

    if not split.val:
        return None
    predictor = KerasPredictor(model, classes, str(run.model_path))
    paths = [r.path for r in split.val]
    labels = {r.path: r.label for r in split.val}
    probs, ok_paths, skipped = predictor.predict_files(paths, cfg.train.batch_size)
    metrics = compute_metrics([labels[p] for p in ok_paths], probs, classes, ok_paths)
    metrics.skipped = skipped
    run.write_json("metrics.json", metrics.to_dict())
    emit(listener, Progress(1, 1, f"validation accuracy {metrics.accuracy:.3f}"))
    return metrics

