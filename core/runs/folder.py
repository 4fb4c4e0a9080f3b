"""The run folder: everything a training run produces, and enough to resume it.

Layout (every file written atomically, so a kill -9 leaves the previous
version of each file, never a torn one)::

    RUN_DIR/
      config.json        the resolved StudioConfig (seed included)
      split.json         which image went to train / validation (reproducible)
      labels.json        class names in output order
      run.json           status, device, times, dataset fingerprint, best epoch
      history.csv        one row per finished epoch (both phases)
      model.keras        the best model so far (raw RGB 0-255 in, probabilities out)
      metrics.json       validation accuracy, per-class P/R/F1, confusion matrix
      checkpoint/        weights + optimizer state + loop state after the last
                         finished epoch; ``train --resume`` continues from here
      logs/              TensorBoard event files
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any, Optional

from core.config import StudioConfig
from core.errors import UserError
from core.fsutil import atomic_write_text

HISTORY_FIELDS = ["phase", "epoch", "global_epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                  "learning_rate", "seconds"]


class RunFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # paths -------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def split_path(self) -> Path:
        return self.path / "split.json"

    @property
    def labels_path(self) -> Path:
        return self.path / "labels.json"

    @property
    def run_path(self) -> Path:
        return self.path / "run.json"

    @property
    def history_path(self) -> Path:
        return self.path / "history.csv"

    @property
    def model_path(self) -> Path:
        return self.path / "model.keras"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoint"

    @property
    def best_weights_path(self) -> Path:
        return self.path / "best.weights.npz"

    @property
    def logs_dir(self) -> Path:
        return self.path / "logs"

    # reading/writing ---------------------------------------------------
    def write_json(self, name: str, data: Any) -> None:
        atomic_write_text(self.path / name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def read_json(self, name: str) -> Any:
        p = self.path / name
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{p}: missing; is {self.path} a Fine-Tune Studio run folder?") from None
        except (OSError, ValueError) as exc:
            raise UserError(f"{p}: cannot be read ({exc})") from None

    def save_config(self, cfg: StudioConfig) -> None:
        cfg.save(self.config_path)

    def load_config(self) -> StudioConfig:
        return StudioConfig.load(self.config_path)

    def labels(self) -> list[str]:
        labels = self.read_json("labels.json")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise UserError(f"{self.labels_path}: expected a list of class names")
        return labels

    def update_run_info(self, **fields: Any) -> dict:
        info = self.run_info()
        info.update(fields)
        self.write_json("run.json", info)
        return info

    def run_info(self) -> dict:
        try:
            data = json.loads(self.run_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def history(self) -> list[dict]:
        """History rows as dicts (numbers as floats), in order."""
        if not self.history_path.exists():
            return []
        rows = []
        with open(self.history_path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                parsed: dict[str, Any] = {}
                for k, v in row.items():
                    if k == "phase":
                        parsed[k] = v
                    elif k in ("epoch", "global_epoch"):
                        parsed[k] = int(v)
                    else:
                        parsed[k] = float(v) if v not in ("", None) else None
                rows.append(parsed)
        return rows

    def write_history(self, rows: list[dict]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
        atomic_write_text(self.history_path, buf.getvalue())

    def is_run_folder(self) -> bool:
        return self.config_path.exists() and self.labels_path.exists()


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


def find_run_folder(path: str | Path) -> Optional[RunFolder]:
    """``path`` itself if it is a run folder, or the run folder holding ``path``."""
    p = Path(path)
    for candidate in (p, p.parent):
        rf = RunFolder(candidate)
        if candidate.is_dir() and rf.is_run_folder():
            return rf
    return None
