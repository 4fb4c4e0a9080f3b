"""The run folder: everything a training run produces, and enough to resume it.

Layout (every file written atomically, so a kill -9 leaves the previous
version of each file, never a torn one)::

    RUN_DIR/
      config.json        the resolved StudioConfig (seed included)
      split.json         which image went to train / validation (reproducible)
      labels.json        class names in output order
      run.json           status, device, times, dataset fingerprint, best epoch, the
                         settings as last written (a versioned :class:`~core.runs.records.RunInfo`)
      history.csv        one row per finished epoch (both phases)
      model.keras        the best model so far (raw RGB 0-255 in, probabilities out)
      metrics.json       validation accuracy, per-class P/R/F1, confusion matrix
      calibration.json   temperature, ECE before/after, unknown threshold (core.trust)
      unknown.npz        training embeddings the unknown score compares with
      best.weights.npz   the best epoch's weights (what model.keras is made from)
      checkpoint/        weights + optimizer state + loop state (state.json) after
                         the last finished epoch; ``train --resume`` continues from here
      logs/              TensorBoard event files
      .lock              while a process trains the run: its pid and host (core.runs.lock)

The names are spelled once, in :data:`FILES`; everything else asks
:class:`RunFolder` for paths.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from core.config import DAMAGED, FIX_THERE, StudioConfig
from core.config_migrations import as_run_trained
from core.errors import ConfigError, UserError
from core.typed_json import json_mistake, json_text, load_json_file
from core.fsutil import atomic_write_text
from core.path_names import cannot_reach
from core.runs.history_csv import history_text, read_history
from core.runs.records import RunInfo

@dataclass(frozen=True)
class RunFiles:
    """The name of everything a run folder holds: the one table of them.

    Code outside this module asks :class:`RunFolder` (or :class:`Checkpoint`)
    for a path and never spells a name, so a rename happens here only.
    """

    config: str = "config.json"
    split: str = "split.json"
    labels: str = "labels.json"
    run: str = "run.json"
    history: str = "history.csv"
    model: str = "model.keras"
    metrics: str = "metrics.json"
    calibration: str = "calibration.json"  # temperature, ECE, unknown threshold (core.trust)
    unknown: str = "unknown.npz"  # training embeddings for the unknown score (core.trust)
    best_weights: str = "best.weights.npz"
    phase_best: str = ".phase-best-{phase}.npz"  # hidden; deleted when the run completes
    checkpoint: str = "checkpoint"
    logs: str = "logs"
    lock: str = ".lock"  # held while a process trains the run (core.runs.lock)
    # inside checkpoint/
    checkpoint_weights: str = "weights.npz"
    checkpoint_optimizer: str = "optimizer.npz"
    checkpoint_state: str = "state.json"
    checkpoint_phase_best: str = "phase-best.npz"
    # Keras .weights.h5 files of versions before 2026-11-22, read when such a run resumes
    legacy_best_weights: str = "best.weights.h5"
    legacy_checkpoint_weights: str = "weights.weights.h5"
    legacy_checkpoint_phase_best: str = "phase-best.weights.h5"


FILES = RunFiles()


class Checkpoint:
    """The files of one checkpoint folder: ``RUN_DIR/checkpoint``, or the temporary
    folder a new checkpoint is written in before it replaces the old one."""

    #: Every name a checkpoint folder may hold (legacy Keras weights files included).
    NAMES = frozenset({FILES.checkpoint_weights, FILES.checkpoint_optimizer,
                       FILES.checkpoint_state, FILES.checkpoint_phase_best,
                       FILES.legacy_checkpoint_weights, FILES.legacy_checkpoint_phase_best})

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def weights(self) -> Path:
        return self.path / FILES.checkpoint_weights

    @property
    def optimizer(self) -> Path:
        return self.path / FILES.checkpoint_optimizer

    @property
    def state(self) -> Path:
        return self.path / FILES.checkpoint_state

    @property
    def phase_best(self) -> Path:
        return self.path / FILES.checkpoint_phase_best

    @property
    def legacy_phase_best(self) -> Path:
        return self.path / FILES.legacy_checkpoint_phase_best

    def weights_file(self) -> Optional[Path]:
        """The weights to resume from: ours, or an older version's Keras .weights.h5."""
        for path in (self.weights, self.path / FILES.legacy_checkpoint_weights):
            if path.exists():
                return path
        return None


class RunFolder:
    """One run folder: the paths of its files, and typed reads and writes of them."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # paths -------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / FILES.config

    @property
    def split_path(self) -> Path:
        return self.path / FILES.split

    @property
    def labels_path(self) -> Path:
        return self.path / FILES.labels

    @property
    def run_path(self) -> Path:
        return self.path / FILES.run

    @property
    def history_path(self) -> Path:
        return self.path / FILES.history

    @property
    def model_path(self) -> Path:
        return self.path / FILES.model

    @property
    def metrics_path(self) -> Path:
        return self.path / FILES.metrics

    @property
    def calibration_path(self) -> Path:
        return self.path / FILES.calibration

    @property
    def unknown_path(self) -> Path:
        return self.path / FILES.unknown

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / FILES.checkpoint

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.checkpoint_dir)

    @property
    def best_weights_path(self) -> Path:
        return self.path / FILES.best_weights

    @property
    def legacy_best_weights_path(self) -> Path:
        return self.path / FILES.legacy_best_weights

    @property
    def logs_dir(self) -> Path:
        return self.path / FILES.logs

    @property
    def lock_path(self) -> Path:
        return self.path / FILES.lock

    def phase_best_path(self, phase: str) -> Path:
        """The best weights of a training phase so far (early stopping goes back to them)."""
        return self.path / FILES.phase_best.format(phase=phase)

    # reading/writing ---------------------------------------------------
    def write_json(self, name: str, data: Any) -> None:
        # json_text: an image name that is not UTF-8 is kept as a JSON escape (it crashed)
        atomic_write_text(self.path / name, json_text(data) + "\n")

    def read_json(self, name: str) -> Any:
        p = self.path / name
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{p}: missing; is {self.path} a Fine-Tune Studio run folder?") from None
        except json.JSONDecodeError as exc:  # the parser's "(char 26)" told a user nothing
            raise UserError(f"{p}: damaged (not valid JSON {json_mistake(exc)}); fix it, or "
                            "put it back from a copy of the run") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"{p}: cannot be read ({exc})") from None

    def save_config(self, cfg: StudioConfig) -> None:  # run.json: a resume tells hand edits
        cfg.save(self.config_path)
        self.update_run_info(settings=cfg.to_dict())

    def load_config(self, as_trained: bool = True) -> StudioConfig:
        """The run's settings.  A damaged file is named; the config loader's advice to delete
        it (right for the app's own settings file) would leave the run unusable.
        ``as_trained``: settings its version did not have are what it did then
        (:func:`~core.config_migrations.as_run_trained`), not today's defaults; a new run
        made from these settings wants today's."""
        fix = "fix it, or put it back from a copy of the run"
        try:
            raw = load_json_file(self.config_path, "config", DAMAGED)
            cfg = StudioConfig.from_dict(raw, str(self.config_path))
            if as_trained:
                as_run_trained(cfg, raw)
            why = cfg.problem()  # a hand-edited NaN rate trained on NaN losses
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(DAMAGED, fix).replace(FIX_THERE, fix)) from None
        if why:
            raise ConfigError(f"{self.config_path}: {why}; {fix}")
        data = cfg.data.data_dir
        if data and not os.path.isabs(data):  # runs of earlier versions kept 'train data' as
            with contextlib.suppress(UserError):  # given: run.json has where it was
                recorded = self.run_info().data_dir
                if recorded and os.path.isabs(recorded):
                    cfg.data.data_dir = recorded
        return cfg

    def write_labels(self, classes: list[str]) -> None:
        self.write_json(FILES.labels, list(classes))

    def labels(self) -> list[str]:
        labels = self.read_json(FILES.labels)
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise UserError(f"{self.labels_path}: expected a list of class names")
        return labels

    def write_split(self, split) -> None:
        """Record which image went to training and which to validation (a ``Split``)."""
        self.write_json(FILES.split, split.to_dict())

    def split(self, data_dir: Optional[str] = None):
        """The run's ``Split``; relative paths are taken from ``data_dir``."""
        from core.data.dataset import Split
        from core.errors import DataError

        try:
            return Split.from_dict(self.read_json(FILES.split), data_dir)
        except DataError as exc:  # "saved split: missing seed" named no file
            raise DataError(f"{self.split_path}: {exc}; put it back from a copy of the run, or "
                            f"start a new run from it with 'train DATA --from-run {self.path}'"
                            ) from None

    def write_metrics(self, metrics: dict) -> None:
        self.write_json(FILES.metrics, metrics)

    def metrics(self) -> dict:
        """metrics.json as written by training (``Metrics.to_dict()``)."""
        return self.read_json(FILES.metrics)

    def run_info(self) -> RunInfo:
        """run.json as a :class:`RunInfo` (empty before the folder is written).

        A file this version cannot use (wrong types, a newer version's) is a
        :class:`UserError` naming the file and the field.
        """
        if not self.run_path.exists():
            return RunInfo()
        return RunInfo.read(self.run_path)

    def update_run_info(self, **fields: Any) -> RunInfo:
        """Change some fields of run.json (checked like a read) and write it atomically."""
        info = RunInfo.from_dict({**self.run_info().to_dict(), **fields}, self.run_path)
        atomic_write_text(self.run_path, info.to_json())
        return info

    def history(self) -> list[dict]:
        """History rows as dicts (numbers as floats), in order; see :func:`read_history`."""
        return read_history(self.history_path)

    def write_history(self, rows: list[dict]) -> None:
        atomic_write_text(self.history_path, history_text(rows))

    def is_run_folder(self) -> bool:
        """What makes a folder a run: its config and its class names.  os.path, not Path:
        inside a folder the user cannot read, Path.exists raises PermissionError (Python
        3.11), which broke every page that looked at such a run."""
        return os.path.exists(self.config_path) and os.path.exists(self.labels_path)

    def unreadable(self) -> str:
        """Why the folder cannot be looked at or into ("" if it can): :func:`cannot_reach`."""
        return cannot_reach(self.path)

    def require_run_folder(self, consequence: str = "") -> None:
        """Raise a :class:`UserError` saying what is missing unless this is a run folder."""
        if why := self.unreadable():
            raise UserError(f"{self.path}: this folder cannot be read ({why}); make it "
                            "readable, or give another run folder")
        if self.path.is_file():
            raise UserError(f"{self.path} is a file; give the run folder (the folder that "
                            "holds it, with config.json and labels.json)")
        if not self.path.is_dir():
            raise UserError(f"{self.path}: no such run folder")
        missing = [p.name for p in (self.config_path, self.labels_path)
                   if not os.path.exists(p)]
        if missing and self.run_path.exists():  # a run's file lost: not "not a run folder"
            raise UserError(f"{self.path}: a run folder without its {' and '.join(missing)}; "
                            "put it back from a copy of the run"
                            + (f" ({consequence})" if consequence else ""))
        if missing:  # an image folder given for a run folder (arguments swapped, say)
            from core.data.folder_walk import looks_like_image_folder

            images = " (it looks like an image folder; give the folder 'train' wrote)" if len(
                missing) == 2 and looks_like_image_folder(self.path) else ""
            raise UserError(f"{self.path}: not a run folder (no {' and no '.join(missing)})"
                            + images + (f"; {consequence}" if consequence else ""))

    # what the folder holds -------------------------------------------
    def own_names(self) -> set[str]:
        """The top-level names a run writes (the FILES table), temp files aside."""
        return {v for v in vars(FILES).values() if v not in Checkpoint.NAMES and "{" not in v} | {
            FILES.phase_best.format(phase=p) for p in ("head", "fine_tune")}

    def failed_start(self) -> bool:
        """True when the folder holds only what a start that never finished an epoch wrote.

        That is config/split/labels/run.json (status created or failed, or no run.json
        yet), perhaps an empty first TensorBoard log, and no checkpoint, history or
        weights: nothing to resume and nothing to lose, so ``train --out`` may reuse it.
        """
        if not self.path.is_dir() or self.path.is_symlink():
            return False
        allowed = {FILES.config, FILES.split, FILES.labels, FILES.run, FILES.logs, FILES.lock}
        names = [e.name for e in self.path.iterdir()
                 if not (e.name.startswith(".") and ".tmp" in e.name)]
        if not names or not set(names) <= allowed or not self.config_path.exists():
            return False
        if self.run_path.exists():
            try:
                status = self.run_info().status
            except UserError:
                return False
            return status in (None, "created", "failed")
        return True

    def clear_failed_start(self) -> None:
        """Delete what a failed start wrote (see :meth:`failed_start`) so the folder is reused."""
        import shutil

        for name in (FILES.config, FILES.split, FILES.labels, FILES.run):
            (self.path / name).unlink(missing_ok=True)
        if self.logs_dir.is_dir() and not self.logs_dir.is_symlink():
            shutil.rmtree(self.logs_dir)


def default_run_dir(base: str | Path, backbone: str) -> Path:
    """A new, unique folder name like ``runs/20261122-081500-MobileNetV2``."""
    base = Path(base)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = base / f"{stamp}-{backbone}"
    n = 2
    while path.exists():
        path = base / f"{stamp}-{backbone}-{n}"
        n += 1
    return path


def run_of_model(path: str | Path) -> Optional[RunFolder]:
    """The run folder a MODEL argument means: ``path`` itself, or the run whose model.keras it is.

    None for anything else (an exported model, also one saved inside a run folder), so
    what needs a run (its stored features, its calibration, retraining) is only used
    when the model really is that run's.
    """
    p = Path(path)
    if os.path.isdir(p):
        return RunFolder(p) if RunFolder(p).is_run_folder() else None
    run = RunFolder(p.parent)
    if os.path.isfile(p) and p.name == run.model_path.name and run.is_run_folder():
        return run
    return None


def find_run_folder(path: str | Path) -> Optional[RunFolder]:
    """``path`` itself if it is a run folder, or the run folder holding ``path``."""
    p = Path(path)
    for candidate in (p, p.parent):
        if os.path.isdir(candidate) and (rf := RunFolder(candidate)).is_run_folder():
            return rf
    return None
