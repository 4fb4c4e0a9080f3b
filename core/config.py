"""The one typed configuration: data, model, augmentation, training, export.

The GUI edits a :class:`StudioConfig`, the CLI builds one from its flags (or
reads ``--config FILE.json``), a run folder records the resolved one in
``config.json`` and a project file stores it.  ``to_dict``/``from_dict`` round-trip
exactly through JSON; unknown keys and wrong types are rejected with the dotted
path of the offending field, so a broken file gets a message a person can act
on.  ``version`` lets later releases migrate old files (:data:`MIGRATIONS`).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from core.errors import ConfigError
from core.fsutil import atomic_write_text

CONFIG_VERSION = 1


@dataclass
class DataConfig:
    """Where the images are and how they are split."""

    data_dir: str = ""
    val_split: float = 0.2
    seed: int = 42
    # RAM for decoded, resized images so later epochs skip decoding (0 = off).
    cache_mb: int = 1024


@dataclass
class FreezeConfig:
    """Which backbone layers train in the fine-tuning phase.

    mode: ``none`` (backbone frozen), ``all``, ``top_n`` (the last ``top_n``
    layers), ``from_layer`` (``from_layer`` and everything after it) or
    ``custom`` (exactly the layers named in ``layers``).
    """

    mode: Literal["none", "all", "top_n", "from_layer", "custom"] = "top_n"
    top_n: int = 30
    from_layer: str = ""
    layers: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> "FreezeConfig":
        """Read the CLI form: ``none``, ``all``, a number N, or a layer name."""
        t = text.strip()
        if t.lower() in ("none", "all"):
            return cls(mode=t.lower())  # type: ignore[arg-type]
        if t.isdigit():
            return cls(mode="top_n", top_n=int(t))
        if not t:
            raise ConfigError("--unfreeze needs none, all, a number of layers or a layer name")
        return cls(mode="from_layer", from_layer=t)


@dataclass
class ModelConfig:
    """Backbone, weights, input size and the classification head."""

    backbone: str = "MobileNetV2"
    # "imagenet", "none", or a path to a .h5 / .weights.h5 file.
    weights: str = "imagenet"
    # Square input side in pixels; 0 means the backbone's default size.
    image_size: int = 0
    dropout: float = 0.2
    dense_units: int = 0  # 0: no hidden dense layer before the softmax
    freeze: FreezeConfig = field(default_factory=FreezeConfig)


@dataclass
class TransformConfig:
    """One augmentation step: an albumentations transform name, on/off, probability, params."""

    name: str
    enabled: bool = True
    p: float = 0.5
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class AugmentConfig:
    """Augmentation for training images (validation images are never augmented).

    ``preset`` names the starting point (none, light, medium, heavy, custom);
    ``transforms`` is what actually runs, so a user's edits are kept verbatim.
    """

    preset: str = "light"
    transforms: list[TransformConfig] = field(default_factory=list)
    seed: int = 0


@dataclass
class TrainConfig:
    """Optimisation: the two-phase schedule of the Keras transfer-learning guide."""

    epochs: int = 10  # head phase, backbone frozen
    fine_tune_epochs: int = 10  # second phase; 0 skips it
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-4
    label_smoothing: float = 0.1
    class_weights: Literal["auto", "none"] = "auto"
    lr_schedule: Literal["cosine", "plateau", "constant"] = "cosine"
    early_stopping_patience: int = 4  # 0 disables early stopping
    mixed_precision: Literal["auto", "on", "off"] = "auto"
    xla: Literal["auto", "on", "off"] = "auto"
    strategy: Literal["auto", "default", "one-device", "mirrored", "multi-worker"] = "auto"
    seed: int = 42
    # Head phase on cached backbone features: the frozen backbone runs once per
    # cached view instead of once per epoch (see core/training.py).
    fast_head: bool = True
    head_feature_views: int = 2  # augmented views cached when augmentation is on


@dataclass
class ExportConfig:
    """What ``export`` writes and how int8 calibration samples the training images."""

    formats: list[str] = field(default_factory=lambda: ["keras", "savedmodel", "tflite"])
    int8_calibration_images: int = 200
    parity_images: int = 32
    out_dir: str = ""


@dataclass
class StudioConfig:
    """Everything needed to reproduce a run."""

    version: int = CONFIG_VERSION
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> dict:
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "config") -> "StudioConfig":
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object at the top level")
        data = migrate(dict(data), source)
        return _from_jsonable(cls, data, source)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "config") -> "StudioConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno}); "
                              "fix the file or delete it to start from defaults") from None
        except RecursionError:  # "[[[[..." deeper than Python's stack
            raise ConfigError(f"{source}: not valid JSON (nested too deeply to be a config); "
                              "fix the file or delete it to start from defaults") from None
        return cls.from_dict(data, source)

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "StudioConfig":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read config file ({exc})") from None
        return cls.from_json(text, str(path))

    def validate(self) -> "StudioConfig":
        """Check value ranges the type system cannot; raise ConfigError naming the field."""
        checks = [
            ("data.val_split", 0.0 <= self.data.val_split < 1.0, "between 0 and 1 (e.g. 0.2)"),
            ("data.cache_mb", self.data.cache_mb >= 0, "0 or more"),
            ("model.image_size", self.model.image_size == 0 or 32 <= self.model.image_size <= 1024,
             "0 (backbone default) or between 32 and 1024"),
            ("model.dropout", 0.0 <= self.model.dropout < 1.0, "between 0 and 1"),
            ("model.dense_units", self.model.dense_units >= 0, "0 or more"),
            ("model.freeze.top_n", self.model.freeze.top_n >= 0, "0 or more"),
            ("train.epochs", self.train.epochs >= 0, "0 or more"),
            ("train.fine_tune_epochs", self.train.fine_tune_epochs >= 0, "0 or more"),
            ("train.batch_size", 1 <= self.train.batch_size <= 4096, "between 1 and 4096"),
            ("train.learning_rate", 0.0 < self.train.learning_rate < 10.0, "a small positive number"),
            ("train.fine_tune_learning_rate", 0.0 < self.train.fine_tune_learning_rate < 10.0,
             "a small positive number"),
            ("train.label_smoothing", 0.0 <= self.train.label_smoothing < 1.0, "between 0 and 1"),
            ("train.early_stopping_patience", self.train.early_stopping_patience >= 0, "0 or more"),
            ("train.head_feature_views", 1 <= self.train.head_feature_views <= 50,
             "between 1 and 50"),
            ("export.int8_calibration_images", self.export.int8_calibration_images >= 1, "1 or more"),
            ("export.parity_images", self.export.parity_images >= 1, "1 or more"),
        ]
        for name, ok, want in checks:
            if not ok:
                raise ConfigError(f"{name} must be {want}")
        for i, t in enumerate(self.augment.transforms):
            if not 0.0 <= t.p <= 1.0:
                raise ConfigError(f"augment.transforms[{i}] ({t.name}): p must be between 0 and 1")
        return self

    def copy(self) -> "StudioConfig":
        return StudioConfig.from_dict(self.to_dict())


# Each entry turns a dict of version N into version N+1.
MIGRATIONS: dict[int, typing.Callable[[dict], dict]] = {}


def file_version(data: dict, source: str, kind: str, current: int) -> int:
    """The ``version`` of a saved file, refused with a clear message when this app cannot read it.

    Shared by configs and project files: a file from a newer release says
    "update the app" instead of failing somewhere inside.
    """
    version = data.get("version", current)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"{source}: 'version' must be a whole number")
    if version > current:
        raise ConfigError(f"{source}: written by a newer Fine-Tune Studio ({kind} version "
                          f"{version}, this one reads up to {current}); update the app")
    if version < 1:
        raise ConfigError(f"{source}: {kind} version {version} is not supported")
    return version


def migrate(data: dict, source: str) -> dict:
    version = file_version(data, source, "config", CONFIG_VERSION)
    while version < CONFIG_VERSION:
        if version not in MIGRATIONS:
            raise ConfigError(f"{source}: config version {version} is not supported")
        data = MIGRATIONS[version](data)
        version += 1
        data["version"] = version
    return data


def _to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    return obj


_HINTS_CACHE: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS_CACHE:
        _HINTS_CACHE[cls] = typing.get_type_hints(cls)
    return _HINTS_CACHE[cls]


def _from_jsonable(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object, got {type(value).__name__}")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ConfigError(f"{where}: unknown setting {unknown[0]!r} "
                              f"(known: {', '.join(sorted(names))})")
        kwargs = {k: _from_jsonable(hints[k], v, f"{where}.{k}") for k, v in value.items()}
        try:
            return tp(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
        (item,) = get_args(tp) or (Any,)
        return [_from_jsonable(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object, got {type(value).__name__}")
        return dict(value)
    if origin is typing.Union:
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _from_jsonable(arg, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value")
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value


def default_config() -> StudioConfig:
    """The defaults a user who gives only a folder gets."""
    return StudioConfig()

